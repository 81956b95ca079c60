package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/manifests"
	"github.com/ml-scheduler/ml-scheduler/pkg/explain"
	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
)

func newExplainCommand(root *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "explain",
		Short: "Why a pod went where it went, or why it is pending, in policy terms",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usagef(cmd, "unknown resource %q: %s takes pod", args[0], cmd.CommandPath())
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newExplainPodCommand(root))
	return cmd
}

type explainPodOptions struct {
	*rootOptions
	top    int
	output string
	config string
	policy string
	gates  string
}

// shippedGates are the feature gates manifests/base/deployment.yaml runs
// ml-scheduler with: with them on, config defaulting adds the gang plugins.
const shippedGates = "GenericWorkload=true,TopologyAwareWorkloadScheduling=true"

const explainPodExample = `  # Why did train-0 land where it is (rule, policy hash, top candidates and their scores)?
  kubectl mlsched explain pod train-0 -n research

  # Why is big-job pending (refusals per reason, the nearest node and what it lacks)?
  kubectl mlsched explain pod big-job -n research -o yaml

  # The same pod under a policy not applied yet
  kubectl mlsched explain pod big-job -n research --policy new-policy.yaml`

func newExplainPodCommand(root *rootOptions) *cobra.Command {
	o := &explainPodOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "pod NAME",
		Short: "Explain one pod's placement, or why it is pending",
		Long: `Explain one pod in policy terms.

For a placed pod: the rule and policy hash that placed it (its annotations
ml-scheduler.io/rule and ml-scheduler.io/policy-hash), whether that policy is
still in force, and the top candidate nodes with the score of every score
plugin (weighted as in the profile) and MLPolicy's parts (packing,
preference, colocation).

For a pending pod: the scheduler's PodScheduled message, the rule it matches,
the nodes refused per reason (the placement policy's reasons in its own
words), and the nearest node the policy admits with what it lacks.

Both come from what the scheduler recorded on the pod and from a re-run of
that one pod's scheduling cycle: the scheduler is built in-process from
--config exactly as ml-scheduler builds it, on a snapshot of the live cluster
without the pod, and every node is filtered and every feasible one scored.
Nothing in the cluster is changed.`,
		Example: explainPodExample,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usagef(cmd, "want exactly one pod name, got %d argument(s)", len(args))
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.validate(cmd); err != nil {
				return err
			}
			return o.run(cmd.Context(), args[0])
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.top, "top", explain.DefaultTop, "how many candidate nodes to list")
	f.StringVarP(&o.output, "output", "o", "text", "output format: text, json or yaml")
	f.StringVar(&o.config, "config", "", "KubeSchedulerConfiguration the scheduler runs with (default: "+manifests.SchedulerConfigSource+")")
	f.StringVar(&o.policy, "policy", "", "placement policy file to re-run with instead of the policy ConfigMap's")
	f.StringVar(&o.gates, "feature-gates", shippedGates, "kube-scheduler feature gates (key=true|false,...) the scheduler runs with (default: those of manifests/base/deployment.yaml)")
	return cmd
}

func (o *explainPodOptions) validate(cmd *cobra.Command) error {
	if o.top <= 0 {
		return usagef(cmd, "--top: %d must be positive", o.top)
	}
	switch o.output {
	case "text", "json", "yaml":
	default:
		return usagef(cmd, "--output: %q is not one of text, json, yaml", o.output)
	}
	return nil
}

func (o *explainPodOptions) run(ctx context.Context, name string) error {
	if ctx == nil {
		ctx = context.Background()
	}
	// Before the configuration is defaulted: the gates add plugins.
	if err := utilfeature.DefaultMutableFeatureGate.Set(o.gates); err != nil {
		return fmt.Errorf("--feature-gates: %w", err)
	}
	cfg, err := explain.LoadConfig(o.config)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	in := explain.Input{Config: cfg, Top: o.top}
	if o.policy != "" {
		if in.Policy, err = os.ReadFile(o.policy); err != nil {
			return fmt.Errorf("--policy: %w", err)
		}
		in.PolicySource = "file " + o.policy
	}
	rest, err := o.configFlags.ToRESTConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(rest)
	if err != nil {
		return err
	}
	ns, _, err := o.configFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	pod, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("pod %q not found in namespace %q", name, ns)
	}
	if err != nil {
		return fmt.Errorf("getting pod %s/%s: %w", ns, name, err)
	}
	in.Pod = pod
	prof, err := cfg.Profile(pod.Spec.SchedulerName)
	if err != nil {
		return err
	}
	lo := livecluster.Options{}
	if args, err := cfg.MLPolicyArgs(prof); err != nil {
		return err
	} else if args != nil {
		lo = livecluster.Options{PolicyNamespace: args.PolicyConfigMapNamespace, PolicyName: args.PolicyConfigMapName, PolicyKey: args.PolicyConfigMapKey}
	}
	if in.Cluster, err = livecluster.Read(ctx, client, lo); err != nil {
		return err
	}
	e, err := explain.Explain(ctx, in)
	if err != nil {
		return err
	}
	if done, err := writeStructured(o.streams.Out, o.output, e); done {
		return err
	}
	return explain.WriteText(o.streams.Out, e)
}
