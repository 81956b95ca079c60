// Command binrun is the binary-level benchmark: the ml-scheduler binary and
// the stock kube-scheduler v1.37.2 binary, each in turn as a second scheduler
// process against a real etcd + kube-apiserver (internal/controlplane), with the
// same nodes and pods as the scheduler_perf benchmark (bench/workloads).
// Throughput and creation-to-binding latency are measured from the API (a
// watch in this process), CPU time from the scheduler's /proc/<pid>/stat.
//
//	go run ./bench/cmd/binrun -nodes 5000 -pods 2000 -reps 3
//
// Needs .cache/bin/{etcd,kube-apiserver,ml-scheduler,kube-scheduler}
// (make build; kube-scheduler: see bench/README.md).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/stats"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

type schedulerUnderTest struct {
	Name, Binary, Profiles, SchedulerName string
	Affinity                              bool // pods carry the policy as nodeAffinity
}

func main() {
	nodes := flag.Int("nodes", 5000, "nodes in the cluster")
	pods := flag.Int("pods", 2000, "measured pods per run")
	reps := flag.Int("reps", 3, "repetitions")
	dir := flag.String("dir", "bench", "the bench/ directory (workload templates)")
	out := flag.String("out", "results", "output directory, relative to -dir")
	lock := flag.String("lock", "/tmp/heavy-build.lock", "lock held during node creation and every run (empty: none)")
	background := flag.Int("background-pods", 0, "bound pods created before the runs (a busy cluster: e.g. 150000 at 15000 nodes)")
	withoutML := flag.Bool("without-mlpolicy", false, "also run the ml-scheduler binary with the default profile only (the memory MLPolicy adds)")
	skipAffinity := flag.Bool("skip-affinity", false, "leave out (c), kube-scheduler with nodeAffinity")
	profileSeconds := flag.Int("cpu-profile-seconds", 0, "fetch a CPU profile of this many seconds from each scheduler during its first repetition's measured phase, into <out>/profiles (0: none)")
	flag.Parse()
	if err := os.Chdir(*dir); err != nil {
		fatal(err)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	unlock := takeLock(*lock)
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		fatal(err)
	}
	defer cp.Stop()
	client := cp.Client()
	policy, err := os.ReadFile("workloads/policies/policy-10-rules.yaml")
	if err != nil {
		fatal(err)
	}
	if err := cluster.EnsureNamespaces(ctx, client, "ml-scheduler", "research", "shared"); err != nil {
		fatal(err)
	}
	if err := cluster.ApplyPolicy(ctx, client, "ml-scheduler", "ml-scheduler-policy", string(policy)); err != nil {
		fatal(err)
	}
	t0 := time.Now()
	if err := createNodes(ctx, client, "workloads/nodes/gpu-cluster.yaml", *nodes); err != nil {
		fatal(err)
	}
	fmt.Printf("created %d nodes in %s\n", *nodes, time.Since(t0).Round(time.Millisecond))
	if *background > 0 {
		t0 = time.Now()
		if err := cluster.EnsureNamespaces(ctx, client, backgroundNamespace); err != nil {
			fatal(err)
		}
		if err := createBackgroundPods(ctx, cp.Config, *background); err != nil {
			fatal(err)
		}
		fmt.Printf("created %d bound background pods in %s\n", *background, time.Since(t0).Round(time.Millisecond))
	}
	unlock()

	// Pin the binaries for the whole run: .cache/bin is rebuilt by others.
	versions := map[string]string{}
	for _, b := range []string{"kube-scheduler", "ml-scheduler"} {
		v, err := pinBinary(filepath.Join(cp.BinDir, b), filepath.Join(cp.WorkDir, b))
		if err != nil {
			fatal(err)
		}
		versions[b] = v
		fmt.Printf("%s: %s\n", b, v)
	}
	kubeBin, mlBin := filepath.Join(cp.WorkDir, "kube-scheduler"), filepath.Join(cp.WorkDir, "ml-scheduler")
	scheds := []schedulerUnderTest{
		{Name: "kube-scheduler (a) default", Binary: kubeBin, Profiles: kubeSchedulerProfiles, SchedulerName: "bench-default"},
		{Name: "ml-scheduler (b)", Binary: mlBin, Profiles: fmt.Sprintf(mlSchedulerProfiles, "ml-scheduler", "ml-scheduler-policy"), SchedulerName: "ml-scheduler"},
		{Name: "kube-scheduler (c) affinity", Binary: kubeBin, Profiles: kubeSchedulerProfiles, SchedulerName: "bench-affinity", Affinity: true},
	}
	if *skipAffinity {
		scheds = scheds[:2]
	}
	if *withoutML {
		// One profile, as (b) has: the same binary, the same frameworks but MLPolicy.
		scheds = append(scheds, schedulerUnderTest{Name: "ml-scheduler (b0) no MLPolicy", Binary: mlBin, Profiles: singleDefaultProfile, SchedulerName: "bench-default"})
	}
	var results []Measurement
	scenarios := []string{"confined", "unconfined"}
	for rep := 0; rep < *reps; rep++ {
		for si, sc := range scenarios {
			k := (rep + si) % len(scheds)
			order := append(append([]schedulerUnderTest{}, scheds[k:]...), scheds[:k]...)
			for _, s := range order {
				profile := ""
				if *profileSeconds > 0 && rep == 0 {
					profile = filepath.Join(*out, "profiles", fmt.Sprintf("%s-%s.cpu.prof", sc, strings.Fields(s.Name)[0]+"-"+strings.Trim(strings.Fields(s.Name)[1], "()")))
				}
				m := runOne(ctx, cp, s, sc, rep, *pods, *lock, profile, *profileSeconds)
				results = append(results, m)
				status := fmt.Sprintf("%6.1f pods/s, latency p50 %.0f ms p99 %.0f ms, scheduler CPU %.2f ms/pod, RSS %.0f MiB (peak %.0f)", m.Throughput, m.LatencyP50, m.LatencyP99, m.CPUPerPod, m.RSSMiB, m.PeakRSSMiB)
				if m.Error != "" {
					status = "FAILED: " + m.Error
				}
				fmt.Printf("rep %d %-10s %-28s %s\n", rep+1, sc, s.Name, status)
				if ctx.Err() != nil {
					fatal(ctx.Err())
				}
			}
		}
	}
	md := report(results, scenarios, scheds, *nodes, *pods, *reps, *background)
	md += fmt.Sprintf("\nBinaries: ml-scheduler %s; kube-scheduler %s.\n", versions["ml-scheduler"], versions["kube-scheduler"])
	fmt.Println(md)
	outDir, _ := filepath.Abs(*out)
	_ = os.MkdirAll(outDir, 0o755)
	b, _ := json.MarshalIndent(map[string]any{"nodes": *nodes, "pods": *pods, "reps": *reps, "backgroundPods": *background, "runs": results, "binaries": versions,
		"machine": machine(), "finished": time.Now().UTC()}, "", "  ")
	if err := os.WriteFile(filepath.Join(outDir, "binary.json"), b, 0o644); err != nil {
		fatal(err)
	}
	if err := os.WriteFile(filepath.Join(outDir, "binary.md"), []byte(md), 0o644); err != nil {
		fatal(err)
	}
}

func runOne(ctx context.Context, cp *controlplane.ControlPlane, s schedulerUnderTest, scenario string, rep, n int, lock, profile string, profileSeconds int) Measurement {
	m := Measurement{Scenario: scenario, Scheduler: s.Name, Rep: rep}
	ns := map[string]string{"confined": "research", "unconfined": "shared"}[scenario]
	constraints := "none"
	if s.Affinity {
		constraints = scenario
	}
	runID := fmt.Sprintf("r%d-%s-%s", rep, scenario[:4], strings.Fields(s.Name)[0][:4]+s.SchedulerName[len(s.SchedulerName)-4:])
	pods, err := podsFor("workloads/pods/ml-mix.yaml", n, constraints, ns, s.SchedulerName, runID)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	unlock := takeLock(lock)
	defer unlock()
	proc, err := startScheduler(ctx, cp, "sched-"+runID, s.Binary, s.Profiles)
	if err != nil {
		m.Error = err.Error()
		return m
	}
	time.Sleep(2 * time.Second) // informers synced, first cycle idle
	profiled := make(chan error, 1)
	if profile != "" {
		go func() { profiled <- fetchCPUProfile(ctx, proc.port, profileSeconds, profile) }()
	} else {
		profiled <- nil
	}
	res := measure(ctx, cp.Client(), pods, proc.Pid(), 5*time.Minute)
	if err := <-profiled; err != nil {
		fmt.Printf("CPU profile of %s: %v\n", s.Name, err)
	}
	res.Scenario, res.Scheduler, res.Rep = scenario, s.Name, rep
	if rss, peak, err := residentMiB(proc.Pid()); err == nil {
		res.RSSMiB, res.PeakRSSMiB = rss, peak
	}
	_ = proc.Stop()
	if err := deletePods(ctx, cp.Client(), ns, runID); err != nil && res.Error == "" {
		res.Error = err.Error()
	}
	return res
}

func report(results []Measurement, scenarios []string, scheds []schedulerUnderTest, nodes, pods, reps, background int) string {
	var sb strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&sb, f, a...) }
	w("## Binary-level run: %d nodes, %d pods per run, %d repetitions (medians)\n\n", nodes, pods, reps)
	if background > 0 {
		w("The cluster also holds %d bound pods (namespace %s, 1m CPU and 1Mi each, spread over the nodes) before the runs: %d pods in all with a run's.\n\n", background, backgroundNamespace, background+pods)
	}
	w("Machine: %s. Each scheduler a separate process (client QPS/burst 5000, no leader election) against etcd + kube-apiserver v1.37.2 processes; measured from the API.\n\n", machine())
	w("| scenario | scheduler | pods/s | p50 (1 s samples) | p99 | create-to-bind p50 ms | p99 ms | scheduler CPU ms/pod | RSS MiB (end) | peak RSS MiB | runs |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	med := map[string]float64{}
	for _, sc := range scenarios {
		for _, s := range scheds {
			var tp, p50, p99, l50, l99, cpu, rss, peak []float64
			for _, m := range results {
				if m.Scenario == sc && m.Scheduler == s.Name && m.Error == "" {
					tp, p50, p99 = append(tp, m.Throughput), append(p50, m.ThroughputP50), append(p99, m.ThroughputP99)
					l50, l99, cpu = append(l50, m.LatencyP50), append(l99, m.LatencyP99), append(cpu, m.CPUPerPod)
					rss, peak = append(rss, m.RSSMiB), append(peak, m.PeakRSSMiB)
				}
			}
			med[sc+s.Name] = stats.Median(tp)
			med["rss"+sc+s.Name], med["peak"+sc+s.Name] = stats.Median(rss), stats.Median(peak)
			w("| %s | %s | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f | %.0f | %.0f | %d |\n", sc, s.Name, stats.Median(tp), stats.Median(p50), stats.Median(p99), stats.Median(l50), stats.Median(l99), stats.Median(cpu), stats.Median(rss), stats.Median(peak), len(tp))
		}
	}
	w("\n")
	for _, sc := range scenarios {
		a, b := med[sc+scheds[0].Name], med[sc+scheds[1].Name]
		if a > 0 {
			w("- %s: ml-scheduler / kube-scheduler default = **%.2f**", sc, b/a)
		}
		for _, s := range scheds[2:] {
			switch {
			case s.Affinity && med[sc+s.Name] > 0:
				w(", ml-scheduler / kube-scheduler with nodeAffinity = **%.2f**", b/med[sc+s.Name])
			case !s.Affinity && med["peak"+sc+s.Name] > 0:
				w("; peak RSS ml-scheduler / the same binary without MLPolicy = **%.3f** (%.0f / %.0f MiB)", med["peak"+sc+scheds[1].Name]/med["peak"+sc+s.Name], med["peak"+sc+scheds[1].Name], med["peak"+sc+s.Name])
			}
		}
		w("\n")
	}
	for _, m := range results {
		if m.Error != "" {
			w("- failed: rep %d %s %s: %s\n", m.Rep+1, m.Scenario, m.Scheduler, strings.SplitN(m.Error, "\n", 2)[0])
		}
	}
	return sb.String()
}

func takeLock(path string) func() {
	if path == "" {
		return func() {}
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		fatal(err)
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }
}

func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				model = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (%s), %s", numCPU(), model, goVersion())
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "binrun:", err)
	os.Exit(1)
}
