package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/klog/v2"
)

// usageError is a wrong invocation: exit code 2.
type usageError struct {
	command string
	err     error
}

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// usagef builds a usageError for cmd.
func usagef(cmd *cobra.Command, format string, args ...interface{}) error {
	return usageError{command: cmd.CommandPath(), err: fmt.Errorf(format, args...)}
}

// rootOptions are shared by every verb.
type rootOptions struct {
	streams genericiooptions.IOStreams
	// configFlags are kubectl's kubeconfig flags (--kubeconfig, --context,
	// -n, ...), for the verbs that talk to a cluster.
	configFlags *genericclioptions.ConfigFlags
	// verbosity is klog's -v; at 0 the scheduler's logs are dropped.
	verbosity int
}

func newRootCommand(streams genericiooptions.IOStreams) *cobra.Command {
	o := &rootOptions{streams: streams, configFlags: genericclioptions.NewConfigFlags(true)}
	cmd := &cobra.Command{
		Use:   "kubectl-mlsched",
		Short: "ml-scheduler's kubectl plugin",
		Long: `ml-scheduler's kubectl plugin (kubectl mlsched <verb>).

  policy check  validate a policy file, and judge it against the live cluster or a snapshot
  explain pod   why a pod went where it went, or why it is pending, in policy terms
  simulate      replay a workload, or a live cluster's pending pods under a new policy,
                through the real scheduler in-process and report placement quality
  status        the policy in force per scheduler replica, the leader, pods pending by rule`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRun: func(cmd *cobra.Command, _ []string) {
			o.setUpLogging()
		},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef(cmd, "unknown command %q", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	if strings.HasPrefix(cmd.Root().Name(), "kubectl-") {
		// As a kubectl plugin, show the name users type.
		cmd.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl mlsched"}
	}
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return usageError{command: c.CommandPath(), err: err}
	})
	flags := cmd.PersistentFlags()
	o.configFlags.AddFlags(flags)
	flags.IntVarP(&o.verbosity, "v", "v", 0, "log verbosity of the scheduler and client (klog -v); 0 drops their logs")

	cmd.AddCommand(newPolicyCommand(o), newExplainCommand(o), newSimulateCommand(o), newStatusCommand(o))
	return cmd
}

// setUpLogging configures klog, which kube-scheduler and client-go log to.
func (o *rootOptions) setUpLogging() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("v", fmt.Sprint(o.verbosity))
	if o.verbosity <= 0 {
		_ = fs.Set("logtostderr", "false")
		_ = fs.Set("alsologtostderr", "false")
		_ = fs.Set("stderrthreshold", "FATAL")
		klog.SetOutput(io.Discard)
		return
	}
	klog.SetOutput(o.streams.ErrOut)
}

// noArgs refuses positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef(cmd, "unexpected argument %q: %s takes flags only", args[0], cmd.CommandPath())
	}
	return nil
}
