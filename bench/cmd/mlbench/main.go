// Command mlbench runs the scheduling-throughput benchmark: the scheduler_perf
// test binary (bench/perf_test.go, built as .cache/bench.test) once per cell
// of the matrix (scenario x node count x scheduler profile), the profiles
// interleaved and repeated, and writes the results (Markdown table, JSON,
// benchstat input, SVG plot) to bench/results/.
//
//	go run ./bench/cmd/mlbench -mode quick   # make bench-quick
//	go run ./bench/cmd/mlbench -mode full    # make bench
//
// Every run takes /tmp/heavy-build.lock (the lock the engineers sharing this
// machine take for heavy work) while it runs, and only then.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

func main() {
	mode := flag.String("mode", "quick", "matrix: quick (500 nodes, one repetition), full (500/1000/5000 nodes, five repetitions), events (the Event cost), gang (pod groups/s, 500/5000 nodes, three repetitions) or dra (DRA GPUs, 500/1000 nodes, three repetitions)")
	reps := flag.Int("reps", 0, "repetitions of every cell (default: 1 quick, 5 full)")
	bin := flag.String("bin", "../.cache/bench.test", "scheduler_perf test binary, relative to -dir")
	dir := flag.String("dir", "bench", "the bench/ directory: the binary runs there, paths in the configs are relative to it")
	out := flag.String("out", "results", "output directory, relative to -dir")
	lock := flag.String("lock", "/tmp/heavy-build.lock", "lock file held during every run (empty: none)")
	timeout := flag.Duration("timeout", 6*time.Minute, "a run taking longer is killed and recorded as failed (gang mode: 15m unless set)")
	only := flag.String("only", "", "run only cells whose name (scenario=S/nodes=N/profile=P) matches this regexp")
	sizes := flag.String("sizes", "", "comma-separated node counts, overriding the mode's (debugging)")
	pods := flag.Int("pods", 0, "measured pods per run, overriding the mode's (debugging)")
	keep := flag.Bool("keep-profiles", false, "keep the first repetition's CPU profile of every cell under <out>/profiles (by default only 5000-node cells)")
	attr := flag.Bool("attribute", false, "print where the CPU went in the CPU profiles named as arguments, and exit")
	flag.Parse()
	if *attr {
		if err := attribute(flag.Args()); err != nil {
			fatal(err)
		}
		return
	}

	m, err := matrixFor(*mode)
	if err != nil {
		fatal(err)
	}
	if *reps > 0 {
		m.Reps = *reps
	}
	if err := m.override(*sizes, *pods); err != nil {
		fatal(err)
	}
	timeoutSet := false
	flag.Visit(func(f *flag.Flag) { timeoutSet = timeoutSet || f.Name == "timeout" })
	if m.Gang && !timeoutSet {
		// A gang cycle simulates every pod in every rack: slower than pods one by one.
		*timeout = 15 * time.Minute
	}
	if err := os.Chdir(*dir); err != nil {
		fatal(err)
	}
	outDir, _ := filepath.Abs(*out)
	binPath, _ := filepath.Abs(*bin)
	if _, err := os.Stat(binPath); err != nil {
		fatal(fmt.Errorf("%s missing: build it with `go test -tags schedperf -c -o .cache/bench.test ./bench` (make bench, bench-quick, bench-dra and bench-gang do): %w", binPath, err))
	}
	if err := os.MkdirAll(filepath.Join(outDir, "profiles"), 0o755); err != nil {
		fatal(err)
	}

	// Run a private copy: .cache/bench.test may be rebuilt while we run.
	pinned, err := pin(binPath)
	if err != nil {
		fatal(err)
	}
	defer os.RemoveAll(filepath.Dir(pinned))
	r := &runner{bin: pinned, binDir: filepath.Join(filepath.Dir(binPath), "bin"), out: outDir, lock: *lock, timeout: *timeout, matrix: m, keepProfiles: *keep}
	res := &Results{Mode: *mode, Machine: describeMachine(), Started: time.Now().UTC(), Reps: m.Reps}
	var onlyRE *regexp.Regexp
	if *only != "" {
		if onlyRE, err = regexp.Compile(*only); err != nil {
			fatal(fmt.Errorf("-only: %w", err))
		}
	}
	plan := m.plan(onlyRE)
	fmt.Printf("mlbench: %d runs (%s mode, %d repetition(s)); machine: %s\n", len(plan), *mode, m.Reps, res.Machine.Summary())
	start := time.Now()
	for i, c := range plan {
		run := r.run(c)
		res.Runs = append(res.Runs, run)
		elapsed := time.Since(start)
		eta := time.Duration(float64(elapsed) / float64(i+1) * float64(len(plan)-i-1))
		status := fmt.Sprintf("%6.1f pods/s (p50 %5.1f, p99 %5.1f)  sched CPU %.2f ms/pod", run.Throughput.Average, run.Throughput.Perc50, run.Throughput.Perc99, run.SchedCPUPerPod)
		if run.Groups > 0 {
			status = fmt.Sprintf("%6.1f groups/s, ", run.GroupsPerSecond) + status
		}
		if run.Error != "" {
			status = "FAILED: " + run.Error
		}
		fmt.Printf("[%3d/%d] rep %d  %-10s %5d nodes  %-9s %s  (%s, ETA %s)\n", i+1, len(plan), c.Rep+1, c.Scenario, c.Nodes, c.Profile.Name, status,
			elapsed.Round(time.Second), eta.Round(time.Second))
		// Keep partial results on disk: a long run can be interrupted.
		res.Finished = time.Now().UTC()
		if err := res.write(outDir, m); err != nil {
			fatal(err)
		}
	}
	table := res.markdown(m)
	if m.Gang {
		table = res.markdownGang(m)
	}
	fmt.Println()
	fmt.Println(table)
	fmt.Println(writeBenchstat(outDir, m))
	fmt.Printf("Results in %s (results.md, results.json, bench.txt, benchstat.txt, throughput.svg)\n", outDir)
}

func pin(bin string) (string, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}
	dir, err := os.MkdirTemp("", "mlbench-bin-")
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dir, "bench.test")
	return dst, os.WriteFile(dst, b, 0o755)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mlbench:", err)
	os.Exit(1)
}
