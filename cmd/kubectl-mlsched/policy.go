package main

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policycheck"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// exitPolicyFailed is the exit code of `policy check` when the policy has
// errors (or, with --strict, warnings): distinct from 1 (the check could not
// run) and 2 (usage), so a CI pipeline can tell a bad policy from a broken job.
const exitPolicyFailed = 3

// checkFailed is returned by `policy check` when the policy fails it; main
// exits with its ExitCode.
type checkFailed struct {
	errors, warnings int
	strict           bool
}

func (e checkFailed) Error() string {
	if e.errors == 0 {
		return fmt.Sprintf("policy check failed: %s (--strict)", nOf(e.warnings, "warning"))
	}
	return fmt.Sprintf("policy check failed: %s", nOf(e.errors, "error"))
}

func (e checkFailed) ExitCode() int { return exitPolicyFailed }

func newPolicyCommand(root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Check placement policies",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef(cmd, "unknown command %q for %s", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newPolicyCheckCommand(root))
	return cmd
}

type policyCheckOptions struct {
	*rootOptions
	file, snapshot string
	live, strict   bool
	output         string
	schedulerName  string
}

const policyCheckExample = `  # Validate a policy as the scheduler does, and look for shadowed rules
  kubectl mlsched policy check -f policy.yaml

  # ... and judge it against the live cluster's nodes, pods and namespaces
  kubectl mlsched policy check -f policy.yaml --live

  # ... or against a snapshot; fail on warnings too, JSON for a CI job
  kubectl get nodes,pods -A -o yaml > snapshot.yaml
  kubectl mlsched policy check -f policy.yaml --snapshot snapshot.yaml --strict -o json`

func newPolicyCheckCommand(root *rootOptions) *cobra.Command {
	o := &policyCheckOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "check -f POLICY.yaml [--live | --snapshot SNAPSHOT.yaml]",
		Short: "Validate a placement policy and judge it against the cluster",
		Long: `Validate a placement policy and judge it against the cluster.

First the policy goes through the scheduler's own loading code (decode, defaults,
validation, compilation): every error the scheduler would reject it for is
reported with its field path. A policy the scheduler accepts is then checked for
rules no pod can reach because an earlier rule matches every pod they match.

With --live (the cluster of the kubeconfig) or --snapshot (a file as
'kubectl get nodes,pods -A -o yaml' prints it), it is also judged against the
nodes, the pending pods of --scheduler-name and the namespaces: pools and
selectors choosing no node, pools sharing nodes where ownership then conflicts,
GPU models no node has, owner namespaces that do not exist, rules confining
pending pods to nodes with fewer GPUs than they ask. A snapshot has no Namespace
objects: the namespaces are then those its pods are in.

Each finding is an ERROR or a WARNING with its field path. Exit code: 0 when
there is no error (warnings allowed), 3 when there is one (or, with --strict, a
warning), 1 when the check could not run, 2 on wrong usage.`,
		Example: policyCheckExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "filename", "f", "", "the policy file to check (- reads standard input)")
	f.BoolVar(&o.live, "live", false, "judge the policy against the live cluster of the kubeconfig")
	f.StringVar(&o.snapshot, "snapshot", "", "judge the policy against the nodes and pods of this file ('kubectl get nodes,pods -A -o yaml')")
	f.BoolVar(&o.strict, "strict", false, "fail (exit 3) on warnings too")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or yaml")
	f.StringVar(&o.schedulerName, "scheduler-name", "ml-scheduler", "judge the pending pods of this spec.schedulerName (\"\": every pending pod)")
	return cmd
}

func (o *policyCheckOptions) validate(cmd *cobra.Command) error {
	switch {
	case o.file == "":
		return usagef(cmd, "--filename (-f): required: the policy file to check")
	case o.live && o.snapshot != "":
		return usagef(cmd, "--snapshot: give either --live or --snapshot, not both")
	}
	switch o.output {
	case "text", "json", "yaml":
	default:
		return usagef(cmd, "--output: %q is not one of text, json, yaml", o.output)
	}
	return nil
}

func (o *policyCheckOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	data, err := o.readPolicy()
	if err != nil {
		return err
	}
	cluster, about, err := o.cluster(ctx)
	if err != nil {
		return err
	}
	rep := policycheck.NewReport(o.file, about, policycheck.Check(data, cluster))
	if err := o.print(rep); err != nil {
		return err
	}
	if rep.Errors > 0 || o.strict && rep.Warnings > 0 {
		return checkFailed{errors: rep.Errors, warnings: rep.Warnings, strict: o.strict}
	}
	return nil
}

func (o *policyCheckOptions) readPolicy() ([]byte, error) {
	var r io.Reader = o.streams.In
	if o.file != "-" {
		f, err := os.Open(o.file)
		if err != nil {
			return nil, fmt.Errorf("--filename: %w", err)
		}
		defer f.Close()
		r = f
	}
	// One byte over the limit lets policy.Decode say the file is too large.
	data, err := io.ReadAll(io.LimitReader(r, policy.MaxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("--filename: reading %s: %w", o.file, err)
	}
	return data, nil
}

// cluster reads what the cluster checks judge against, and describes it;
// nil without --live or --snapshot.
func (o *policyCheckOptions) cluster(ctx context.Context) (*policycheck.Cluster, string, error) {
	switch {
	case o.snapshot != "":
		s, err := trace.LoadSnapshot(o.snapshot)
		if err != nil {
			return nil, "", fmt.Errorf("--snapshot: %w", err)
		}
		cl := &policycheck.Cluster{Nodes: s.Nodes, Pending: s.Pending, SchedulerName: o.schedulerName,
			Namespaces: podNamespaces(s), NamespacesFromPods: true}
		return cl, fmt.Sprintf("snapshot %s: %s (namespaces: the %d its pods are in)",
			o.snapshot, o.counts(cl), len(cl.Namespaces)), nil
	case o.live:
		config, err := o.configFlags.ToRESTConfig()
		if err != nil {
			return nil, "", fmt.Errorf("--live: kubeconfig: %w", err)
		}
		client, err := kubernetes.NewForConfig(config)
		if err != nil {
			return nil, "", fmt.Errorf("--live: %w", err)
		}
		s, err := livecluster.Read(ctx, client, livecluster.Options{})
		if err != nil {
			return nil, "", fmt.Errorf("--live: %w", err)
		}
		cl := &policycheck.Cluster{Nodes: s.Nodes, Pending: s.Pending, SchedulerName: o.schedulerName, Namespaces: s.Namespaces,
			ResourceSlices: s.ResourceSlices, ResourceClaims: s.ResourceClaims}
		return cl, fmt.Sprintf("live cluster %s: %s, %s", o.clusterName(config.Host), o.counts(cl),
			nOf(len(cl.Namespaces), "namespace")), nil
	}
	return nil, "none: static checks only (--live or --snapshot FILE judges the policy against a cluster)", nil
}

// clusterName is the kubeconfig context in use, or the server's address.
func (o *policyCheckOptions) clusterName(host string) string {
	if c := o.configFlags.Context; c != nil && *c != "" {
		return "(context " + *c + ")"
	}
	if raw, err := o.configFlags.ToRawKubeConfigLoader().RawConfig(); err == nil && raw.CurrentContext != "" {
		return "(context " + raw.CurrentContext + ")"
	}
	return host
}

// counts describes the nodes and the pending pods judged.
func (o *policyCheckOptions) counts(cl *policycheck.Cluster) string {
	pending := 0
	for _, p := range cl.Pending {
		if o.schedulerName == "" || p.Spec.SchedulerName == o.schedulerName {
			pending++
		}
	}
	of := ""
	if o.schedulerName != "" {
		of = " of " + o.schedulerName
	}
	return fmt.Sprintf("%s, %s%s", nOf(len(cl.Nodes), "node"), nOf(pending, "pending pod"), of)
}

func podNamespaces(s *trace.Snapshot) []string {
	seen := map[string]bool{}
	var out []string
	for _, pods := range [][]*v1.Pod{s.Running, s.Pending} {
		for _, p := range pods {
			if !seen[p.Namespace] {
				seen[p.Namespace] = true
				out = append(out, p.Namespace)
			}
		}
	}
	return out
}

func (o *policyCheckOptions) print(rep policycheck.Report) error {
	out := o.streams.Out
	if done, err := writeStructured(out, o.output, rep); done {
		return err
	}
	for _, f := range rep.Findings {
		fmt.Fprintln(out, f.String())
	}
	verdict := "accepted by the scheduler's validation"
	if !rep.Accepted {
		verdict = "REJECTED by the scheduler's validation"
	}
	hash := ""
	if rep.Hash != "" {
		hash = " (hash " + rep.Hash + ")"
	}
	_, err := fmt.Fprintf(out, "policy %s%s: %s; %s, %s\ncluster: %s\n", rep.Source, hash, verdict,
		nOf(rep.Errors, "error"), nOf(rep.Warnings, "warning"), rep.Cluster)
	return err
}

// nOf returns "1 error" or "3 errors".
func nOf(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}
