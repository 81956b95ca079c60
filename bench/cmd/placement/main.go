// Command placement compares the placement quality of scheduler
// configurations on the Alibaba GPU trace (`make bench-placement`): every
// pod list of the trace is replayed in-process (pkg/simulator) through the
// stock kube-scheduler (default scoring, and MostAllocated with GPUs
// weighted 5) and ml-scheduler as shipped (manifests/base), one after the
// other. It writes, under -out, results.md (one table per trace),
// results.json and one SVG plot per trace.
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
		dir    = flag.String("traces", "bench/workloads/traces/alibaba-gpu-v2023", "directory of the trace CSVs")
		nodes  = flag.String("nodes", "openb_node_list_all_node.csv", "node CSV in -traces")
		traces = flag.String("workloads", "default,gpuspec33,multigpu20", "pod lists to replay: openb_pod_list_<name>.csv in -traces")
		out    = flag.String("out", "bench/results/placement", "output directory")
		limit  = flag.Int("limit", 0, "replay only the first N pods of each list (0: all)")
	)
	flag.Parse()
	if os.Getenv("GOGC") == "" {
		// The scheduler allocates a lot per cycle; fewer GC cycles save CPU.
		debug.SetGCPercent(300)
	}
	quietKlog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *dir, *nodes, strings.Split(*traces, ","), *out, *limit); err != nil {
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

func run(ctx context.Context, dir, nodesFile string, names []string, out string, limit int) error {
	var configs []simulator.Configuration
	for _, c := range configurations {
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
	nodes, err := trace.LoadOpenBNodes(filepath.Join(dir, nodesFile), trace.Options{})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	// A curve point every 50 pods keeps results.json small.
	opts := simulator.Options{CurveEvery: 50}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = simulator.NewProgressBar(os.Stderr)
	}
	started, loadBefore := time.Now(), runinfo.LoadAverage()
	var all []*simulator.Result
	var md bytes.Buffer
	for _, name := range names {
		file := filepath.Join(dir, "openb_pod_list_"+name+".csv")
		pods, err := trace.LoadOpenBPods(file, trace.Options{})
		if err != nil {
			return err
		}
		if limit > 0 && limit < len(pods) {
			pods = pods[:limit]
		}
		w := &simulator.Workload{Name: name, Nodes: nodes, Pods: pods}
		results, err := simulator.RunAll(ctx, w, configs, opts)
		if err != nil {
			return fmt.Errorf("trace %s: %w", name, err)
		}
		all = append(all, results...)
		title := fmt.Sprintf("Alibaba GPU trace, %s: %d pods on %d nodes (%d GPUs)", name, len(pods), len(nodes), results[0].ClusterGPUs)
		svg := name + ".svg"
		if err := report.WriteFile(filepath.Join(out, svg), func(f io.Writer) error { return report.SVG(f, title, results) }); err != nil {
			return err
		}
		fmt.Fprintf(&md, "\n## %s\n\n`%s`: %d pods, %d of them asking GPUs; plot: [%s](%s)\n\n", name, file, len(pods), results[0].GPUPods, svg, svg)
		if err := report.Markdown(&md, results); err != nil {
			return err
		}
	}
	var head bytes.Buffer
	fmt.Fprintf(&head, "# Placement quality on the Alibaba GPU trace\n\n")
	fmt.Fprintf(&head, "`make bench-placement` (`go run ./bench/cmd/placement`), commit %s, %s, %s, %d CPUs, %s total; "+
		"load average (1 min) %s at the start, %s at the end: other work on the machine slows the replays, so wall times vary with it.\n\n",
		runinfo.Commit(), time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), time.Since(started).Round(time.Second), loadBefore, runinfo.LoadAverage())
	fmt.Fprintf(&head, "Each pod list of `%s` (nodes: `%s`, trace source: [SOURCE.md](../../workloads/traces/alibaba-gpu-v2023/SOURCE.md)) "+
		"is replayed in-process by `pkg/simulator` through the real kube-scheduler v1.37.2 framework with the MLPolicy plugin registered, "+
		"one pod at a time in arrival order, each once the previous one is bound or reported unschedulable; no pod leaves. "+
		"A GPU-sharing pod (gpu_milli < 1000) asks one whole GPU.\n\n", dir, nodesFile)
	fmt.Fprintf(&head, "Configurations: ")
	for i, c := range configurations {
		if i > 0 {
			head.WriteString("; ")
		}
		fmt.Fprintf(&head, "**%s**: `%s`", c.name, c.config)
		if c.policy != "" {
			fmt.Fprintf(&head, " + `%s`", c.policy)
		}
	}
	head.WriteString(".\n\nColumns: GPUs allocated at the end (of the cluster's); the first pod asking GPUs that could not be placed when it arrived " +
		"(its arrival number, and the GPUs allocated at that moment); pods asking GPUs placed/not placed at the end; multi-GPU pods placed by size; " +
		"CPU-only pods placed, and how many of them sit on GPU nodes; the replay's wall time. Score ties are broken at random by the scheduler, " +
		"so runs differ slightly.\n")
	if err := os.WriteFile(filepath.Join(out, "results.md"), append(head.Bytes(), md.Bytes()...), 0o644); err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(out, "results.json"), func(f io.Writer) error { return report.JSON(f, all, false) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s/results.md, results.json and %d plots\n", out, len(names))
	return report.Table(os.Stdout, all)
}
