// Command realreplay replays a trace through the real scheduler binary on a
// real apiserver, as `kubectl mlsched simulate` replays it in-process, and
// prints the same table (pkg/simulator/report).
//
// For each --config it starts a fresh control plane (etcd + kube-apiserver
// v1.37.2 processes on loopback, internal/controlplane), so runs do not
// interact; starts the scheduler binary with that KubeSchedulerConfiguration
// (internal/cluster: clientConnection pointed at the control plane, client
// QPS/burst 5000, leader election off): the ml-scheduler binary if a profile
// enables MLPolicy, else the stock kube-scheduler v1.37.2 binary, so a stock
// configuration runs stock code; and replays the workload through
// simulator.RunOnCluster, one pod at a time in arrival order, each once the
// previous one is bound or reported unschedulable. The replay's own client
// runs at QPS/burst 5000 too. Each binary is copied into the control plane's
// work directory first, so a rebuild during a run does not mix versions.
//
// With --in-process, each configuration is also replayed by simulator.Run,
// in-process, and both rows are printed, so the two can be compared.
//
// Run it from the repository root:
//
//	go run ./bench/cmd/realreplay \
//	  --config "ml-scheduler=manifests/base/scheduler-config.yaml:manifests/base/policy.yaml" \
//	  --config "stock default=bench/placement/stock-default.yaml" \
//	  --limit 500 --json out.json --markdown out.md
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"

	"golang.org/x/term"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

const traceDir = "bench/workloads/traces/alibaba-gpu-v2023"

type configFlags []string

func (c *configFlags) String() string     { return strings.Join(*c, ", ") }
func (c *configFlags) Set(v string) error { *c = append(*c, v); return nil }

type options struct {
	nodes, pods    string
	configs        configFlags
	limit          int
	jsonFile, md   string
	perPod         bool
	inProcess      bool
	binary         string
	podTimeout     time.Duration
	verbosity      int
	lock           string
	schedulerQPS   int
	gpuResource    string
	gpuModelLabel  string
	progressStderr bool
	commit         string
}

func main() {
	var o options
	flag.StringVar(&o.nodes, "nodes", traceDir+"/openb_node_list_all_node.csv", "node CSV of the Alibaba GPU trace")
	flag.StringVar(&o.pods, "pods", traceDir+"/openb_pod_list_default.csv", "pod CSV of the Alibaba GPU trace, in arrival order")
	flag.Var(&o.configs, "config", "NAME=SCHEDCONFIG.yaml[:POLICY.yaml], as for `kubectl mlsched simulate` (repeatable)")
	flag.IntVar(&o.limit, "limit", 0, "replay only the first N pods (0: all)")
	flag.StringVar(&o.jsonFile, "json", "", "also write the results as JSON to this file")
	flag.StringVar(&o.md, "markdown", "", "also write a markdown report (how it was run, the table) to this file")
	flag.BoolVar(&o.perPod, "per-pod", false, "include every pod's placement in the JSON")
	flag.BoolVar(&o.inProcess, "in-process", false, "also replay each configuration in-process (simulator.Run) and print both rows")
	flag.StringVar(&o.binary, "binary", "auto", "scheduler binary: auto (ml-scheduler if a profile enables MLPolicy, else kube-scheduler), ml-scheduler or kube-scheduler")
	flag.DurationVar(&o.podTimeout, "pod-timeout", 2*time.Minute, "how long to wait for one pod to be bound or reported unschedulable")
	flag.IntVar(&o.verbosity, "v", 1, "the scheduler's klog verbosity (its log is in the control plane's work dir; ML_SCHEDULER_KEEP=1 keeps it)")
	flag.StringVar(&o.lock, "lock", "/tmp/heavy-build.lock", "lock file held during each replay, as the other bench commands do (empty: none)")
	flag.IntVar(&o.schedulerQPS, "qps", 5000, "client QPS and burst of the scheduler and of the replay")
	flag.StringVar(&o.gpuResource, "gpu-resource", string(trace.DefaultGPUResource), "extended resource counted as GPUs")
	flag.StringVar(&o.gpuModelLabel, "gpu-model-label", trace.DefaultGPUModelLabel, "node label holding the GPU model")
	flag.Parse()
	o.progressStderr = term.IsTerminal(int(os.Stderr.Fd()))
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		flag.Usage()
		os.Exit(2)
	}
	quietKlog()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := o.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func (o *options) validate() error {
	switch {
	case len(o.configs) == 0:
		return fmt.Errorf("--config: at least one NAME=SCHEDCONFIG.yaml[:POLICY.yaml] is required")
	case o.limit < 0:
		return fmt.Errorf("--limit: %d is negative", o.limit)
	case o.podTimeout <= 0:
		return fmt.Errorf("--pod-timeout: %s must be positive", o.podTimeout)
	case o.binary != "auto" && o.binary != "ml-scheduler" && o.binary != "kube-scheduler":
		return fmt.Errorf("--binary: %q is not auto, ml-scheduler or kube-scheduler", o.binary)
	case o.schedulerQPS <= 0:
		return fmt.Errorf("--qps: %d must be positive", o.schedulerQPS)
	}
	if _, err := simulator.ParseConfigFlags(o.configs); err != nil {
		return err
	}
	return nil
}

// run is one configuration's replay on the cluster.
type run struct {
	name, configPath, policyPath string
	conf                         simulator.Configuration
	binary, version              string
	startup, total               time.Duration
	// replay is from the first pod's outcome to the last one's: the pods/s
	// rate, without node creation and the policy wait (which
	// Result.WallSeconds includes).
	replay            time.Duration
	replayed          int
	schedCPU          float64
	result, inProcess *simulator.Result
}

func (o *options) run(ctx context.Context) error {
	var runs []*run
	flags, err := simulator.ParseConfigFlags(o.configs)
	if err != nil {
		return err
	}
	for _, f := range flags {
		conf, err := f.Load()
		if err != nil {
			return err
		}
		r := &run{name: f.Name, configPath: f.ConfigPath, policyPath: f.PolicyPath, conf: conf}
		if r.binary, err = o.binaryFor(conf.SchedulerConfig); err != nil {
			return fmt.Errorf("--config %q: %w", f.Raw, err)
		}
		runs = append(runs, r)
	}
	to := trace.Options{GPUResource: v1.ResourceName(o.gpuResource), GPUModelLabel: o.gpuModelLabel}
	nodes, err := trace.LoadOpenBNodes(o.nodes, to)
	if err != nil {
		return fmt.Errorf("--nodes: %w", err)
	}
	pods, err := trace.LoadOpenBPods(o.pods, to)
	if err != nil {
		return fmt.Errorf("--pods: %w", err)
	}
	if o.limit > 0 && o.limit < len(pods) {
		pods = pods[:o.limit]
	}
	w := &simulator.Workload{Name: strings.TrimSuffix(filepath.Base(o.pods), filepath.Ext(o.pods)), Nodes: nodes, Pods: pods}
	opts := simulator.Options{PodTimeout: o.podTimeout, GPUResource: v1.ResourceName(o.gpuResource), GPUModelLabel: o.gpuModelLabel, Progress: o.progress()}
	fmt.Fprintf(os.Stderr, "Replaying %d pods on %d nodes through %d configuration(s), each on a fresh control plane\n", len(pods), len(nodes), len(runs))

	// The commit is read before the runs: others may commit during them.
	o.commit = runinfo.Commit()
	started := time.Now()
	for _, r := range runs {
		if err := o.replay(ctx, w, r, opts); err != nil {
			return fmt.Errorf("configuration %q: %w", r.name, err)
		}
		fmt.Fprintf(os.Stderr, "%s: %s, %d pods replayed in %.1fs (%.1f pods/s), scheduler CPU %.1fs; %s in all with start-up and node creation\n",
			r.name, filepath.Base(r.binary), len(pods), r.replay.Seconds(), r.rate(), r.schedCPU, r.total.Round(time.Second))
		if o.inProcess {
			ip, err := simulator.Run(ctx, w, r.conf, opts)
			if err != nil {
				return err
			}
			r.inProcess = ip
		}
	}

	var results []*simulator.Result
	for _, r := range runs {
		res := *r.result
		if o.inProcess {
			res.Configuration += " (real binary)"
			ip := *r.inProcess
			ip.Configuration += " (in-process)"
			results = append(results, &res, &ip)
		} else {
			results = append(results, &res)
		}
	}
	if o.jsonFile != "" {
		if err := report.WriteFile(o.jsonFile, func(f io.Writer) error { return report.JSON(f, results, o.perPod) }); err != nil {
			return fmt.Errorf("--json: %w", err)
		}
	}
	if o.md != "" {
		if err := report.WriteFile(o.md, func(f io.Writer) error { return o.markdown(f, w, runs, results, time.Since(started)) }); err != nil {
			return fmt.Errorf("--markdown: %w", err)
		}
	}
	return report.Table(os.Stdout, results)
}

// binaryFor picks the scheduler binary for a configuration.
func (o *options) binaryFor(cfg []byte) (string, error) {
	if o.binary != "auto" {
		return o.binary, nil
	}
	c, err := simulator.LoadSchedulerConfig(cfg)
	if err != nil {
		return "", err
	}
	for _, p := range c.Profiles {
		if usesPlugin(p, mlpolicy.Name) {
			return "ml-scheduler", nil
		}
	}
	return "kube-scheduler", nil
}

// usesPlugin tells whether a (defaulted) profile enables the plugin or
// configures it (the stock binary would refuse its args).
func usesPlugin(p schedconfig.KubeSchedulerProfile, name string) bool {
	for _, pc := range p.PluginConfig {
		if pc.Name == name {
			return true
		}
	}
	return simulator.ProfileEnables(p, name)
}

// replay runs one configuration on a fresh control plane.
func (o *options) replay(ctx context.Context, w *simulator.Workload, r *run, opts simulator.Options) error {
	unlock, err := takeLock(o.lock)
	if err != nil {
		return err
	}
	defer unlock()
	begin := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, r.name+": "+f+"\n", a...)
	}})
	if err != nil {
		return err
	}
	defer cp.Stop()

	// A private copy of the binary: a rebuild during the run changes nothing.
	src := filepath.Join(cp.BinDir, r.binary)
	bin := filepath.Join(cp.WorkDir, r.binary)
	if err := copyFile(src, bin); err != nil {
		return fmt.Errorf("%w (ml-scheduler: make build; kube-scheduler: hack/build-e2e-binaries.sh)", err)
	}
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("%s --version: %w", bin, err)
	}
	r.version = strings.TrimSpace(string(out))
	so := cluster.SchedulerOptions{Name: r.binary, Binary: bin, Config: r.conf.SchedulerConfig,
		QPS: float32(o.schedulerQPS), Burst: int32(o.schedulerQPS), Verbosity: o.verbosity}
	start := cluster.StartScheduler
	if r.binary == "kube-scheduler" {
		start = cluster.StartKubeScheduler
	}
	s, err := start(ctx, cp, so)
	if err != nil {
		return err
	}
	defer func() {
		s.StopGrace = 5 * time.Second
		_ = s.Stop()
	}()
	r.startup = time.Since(begin)
	fmt.Fprintf(os.Stderr, "%s: %s (%s, pid %d) healthy, %s after the control plane's start\n", r.name, r.binary, r.version, s.Pid(), r.startup.Round(time.Millisecond))

	cfg := *cp.Config
	cfg.QPS, cfg.Burst = float32(o.schedulerQPS), o.schedulerQPS
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		return err
	}
	var first time.Time
	show := opts.Progress
	opts.Progress = func(p simulator.Progress) {
		if p.Done == 1 {
			first = time.Now()
		}
		if p.Done == p.Total {
			r.replay, r.replayed = time.Since(first), p.Total-1
		}
		show(p)
	}
	res, err := simulator.RunOnCluster(ctx, client, w, r.conf, simulator.ClusterOptions{Options: opts})
	if err != nil {
		return fmt.Errorf("%w\n--- last lines of %s ---\n%s", err, s.LogPath, s.LogTail(30))
	}
	r.result = res
	r.schedCPU, _ = cpuSeconds(s.Pid())
	r.total = time.Since(begin)
	return nil
}

// rate is the pods per second of the replay on the cluster.
func (r *run) rate() float64 {
	if r.replay <= 0 {
		return 0
	}
	return float64(r.replayed) / r.replay.Seconds()
}

// progress returns the Progress callback: a bar on a terminal, else a
// line every 500 pods.
func (o *options) progress() func(simulator.Progress) {
	if o.progressStderr {
		return simulator.NewProgressBar(os.Stderr)
	}
	return func(p simulator.Progress) {
		if p.Done%500 == 0 || p.Done == p.Total {
			fmt.Fprintf(os.Stderr, "%s: %d/%d pods, %d unschedulable, %.1fs\n", p.Configuration, p.Done, p.Total, p.Unschedulable, p.Elapsed.Seconds())
		}
	}
}
