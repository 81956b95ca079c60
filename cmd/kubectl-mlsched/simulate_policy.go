package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/manifests"
	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policydiff"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// policyChangeOptions are simulate's policy-change mode (--policy).
type policyChangeOptions struct {
	newPolicy, oldPolicy string
	fromCluster          bool
	topologyKey          string
}

const simulatePolicyExample = `
  # What the edited policy would do to the live cluster, before applying it
  kubectl mlsched simulate --policy new-policy.yaml --from-cluster

  # The same on a snapshot, against the policy file in force, as JSON
  kubectl mlsched simulate --policy new.yaml --snapshot snapshot.yaml --old-policy old.yaml -o json`

func addPolicyChangeFlags(f *pflag.FlagSet, o *policyChangeOptions) {
	f.StringVar(&o.newPolicy, "policy", "", "policy-change mode: judge this placement policy file against --from-cluster or --snapshot, old policy against new")
	f.BoolVar(&o.fromCluster, "from-cluster", false, "with --policy: read nodes, pods and the policy ConfigMap from the cluster (kubeconfig flags)")
	f.StringVar(&o.oldPolicy, "old-policy", "", "with --policy: the policy in force (default: the cluster's policy ConfigMap; required with --snapshot)")
	f.StringVar(&o.topologyKey, "topology-key", "", "with --policy: node label whose values are counted as domains (empty, partly used, full) in the metrics")
}

// policyMode says whether simulate runs in policy-change mode.
func (o *simulateOptions) policyMode() bool { return o.policyChange.newPolicy != "" }

func (o *simulateOptions) validatePolicyMode(cmd *cobra.Command) error {
	pc := &o.policyChange
	switch {
	case pc.fromCluster == (o.snapshot != ""):
		return usagef(cmd, "--policy: give exactly one of --from-cluster or --snapshot")
	case o.nodes != "" || o.pods != "":
		return usagef(cmd, "--nodes/--pods: not used with --policy (give --from-cluster or --snapshot)")
	case o.snapshot != "" && pc.oldPolicy == "":
		return usagef(cmd, "--old-policy: required with --snapshot (a snapshot holds no policy ConfigMap)")
	case len(o.configs) > 1:
		return usagef(cmd, "--config: give one scheduler configuration file with --policy, not %d", len(o.configs))
	case o.plot != "" || o.jsonFile != "" || o.perPod:
		return usagef(cmd, "--plot/--json/--per-pod: not used with --policy (use -o json)")
	case o.limit < 0:
		return usagef(cmd, "--limit: %d is negative", o.limit)
	case o.podTimeout <= 0:
		return usagef(cmd, "--pod-timeout: %s must be positive", o.podTimeout)
	}
	switch o.output {
	case "table", "text", "json", "yaml":
	default:
		return usagef(cmd, "--output: %q is not one of text, json, yaml (with --policy)", o.output)
	}
	return nil
}

func (o *simulateOptions) runPolicyChange(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	pc := &o.policyChange
	in := policydiff.Input{}
	var err error
	if in.New.Text, err = os.ReadFile(pc.newPolicy); err != nil {
		return fmt.Errorf("--policy: %w", err)
	}
	in.New.Source = pc.newPolicy
	// Fail before reading the cluster: the new policy is the one being edited.
	if _, err := policy.Load(in.New.Text); err != nil {
		return fmt.Errorf("new policy (%s): %w", in.New.Source, err)
	}
	in.SchedulerConfig = manifests.SchedulerConfig
	if len(o.configs) == 1 {
		if in.SchedulerConfig, err = os.ReadFile(o.configs[0]); err != nil {
			return fmt.Errorf("--config: %w", err)
		}
	}
	if pc.oldPolicy != "" {
		if in.Old.Text, err = os.ReadFile(pc.oldPolicy); err != nil {
			return fmt.Errorf("--old-policy: %w", err)
		}
		in.Old.Source = pc.oldPolicy
	}

	if pc.fromCluster {
		client, err := kubeClientOf(o.rootOptions)
		if err != nil {
			return err
		}
		s, err := livecluster.Read(ctx, client, livecluster.Options{})
		if err != nil {
			return err
		}
		in.Name, in.Nodes, in.Running, in.Pending = "cluster", s.Nodes, s.Running, s.Pending
		in.DeviceClasses, in.ResourceSlices, in.ResourceClaims = s.DeviceClasses, s.ResourceSlices, s.ResourceClaims
		if pc.oldPolicy == "" {
			if !s.PolicyFound {
				return fmt.Errorf("--old-policy: the cluster has no policy at %s key %s: give the policy in force with --old-policy", s.PolicyRef, s.PolicyKey)
			}
			in.Old = policydiff.Policy{Source: "ConfigMap " + s.PolicyRef, Text: s.Policy}
		}
	} else {
		s, err := trace.LoadSnapshot(o.snapshot)
		if err != nil {
			return fmt.Errorf("--snapshot: %w", err)
		}
		in.Name, in.Nodes, in.Running, in.Pending = baseName(o.snapshot), s.Nodes, s.Running, s.Pending
	}
	if o.limit > 0 && o.limit < len(in.Pending) {
		in.Pending = in.Pending[:o.limit]
	}

	opts := simulator.Options{PodTimeout: o.podTimeout, GPUResource: v1.ResourceName(o.gpuResource),
		GPUModelLabel: o.gpuModelLabel, TopologyKey: pc.topologyKey}
	if o.progress && isTerminal(o.streams.ErrOut) {
		opts.Progress = simulator.NewProgressBar(o.streams.ErrOut)
	}
	fmt.Fprintf(o.streams.ErrOut, "Judging policy %s against %s on %s: %d nodes, %d running pods, %d pending pods\n",
		in.New.Source, in.Old.Source, in.Name, len(in.Nodes), len(in.Running), len(in.Pending))
	r, err := policydiff.Run(ctx, in, opts)
	if err != nil {
		return err
	}
	if done, err := writeStructured(o.streams.Out, o.output, r); done {
		return err
	}
	return policydiff.WriteText(o.streams.Out, r)
}
