// Command gangplacement compares how schedulers fragment racks under a
// stream of gang jobs (`make bench-gang-placement`): for each seed, the
// cluster and stream of pkg/simulator/gangstream are replayed in-process
// (pkg/simulator, the workload feature gates on) through
//
//   - the stock kube-scheduler, its PodGroups requiring one rack each
//     (TopologyPlacementGenerator makes one placement per rack;
//     PodGroupPodsCount and NodeResourcesFit, MostAllocated over the
//     profile's scoring resources, score them);
//   - the stock kube-scheduler, the same gangs without a topology
//     constraint;
//   - the stock kube-scheduler tuned to bin-pack (NodeResourcesFit
//     MostAllocated, GPUs weighted 5), its PodGroups requiring one rack;
//   - ml-scheduler as shipped (manifests/base/scheduler-config.yaml) with
//     bench/placement/policy-gangs.yaml, whose rule keeps the (unconstrained)
//     gangs within one rack and scores the racks by how full the gang
//     leaves them;
//   - the same ml-scheduler on the gangs that require one rack themselves.
//
// Each demand level (the stream asks that % of the cluster's GPUs) is run
// for every seed. It writes, under -out, results.md (per demand level a
// summary across seeds, then every replay), results.json and, per demand
// level, an SVG plot of the first seed. Run it from the repository root.
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
	"strconv"
	"strings"
	"time"

	"golang.org/x/term"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/gangstream"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
)

// configurations compared, in table order; constraint: the PodGroups
// require one rack themselves.
var configurations = []struct {
	name, config, policy string
	constraint           bool
}{
	{"stock, PodGroups require a rack", "bench/placement/stock-default.yaml", "", true},
	{"stock, no topology constraint", "bench/placement/stock-default.yaml", "", false},
	{"stock MostAllocated (GPU weight 5), PodGroups require a rack", "bench/placement/stock-mostallocated.yaml", "", true},
	{"ml-scheduler, rule gang.topologyKey", "manifests/base/scheduler-config.yaml", "bench/placement/policy-gangs.yaml", false},
	{"ml-scheduler, PodGroups require a rack", "manifests/base/scheduler-config.yaml", "bench/placement/policy-gangs.yaml", true},
}

func main() {
	var (
		out    = flag.String("out", "bench/results/gang-placement", "output directory")
		seeds  = flag.String("seeds", "1,2,3,4,5,6,7,8,9,10", "stream seeds, comma-separated: one replay of every configuration per seed")
		racks  = flag.Int("racks", 16, "racks")
		nodes  = flag.Int("nodes-per-rack", 8, "nodes per rack")
		gpus   = flag.Int64("gpus-per-node", 8, "GPUs per node")
		demand = flag.String("demands", "50,75,100", "demand levels, comma-separated: the stream asks this % of the cluster's GPUs")
		perPod = flag.Bool("per-pod", false, "results.json lists every pod's placement and message")
		mix    = flag.String("mix", mixString(gangstream.DefaultMix), "job kinds PODSxGPUS:WEIGHT (0 pods: a single pod outside any PodGroup)")
	)
	flag.Parse()
	quietKlog()
	o := gangstream.Options{Racks: *racks, NodesPerRack: *nodes, GPUsPerNode: *gpus}
	var err error
	if o.Mix, err = gangstream.ParseMix(*mix); err != nil {
		fail(err)
	}
	var ss []uint64
	for _, s := range strings.Split(*seeds, ",") {
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			fail(fmt.Errorf("-seeds: %w", err))
		}
		ss = append(ss, n)
	}
	var ds []int
	for _, s := range strings.Split(*demand, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-demands: %q is not a positive percentage", s))
		}
		ds = append(ds, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, o, ds, ss, *out, *perPod); err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func quietKlog() {
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	_ = fs.Set("logtostderr", "false")
	_ = fs.Set("stderrthreshold", "FATAL")
	klog.SetOutput(io.Discard)
}

func mixString(mix []gangstream.Kind) string {
	var s []string
	for _, k := range mix {
		s = append(s, k.String())
	}
	return strings.Join(s, ",")
}

func run(ctx context.Context, o gangstream.Options, demands []int, seeds []uint64, out string, perPod bool) error {
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
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	opts := simulator.Options{CurveEvery: 10, TopologyKey: gangstream.RackLabel}
	if term.IsTerminal(int(os.Stderr.Fd())) {
		opts.Progress = simulator.NewProgressBar(os.Stderr)
	}
	started, loadBefore := time.Now(), runinfo.LoadAverage()
	var all []*simulator.Result
	var md bytes.Buffer
	for _, d := range demands {
		o.DemandPercent = d
		var level [][]*simulator.Result // by seed, then configuration
		for _, seed := range seeds {
			results, w, err := runSeed(ctx, o, seed, configs, opts)
			if err != nil {
				return err
			}
			all = append(all, results...)
			level = append(level, results)
			if seed != seeds[0] {
				continue
			}
			svg := fmt.Sprintf("demand-%d-seed-%d.svg", d, seed)
			title := fmt.Sprintf("Gang stream asking %d%% of the GPUs, seed %d: %d gangs, %d single pods on %d racks (%d GPUs)",
				d, seed, len(w.PodGroups), singles(w), o.Racks, results[0].ClusterGPUs)
			if err := report.WriteFile(filepath.Join(out, svg), func(f io.Writer) error { return report.SVG(f, title, results) }); err != nil {
				return err
			}
			fmt.Fprintf(&md, "\n## Demand %d%%\n\nSeed %d: %d gangs and %d single pods, %d pods asking %d GPUs; plot: [%s](%s).\n",
				d, seed, len(w.PodGroups), singles(w), len(w.Pods), asked(results[0]), svg, svg)
		}
		writeSummary(&md, seeds, level)
		md.WriteString("\nEvery replay:\n\n")
		var flat []*simulator.Result
		for _, rs := range level {
			flat = append(flat, rs...)
		}
		if err := report.Markdown(&md, flat); err != nil {
			return err
		}
	}
	var head bytes.Buffer
	writeHead(&head, o, demands, seeds, started, loadBefore)
	if err := os.WriteFile(filepath.Join(out, "results.md"), append(head.Bytes(), md.Bytes()...), 0o644); err != nil {
		return err
	}
	if err := report.WriteFile(filepath.Join(out, "results.json"), func(f io.Writer) error { return report.JSON(f, all, perPod) }); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "wrote %s/results.md, results.json and %d plots\n", out, len(demands))
	return report.Table(os.Stdout, all)
}

// runSeed replays the stream of o and seed through every configuration,
// each on the stream with or without the rack constraint.
func runSeed(ctx context.Context, o gangstream.Options, seed uint64, configs []simulator.Configuration, opts simulator.Options) ([]*simulator.Result, *simulator.Workload, error) {
	name := fmt.Sprintf("demand %d%%, seed %d", o.DemandPercent, seed)
	var results []*simulator.Result
	var w *simulator.Workload
	for i, c := range configurations {
		so := o
		so.Seed, so.TopologyConstraint = seed, c.constraint
		wl, err := gangstream.Workload(name, so)
		if err != nil {
			return nil, nil, err
		}
		klog.Background().V(1).Info("Replaying", "workload", name, "configuration", c.name, "pods", len(wl.Pods), "podGroups", len(wl.PodGroups))
		r, err := simulator.Run(ctx, wl, configs[i], opts)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", name, err)
		}
		results, w = append(results, r), wl
	}
	return results, w, nil
}
