// Command placement compares the placement quality of scheduler
// configurations on the Alibaba GPU trace (`make bench-placement`): every
// pod list of the trace is replayed in-process (pkg/simulator) through the
// stock kube-scheduler (default scoring, and MostAllocated with GPUs
// weighted 5) and ml-scheduler as shipped (manifests/base), one after the
// other. It writes, under -out, results.md (one table per trace),
// results.json and one SVG plot per trace.
//
// With -gpu-sharing=dra (`make bench-placement-dra`) the trace's GPUs are
// DRA devices (pkg/trace.ShareGPUs): a GPU-sharing pod claims its fraction
// of a GPU, the scheduler's DynamicResources plugin allocates it, and the
// metrics count fractions.
//
// Run it from the repository root.
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"

	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// configurations compared, in table order.
var configurations = []struct{ name, config, policy string }{
	{"stock default", "bench/placement/stock-default.yaml", ""},
	{"stock MostAllocated (GPU weight 5)", "bench/placement/stock-mostallocated.yaml", ""},
	{"ml-scheduler (shipped policy)", "manifests/base/scheduler-config.yaml", "manifests/base/policy.yaml"},
	{"ml-scheduler, BinPack", "manifests/base/scheduler-config.yaml", "bench/placement/policy-binpack.yaml"},
}

func main() {
	var (
		dir        = flag.String("traces", "bench/workloads/traces/alibaba-gpu-v2023", "directory of the trace CSVs")
		nodes      = flag.String("nodes", "openb_node_list_all_node.csv", "node CSV in -traces")
		traces     = flag.String("workloads", "default,gpuspec33,multigpu20", "pod lists to replay: openb_pod_list_<name>.csv in -traces")
		out        = flag.String("out", "bench/results/placement", "output directory")
		limit      = flag.Int("limit", 0, "replay only the first N pods of each list (0: all)")
		share      = flag.String("gpu-sharing", string(trace.GPUSharingWhole), `how trace GPUs become objects: "whole" (a sharing pod asks one GPU) or "dra" (DRA devices, a sharing pod claims its fraction)`)
		only       = flag.String("configurations", "", "comma-separated indexes (0-based) of the configurations to run, in table order (default: all)")
		scale      = flag.Int("scale", 1, "replay a cluster and workload this many times the trace's (each node and each pod copied; see pkg/trace.Scale)")
		bg         = flag.Int("background-pods", 0, "bound pods (1m CPU, 1Mi) spread over the nodes before each replay: a busy cluster's object count")
		podTimeout = flag.Duration("pod-timeout", 30*time.Second, "longest wait for one pod to be bound or reported unschedulable (large scaled runs retry many unschedulable pods)")
		reps       = flag.Int("reps", 1, "replay each configuration this many times; with more than 1, results.md adds each column's spread over the runs")
	)
	flag.Parse()
	sharing, err := trace.ParseGPUSharing(*share)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: -gpu-sharing:", err)
		os.Exit(2)
	}
	if *scale < 1 {
		fmt.Fprintf(os.Stderr, "error: -scale: %d is not a positive factor\n", *scale)
		os.Exit(2)
	}
	if *bg < 0 {
		fmt.Fprintf(os.Stderr, "error: -background-pods: %d is negative\n", *bg)
		os.Exit(2)
	}
	if *reps < 1 {
		fmt.Fprintf(os.Stderr, "error: -reps: %d is not a positive number of runs\n", *reps)
		os.Exit(2)
	}
	picked, err := pick(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "error: -configurations:", err)
		os.Exit(2)
	}
	if os.Getenv("GOGC") == "" {
		// The scheduler allocates a lot per cycle; fewer GC cycles save CPU.
		debug.SetGCPercent(300)
	}
	quietKlog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, *nodes, strings.Split(*traces, ","), *out, *limit, sharing, picked, *reps, *scale, *bg, *podTimeout); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

// pick reads -configurations: indexes into configurations.
func pick(s string) ([]int, error) {
	if s == "" {
		out := make([]int, len(configurations))
		for i := range out {
			out[i] = i
		}
		return out, nil
	}
	var out []int
	for _, f := range strings.Split(s, ",") {
		i, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || i < 0 || i >= len(configurations) {
			return nil, fmt.Errorf("%q is not an index from 0 to %d", f, len(configurations)-1)
		}
		out = append(out, i)
	}
	return out, nil
}

func run(ctx context.Context, dir, nodesFile string, names []string, out string, limit int, sharing trace.GPUSharing, picked []int, reps, scale, background int, podTimeout time.Duration) error {
	var configs []simulator.Configuration
	for _, i := range picked {
		c := configurations[i]
		cfg, err := os.ReadFile(c.config)
		if err != nil {
			return err
		}
		var pol []byte
		if c.policy != "" {
			if pol, err = os.ReadFile(c.policy); err != nil {
				return err
			}
		}
		configs = append(configs, simulator.Configuration{Name: c.name, SchedulerConfig: cfg, Policy: pol})
	}
	to := trace.Options{GPUSharing: sharing}
	nodes, err := trace.LoadOpenBNodes(filepath.Join(dir, nodesFile), to)
	if err != nil {
		return err
	}
	if nodes, _, err = trace.Scale(nodes, nil, scale); err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// A curve point every 50 pods keeps results.json small.
	opts := simulator.Options{CurveEvery: 50, PodTimeout: podTimeout}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = simulator.NewProgressBar(os.Stderr)
	}
	started, loadBefore := time.Now(), runinfo.LoadAverage()
	var all []*simulator.Result
	var md bytes.Buffer
	for _, name := range names {
		file := filepath.Join(dir, "openb_pod_list_"+name+".csv")
		pods, err := trace.LoadOpenBPods(file, to)
		if err != nil {
			return err
		}
		if limit > 0 && limit < len(pods) {
			pods = pods[:limit]
		}
		if _, pods, err = trace.Scale(nil, pods, scale); err != nil {
			return err
		}
		objs, err := trace.ShareGPUs(nodes, pods, to)
		if err != nil {
			return err
		}
		w := simulator.TraceWorkload(name, objs)
		if w.Running, err = trace.BackgroundPods(nodes, background, "background"); err != nil {
			return err
		}
		results, err := simulator.RunAll(ctx, w, configs, opts)
		if err != nil {
			return fmt.Errorf("trace %s: %w", name, err)
		}
		// The table and plot show the first runs; the later ones only feed
		// the spread table.
		repeated := results
		for i := 1; i < reps; i++ {
			again, err := simulator.RunAll(ctx, w, configs, opts)
			if err != nil {
				return fmt.Errorf("trace %s, run %d: %w", name, i+1, err)
			}
			repeated = append(repeated, again...)
		}
		all = append(all, repeated...)
		title := fmt.Sprintf("Alibaba GPU trace, %s: %d pods on %d nodes (%d GPUs)", name, len(pods), len(nodes), results[0].ClusterGPUs)
		if sharing == trace.GPUSharingDRA {
			title += ", fractions through DRA"
		}
		svg := name + ".svg"
		if err := report.WriteFile(filepath.Join(out, svg), func(f io.Writer) error { return report.SVG(f, title, results) }); err != nil {
			return err
		}
		fmt.Fprintf(&md, "\n## %s\n\n`%s`: %d pods, %d of them asking GPUs", name, file, len(pods), results[0].GPUPods)
		if s := results[0].Sharing; s != nil {
			fmt.Fprintf(&md, " (%d a fraction of one), %.1f GPUs in all (%.1f%% of the cluster's)", s.SharePods, s.Demand, s.DemandPercent)
		}
		fmt.Fprintf(&md, "; plot: [%s](%s)\n\n", svg, svg)
		if err := report.Markdown(&md, results); err != nil {
			return err
		}
		if reps > 1 {
			fmt.Fprintf(&md, "\nOver %d runs of each configuration, median [min-max]:\n\n", reps)
			if err := report.RepeatsMarkdown(&md, repeated); err != nil {
				return err
			}
		}
	}
	var head bytes.Buffer
	target, command := "bench-placement", "go run ./bench/cmd/placement"
	if sharing == trace.GPUSharingDRA {
		target, command = "bench-placement-dra", "go run ./bench/cmd/placement -gpu-sharing=dra"
		fmt.Fprintf(&head, "# Placement quality on the Alibaba GPU trace, GPU fractions through DRA\n\n")
	} else {
		fmt.Fprintf(&head, "# Placement quality on the Alibaba GPU trace\n\n")
	}
	invocation := fmt.Sprintf("`make %s` (`%s`)", target, command)
	if flags := os.Args[1:]; len(flags) > 0 {
		invocation = "`" + runinfo.Command("go run ./bench/cmd/placement", flags) + "`"
	}
	fmt.Fprintf(&head, "%s, commit %s, %s, %s, %d CPUs, %s total; "+
		"load average (1 min) %s at the start, %s at the end: other work on the machine slows the replays, so wall times vary with it.\n\n",
		invocation, runinfo.Commit(), time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), time.Since(started).Round(time.Second), loadBefore, runinfo.LoadAverage())
	// The link is relative to where results.md is written.
	source, err := filepath.Rel(out, filepath.Join(dir, "SOURCE.md"))
	if err != nil {
		source = filepath.Join(dir, "SOURCE.md")
	}
	fmt.Fprintf(&head, "Each pod list of `%s` (nodes: `%s`, trace source: [SOURCE.md](%s)) "+
		"is replayed in-process by `pkg/simulator` through the real kube-scheduler v1.37.2 framework with the MLPolicy plugin registered, "+
		"one pod at a time in arrival order, each once the previous one is bound or reported unschedulable; no pod leaves. ", dir, nodesFile, source)
	if background > 0 {
		fmt.Fprintf(&head, "Before each replay %d pods asking 1m CPU and 1Mi each are bound round-robin to the nodes (`pkg/trace.BackgroundPods`), as in a busy cluster. ", background)
	}
	if scale > 1 {
		fmt.Fprintf(&head, "Cluster and workload are the trace's ×%d (`pkg/trace.Scale`): every node appears %d times, and every pod is followed by %d copies of itself. ", scale, scale, scale-1)
	}
	if sharing == trace.GPUSharingDRA {
		head.WriteString(draMethod)
	} else {
		head.WriteString("A GPU-sharing pod (gpu_milli < 1000) asks one whole GPU.\n\n")
	}
	fmt.Fprintf(&head, "Configurations: ")
	for i, j := range picked {
		c := configurations[j]
		if i > 0 {
			head.WriteString("; ")
		}
		fmt.Fprintf(&head, "**%s**: `%s`", c.name, c.config)
		if c.policy != "" {
			fmt.Fprintf(&head, " + `%s`", c.policy)
		}
	}
	if sharing == trace.GPUSharingDRA {
		head.WriteString(".\n\n" + draColumns)
	} else {
		head.WriteString(".\n\nColumns: GPUs allocated at the end (of the cluster's); the first pod asking GPUs that could not be placed when it arrived " +
			"(its arrival number, and the GPUs allocated at that moment); pods asking GPUs placed/not placed at the end; multi-GPU pods placed by size; " +
			"CPU-only pods placed, and how many of them sit on GPU nodes; the replay's wall time. Score ties are broken at random by the scheduler, " +
			"so runs differ slightly.\n")
	}
	if err := os.WriteFile(filepath.Join(out, "results.md"), append(head.Bytes(), md.Bytes()...), 0o644); err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(out, "results.json"), func(f io.Writer) error { return report.JSON(f, all, false) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s/results.md, results.json and %d plots\n", out, len(names))
	return report.Table(os.Stdout, all)
}

// draMethod and draColumns explain results.md of a -gpu-sharing=dra run.
const (
	draMethod = "GPUs are Dynamic Resource Allocation devices (`pkg/gpudra`, `pkg/trace.ShareGPUs`): each GPU node has one ResourceSlice " +
		"of one device per GPU, each with a consumable capacity `share` of 1, and no `nvidia.com/gpu` in allocatable; the DeviceClass " +
		"`gpu.ml-scheduler.io` serves `nvidia.com/gpu` as a DRA-backed extended resource, so a whole-GPU pod still asks `nvidia.com/gpu: N` " +
		"(the scheduler makes its claim), and a GPU-sharing pod (gpu_milli < 1000) asks its fraction through a ResourceClaim of its own " +
		"(`share: 460m`). The scheduler's DynamicResources plugin allocates every claim.\n\n"
	draColumns = "Columns, fractions counted: the GPU capacity allocated at the end (read from the claims' allocations: each consumed share, " +
		"whole devices as 1) of the cluster's GPUs, and what is left unallocated; the first pod asking GPUs that could not be placed when it arrived " +
		"(its arrival number, what it asked, the GPU demand arrived by then and the capacity allocated at that moment); pods asking GPUs placed of all; " +
		"whether every GPU pod was placed while the arrived demand was at most the cluster's GPUs; 8-GPU pods placed; CPU-only pods placed; " +
		"the allocation check (no device allocated beyond its capacity, every bound GPU pod's claims allocated what it asks; claims allocated); " +
		"the replay's wall time. Score ties are broken at random by the scheduler, so runs differ slightly.\n"
)
