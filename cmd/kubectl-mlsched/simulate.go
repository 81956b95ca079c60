package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"
	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/manifests"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

type simulateOptions struct {
	*rootOptions
	nodes, pods, snapshot string
	configs               []string
	output                string
	plot, jsonFile        string
	title                 string
	limit                 int
	perPod                bool
	progress              bool
	podTimeout            time.Duration
	gpuResource           string
	gpuModelLabel         string
	gpuSharing            string
	// policyChange is the --policy mode (simulate_policy.go).
	policyChange policyChangeOptions
}

const simulateExample = `  # The Alibaba GPU trace through the stock scheduler and ml-scheduler as shipped
  kubectl mlsched simulate \
    --nodes bench/workloads/traces/alibaba-gpu-v2023/openb_node_list_all_node.csv \
    --pods bench/workloads/traces/alibaba-gpu-v2023/openb_pod_list_default.csv \
    --config "stock default=bench/placement/stock-default.yaml" \
    --config "ml-scheduler=manifests/base/scheduler-config.yaml:manifests/base/policy.yaml" \
    --plot curves.svg

  # The same with GPU-sharing pods asking their fraction of a GPU through DRA
  kubectl mlsched simulate --gpu-sharing=dra \
    --nodes bench/workloads/traces/alibaba-gpu-v2023/openb_node_list_all_node.csv \
    --pods bench/workloads/traces/alibaba-gpu-v2023/openb_pod_list_default.csv \
    --config "stock default=bench/placement/stock-default.yaml"

  # The pending pods of a cluster snapshot, first 100 only, as JSON
  kubectl get nodes,pods -A -o yaml > snapshot.yaml
  kubectl mlsched simulate --snapshot snapshot.yaml --config "mine=sched.yaml:policy.yaml" --limit 100 -o json` + simulatePolicyExample

func newSimulateCommand(root *rootOptions) *cobra.Command {
	o := &simulateOptions{rootOptions: root}
	cmd := &cobra.Command{
		Use:   "simulate (--nodes NODES.csv --pods PODS.csv | --snapshot SNAPSHOT.yaml) --config NAME=SCHEDCONFIG.yaml[:POLICY.yaml]...",
		Short: "Replay a workload through the real scheduler in-process and report placement quality",
		Long: `Replay a workload through the real scheduler and report placement quality.

The scheduler is kube-scheduler v1.37 with the MLPolicy plugin, built in-process
from each --config exactly as the ml-scheduler binary builds it, on an in-memory
API (no cluster is touched). Pods are created one at a time in arrival order,
each once the previous one is bound or reported unschedulable.

The workload is either the Alibaba GPU trace's CSV files (--nodes, --pods: pods
in file order, in the namespace of -n, default "default"), or a snapshot as
'kubectl get nodes,pods -A -o yaml' prints it (--snapshot: pods with a
spec.nodeName are running there already; the others are the queue, by
creationTimestamp).

--gpu-sharing says how the trace's GPUs become objects: "whole" (default) gives
GPU nodes nvidia.com/gpu and a GPU-sharing pod (gpu_milli < 1000) one whole GPU;
"dra" makes each GPU a Dynamic Resource Allocation device of a ResourceSlice
(no nvidia.com/gpu on nodes), keeps whole-GPU pods asking nvidia.com/gpu (served
by the DeviceClass as a DRA-backed extended resource) and gives each sharing pod
a ResourceClaim for its fraction; the scheduler's DynamicResources plugin
allocates them, and the metrics count fractions.

Each --config is NAME=SCHEDCONFIG.yaml[:POLICY.yaml]: a KubeSchedulerConfiguration
(its first profile serves the pods; leaderElection and clientConnection are
ignored) and, for a profile enabling MLPolicy, the placement policy put into the
ConfigMap its args name. Configurations run one after the other.

With --policy NEW.yaml the verb judges a policy change instead, on the live
cluster (--from-cluster) or a snapshot (--snapshot, with --old-policy): the
running pods of the scheduler the new policy would no longer admit where they
are, the pending pods it would make schedulable, and the pending queue replayed
on top of the running pods under the old policy (the cluster's ConfigMap, or
--old-policy) and the new one, metrics side by side. --config is then one
KubeSchedulerConfiguration file (default: ` + manifests.SchedulerConfigSource + `).`,
		Example: simulateExample,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.policyMode() {
				if err := o.validatePolicyMode(cmd); err != nil {
					return err
				}
				return o.runPolicyChange(cmd.Context())
			}
			if err := o.validate(cmd); err != nil {
				return err
			}
			return o.run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.nodes, "nodes", "", "node CSV of the Alibaba GPU trace (sn,cpu_milli,memory_mib,gpu,model)")
	f.StringVar(&o.pods, "pods", "", "pod CSV of the Alibaba GPU trace (name,cpu_milli,memory_mib,num_gpu,gpu_milli[,gpu_spec,...]), in arrival order")
	f.StringVar(&o.snapshot, "snapshot", "", "nodes and pods as 'kubectl get nodes,pods -A -o yaml' prints them (instead of --nodes/--pods)")
	f.StringArrayVar(&o.configs, "config", nil, "NAME=SCHEDCONFIG.yaml[:POLICY.yaml]: a configuration to replay through (repeatable)")
	f.StringVarP(&o.output, "output", "o", "table", "output format: table, markdown, json or yaml")
	f.StringVar(&o.plot, "plot", "", "also write an SVG plot of GPUs allocated against GPU demand to this file")
	f.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to this file")
	f.StringVar(&o.title, "title", "", "title of the plot (default: the workload's name)")
	f.IntVar(&o.limit, "limit", 0, "replay only the first N pods of the queue (0: all)")
	f.BoolVar(&o.perPod, "per-pod", false, "include every pod's placement in the JSON/YAML output")
	f.BoolVar(&o.progress, "progress", true, "show a progress bar on stderr (only if it is a terminal)")
	f.DurationVar(&o.podTimeout, "pod-timeout", 30*time.Second, "how long to wait for one pod to be bound or reported unschedulable")
	f.StringVar(&o.gpuResource, "gpu-resource", string(trace.DefaultGPUResource), "extended resource counted as GPUs (and given to trace pods and nodes)")
	f.StringVar(&o.gpuModelLabel, "gpu-model-label", trace.DefaultGPUModelLabel, "node label holding the GPU model (set on trace nodes, required by a trace pod's gpu_spec)")
	f.StringVar(&o.gpuSharing, "gpu-sharing", string(trace.GPUSharingWhole), `how trace GPUs become objects: "whole" (nvidia.com/gpu on nodes, a sharing pod asks one GPU) or "dra" (DRA devices, a sharing pod claims its fraction)`)
	addPolicyChangeFlags(f, &o.policyChange)
	return cmd
}

func (o *simulateOptions) validate(cmd *cobra.Command) error {
	switch {
	case o.snapshot != "" && (o.nodes != "" || o.pods != ""):
		return usagef(cmd, "--snapshot: give either --snapshot or --nodes and --pods, not both")
	case o.snapshot == "" && o.nodes == "" && o.pods == "":
		return usagef(cmd, "no workload: give --nodes and --pods, or --snapshot")
	case o.snapshot == "" && o.nodes == "":
		return usagef(cmd, "--nodes: required with --pods")
	case o.snapshot == "" && o.pods == "":
		return usagef(cmd, "--pods: required with --nodes")
	case len(o.configs) == 0:
		return usagef(cmd, "--config: at least one NAME=SCHEDCONFIG.yaml[:POLICY.yaml] is required")
	case o.limit < 0:
		return usagef(cmd, "--limit: %d is negative", o.limit)
	case o.podTimeout <= 0:
		return usagef(cmd, "--pod-timeout: %s must be positive", o.podTimeout)
	}
	sharing, err := trace.ParseGPUSharing(o.gpuSharing)
	if err != nil {
		return usagef(cmd, "--gpu-sharing: %v", err)
	}
	if sharing == trace.GPUSharingDRA && o.snapshot != "" {
		return usagef(cmd, "--gpu-sharing: %s applies to a trace (--nodes, --pods), not to --snapshot", sharing)
	}
	switch o.output {
	case "table", "markdown", "json", "yaml":
	default:
		return usagef(cmd, "--output: %q is not one of table, markdown, json, yaml", o.output)
	}
	if _, err := simulator.ParseConfigFlags(o.configs); err != nil {
		return usagef(cmd, "%v", err)
	}
	return nil
}

func (o *simulateOptions) run(ctx context.Context) error {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()

	flags, err := simulator.ParseConfigFlags(o.configs)
	if err != nil {
		return err
	}
	var configs []simulator.Configuration
	for _, f := range flags {
		c, err := f.Load()
		if err != nil {
			return err
		}
		configs = append(configs, c)
	}
	w, err := o.workload()
	if err != nil {
		return err
	}
	if o.limit > 0 && o.limit < len(w.Pods) {
		w.Pods = w.Pods[:o.limit]
	}

	opts := simulator.Options{
		PodTimeout:    o.podTimeout,
		GPUResource:   v1.ResourceName(o.gpuResource),
		GPUModelLabel: o.gpuModelLabel,
	}
	if o.progress && isTerminal(o.streams.ErrOut) {
		opts.Progress = simulator.NewProgressBar(o.streams.ErrOut)
	}
	fmt.Fprintf(o.streams.ErrOut, "Replaying %d pods (%d running) on %d nodes through %d configuration(s)\n",
		len(w.Pods), len(w.Running), len(w.Nodes), len(configs))
	results, err := simulator.RunAll(ctx, w, configs, opts)
	if err != nil {
		return err
	}

	if o.jsonFile != "" {
		if err := report.WriteFile(o.jsonFile, func(f io.Writer) error { return report.JSON(f, results, o.perPod) }); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if o.plot != "" {
		title := o.title
		if title == "" {
			title = "GPU allocation: " + w.Name
		}
		if err := report.WriteFile(o.plot, func(f io.Writer) error { return report.SVG(f, title, results) }); err != nil {
			return fmt.Errorf("--plot: %w", err)
		}
	}
	switch o.output {
	case "json":
		return report.JSON(o.streams.Out, results, o.perPod)
	case "yaml":
		return report.YAML(o.streams.Out, results, o.perPod)
	case "markdown":
		return report.Markdown(o.streams.Out, results)
	default:
		return report.Table(o.streams.Out, results)
	}
}

// workload reads --nodes/--pods or --snapshot.
func (o *simulateOptions) workload() (*simulator.Workload, error) {
	if o.snapshot != "" {
		s, err := trace.LoadSnapshot(o.snapshot)
		if err != nil {
			return nil, fmt.Errorf("--snapshot: %w", err)
		}
		return &simulator.Workload{Name: baseName(o.snapshot), Nodes: s.Nodes, Running: s.Running, Pods: s.Pending}, nil
	}
	to := trace.Options{GPUResource: v1.ResourceName(o.gpuResource), GPUModelLabel: o.gpuModelLabel, GPUSharing: trace.GPUSharing(o.gpuSharing)}
	if o.configFlags.Namespace != nil && *o.configFlags.Namespace != "" {
		to.Namespace = *o.configFlags.Namespace
	}
	nodes, err := trace.LoadOpenBNodes(o.nodes, to)
	if err != nil {
		return nil, fmt.Errorf("--nodes: %w", err)
	}
	pods, err := trace.LoadOpenBPods(o.pods, to)
	if err != nil {
		return nil, fmt.Errorf("--pods: %w", err)
	}
	objs, err := trace.ShareGPUs(nodes, pods, to)
	if err != nil {
		return nil, fmt.Errorf("--gpu-sharing: %w", err)
	}
	return simulator.TraceWorkload(baseName(o.pods), objs), nil
}

func baseName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
