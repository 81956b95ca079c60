package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/pkg/schedstatus"
)

type statusOptions struct {
	*rootOptions
	output string
	schedstatus.Options
}

const statusExample = `  # The policy each replica has in force, the leader, pods pending by rule
  kubectl mlsched status

  # The same as JSON, for a dashboard or a CI gate
  kubectl mlsched status -o json`

func newStatusCommand(root *rootOptions) *cobra.Command {
	o := &statusOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "The policy in force per scheduler replica, the leader, pods pending by rule",
		Long: `Show ml-scheduler's status from the apiserver.

Replicas: each ml-scheduler replica keeps a Lease ml-scheduler-policy-<identity>
(label ml-scheduler.io/policy-status) in the scheduler's namespace, written when
it applies or rejects a policy and renewed every 30s: the policy hash and
generation it has in force, where it came from and the last rejection. A replica
whose Lease was not renewed for 90s is shown as stale (stopped, or cut off).

Leader: the holder of the leader-election Lease (ml-scheduler/ml-scheduler).

Pending by rule: the unbound pods of the scheduler's schedulerName whose
PodScheduled=False message names a rule ("pod matched rule R of policy H ..."),
counted by rule and policy hash; a hash other than the one in force means the
pods were last tried under an earlier policy.`,
		Example: statusExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch o.output {
			case "text", "json", "yaml":
			default:
				return usagef(cmd, "--output: %q is not one of text, json, yaml", o.output)
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or yaml")
	f.StringVar(&o.Namespace, "scheduler-namespace", "ml-scheduler", "namespace of the scheduler's Leases and policy ConfigMap")
	f.StringVar(&o.LeaseName, "leader-lease", "ml-scheduler", "name of the leader-election Lease")
	f.StringVar(&o.PolicyName, "policy-configmap", "ml-scheduler-policy", "name of the policy ConfigMap")
	f.StringVar(&o.SchedulerName, "scheduler-name", "ml-scheduler", "spec.schedulerName of the pods counted as pending")
	return cmd
}

func (o *statusOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	client, err := kubeClientOf(o.rootOptions)
	if err != nil {
		return err
	}
	now := time.Now()
	r, err := schedstatus.Gather(ctx, client, o.Options, now)
	if err != nil {
		return err
	}
	if done, err := writeStructured(o.streams.Out, o.output, r); done {
		return err
	}
	return writeStatus(o.streams.Out, r, now)
}

// kubeClientOf builds a clientset from kubectl's kubeconfig flags.
func kubeClientOf(o *rootOptions) (kubernetes.Interface, error) {
	config, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(config)
}

// writeStatus prints the report as text.
func writeStatus(out io.Writer, r *schedstatus.Report, now time.Time) error {
	ago := func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return duration.HumanDuration(now.Sub(t)) + " ago"
	}
	dash := func(s string) string {
		if s == "" {
			return "-"
		}
		return s
	}
	switch {
	case !r.PolicyConfigMapFound:
		fmt.Fprintf(out, "Policy ConfigMap %s: not found\n", r.PolicyConfigMap)
	default:
		fmt.Fprintf(out, "Policy ConfigMap %s: policy in force %s", r.PolicyConfigMap, dash(r.ActiveHash))
		if r.LastError != "" {
			fmt.Fprintf(out, ", last change rejected: %s", firstLine(r.LastError))
		}
		fmt.Fprintln(out)
	}
	switch {
	case !r.Leader.Found:
		fmt.Fprintf(out, "Leader: none (no Lease %s: leader election off, or no replica started)\n", r.Leader.Lease)
	case r.Leader.Expired:
		fmt.Fprintf(out, "Leader: none (Lease %s held by %s expired, renewed %s)\n", r.Leader.Lease, dash(r.Leader.Identity), ago(r.Leader.Renewed))
	default:
		fmt.Fprintf(out, "Leader: %s (Lease %s, renewed %s)\n", r.Leader.Identity, r.Leader.Lease, ago(r.Leader.Renewed))
	}

	fmt.Fprintln(out)
	if len(r.Replicas) == 0 {
		fmt.Fprintln(out, "Replicas: none has published its policy status")
	} else {
		w := printers.GetNewTabWriter(out)
		fmt.Fprintln(w, "REPLICA\tLEADER\tPOLICY HASH\tGENERATION\tSOURCE\tCHANGED\tRENEWED\tLAST ERROR")
		for _, s := range r.Replicas {
			leader, renewed := "", ago(s.Renewed)
			if s.Leader {
				leader = "yes"
			}
			if s.Stale {
				renewed += " (stale)"
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\n", s.Identity, dash(leader), dash(s.Hash), s.Generation,
				dash(s.Source), ago(s.Changed), renewed, dash(firstLine(s.LastError)))
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}

	fmt.Fprintln(out)
	total := 0
	for _, g := range r.Pending {
		total += g.Pods
	}
	fmt.Fprintf(out, "Pods of %s pending for policy reasons: %d (other unbound pods: %d)\n", r.SchedulerName, total, r.PendingOther)
	if len(r.Pending) == 0 {
		return nil
	}
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "RULE\tPOLICY HASH\tPODS\tOLDEST")
	for _, g := range r.Pending {
		hash := g.Hash
		if hash != "" && r.ActiveHash != "" && hash != r.ActiveHash {
			hash += " (not in force)"
		}
		examples := strings.Join(g.Examples, ", ")
		if g.Pods > len(g.Examples) {
			examples += ", …"
		}
		fmt.Fprintf(w, "%s\t%s\t%d\t%s\n", g.Rule, dash(hash), g.Pods, examples)
	}
	return w.Flush()
}

// firstLine keeps a multi-line error to its first line, cut at 120 characters.
func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 120 {
		s = s[:117] + "..."
	}
	return s
}
