package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/stats"
)

// Machine is where the numbers were measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpuModel"`
	GoVersion string `json:"goVersion"`
	Kernel    string `json:"kernel"`
	Commit    string `json:"commit"`
}

func (m Machine) Summary() string {
	return fmt.Sprintf("%d CPUs (%s), %s, linux %s, commit %s", m.CPUs, m.CPUModel, m.GoVersion, m.Kernel, m.Commit)
}

func describeMachine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), CPUModel: "unknown"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPUModel = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		m.Commit = strings.TrimSpace(string(b))
	}
	return m
}

// Results is everything a mlbench invocation measured; results.json holds it.
type Results struct {
	Mode     string    `json:"mode"`
	Machine  Machine   `json:"machine"`
	Started  time.Time `json:"started"`
	Finished time.Time `json:"finished"`
	Reps     int       `json:"repetitions"`
	Runs     []Run     `json:"runs"`
	// Medians per cell and the ratios derived from them (filled by write).
	Medians []Median `json:"medians"`
	Ratios  []Ratio  `json:"ratios"`
}

// Median is the median over repetitions of one cell's figures.
type Median struct {
	Scenario, Profile string
	Nodes, N          int
	Throughput        Stats
	AlgorithmP50      float64
	AlgorithmP99      float64
	AttemptP50        float64
	AttemptP99        float64
	SLIP50, SLIP99    float64
	// Gang runs: pod groups/s and the pod-group cycle latencies (ms).
	GroupsPerSecond                      float64 `json:",omitempty"`
	GroupAttemptP50, GroupAttemptP99     float64 `json:",omitempty"`
	GroupAlgorithmP50, GroupAlgorithmP99 float64 `json:",omitempty"`
	ProcessCPUPerPod                     float64
	SchedCPUPerPod                       float64
	PluginCPUPerPod                      float64
	Min, Max                             float64 // of the average throughput
}

// Ratio compares two profiles' median average throughput in one scenario and size.
type Ratio struct {
	Scenario, Name string
	Nodes          int
	Value          float64
	// PairedMin/Max: the range of the same ratio within each repetition.
	PairedMin, PairedMax float64
}

// runsOf returns the successful runs of a cell; scenario-free profiles
// (bind-only) are looked up in whichever scenario they ran.
func (r *Results) runsOf(m *Matrix, scenario string, nodes int, prof string) []Run {
	var out []Run
	for _, run := range r.Runs {
		if run.Error != "" || run.Nodes != nodes || run.Profile != prof {
			continue
		}
		if run.Scenario == scenario || m.ScenarioFree[prof] {
			out = append(out, run)
		}
	}
	return out
}

func (r *Results) median(m *Matrix, scenario string, nodes int, prof string) (Median, bool) {
	runs := r.runsOf(m, scenario, nodes, prof)
	if len(runs) == 0 {
		return Median{}, false
	}
	get := func(f func(Run) float64) float64 {
		var xs []float64
		for _, run := range runs {
			xs = append(xs, f(run))
		}
		return stats.Median(xs)
	}
	md := Median{Scenario: scenario, Profile: prof, Nodes: nodes, N: len(runs),
		Throughput: Stats{
			get(func(x Run) float64 { return x.Throughput.Average }), get(func(x Run) float64 { return x.Throughput.Perc50 }),
			get(func(x Run) float64 { return x.Throughput.Perc90 }), get(func(x Run) float64 { return x.Throughput.Perc95 }),
			get(func(x Run) float64 { return x.Throughput.Perc99 }),
		},
		AlgorithmP50: get(func(x Run) float64 { return x.AlgorithmP50 }), AlgorithmP99: get(func(x Run) float64 { return x.AlgorithmP99 }),
		AttemptP50: get(func(x Run) float64 { return x.AttemptP50 }), AttemptP99: get(func(x Run) float64 { return x.AttemptP99 }),
		SLIP50: get(func(x Run) float64 { return x.SLIP50 }), SLIP99: get(func(x Run) float64 { return x.SLIP99 }),
		ProcessCPUPerPod: get(func(x Run) float64 { return x.ProcessCPUPerPod }),
		SchedCPUPerPod:   get(func(x Run) float64 { return x.SchedCPUPerPod }),
		PluginCPUPerPod:  get(func(x Run) float64 { return x.PluginCPUPerPod }),
		GroupsPerSecond:  get(func(x Run) float64 { return x.GroupsPerSecond }),
		GroupAttemptP50:  get(func(x Run) float64 { return x.GroupAttemptP50 }), GroupAttemptP99: get(func(x Run) float64 { return x.GroupAttemptP99 }),
		GroupAlgorithmP50: get(func(x Run) float64 { return x.GroupAlgorithmP50 }), GroupAlgorithmP99: get(func(x Run) float64 { return x.GroupAlgorithmP99 }),
		Min: runs[0].Throughput.Average, Max: runs[0].Throughput.Average,
	}
	for _, run := range runs {
		md.Min = min(md.Min, run.Throughput.Average)
		md.Max = max(md.Max, run.Throughput.Average)
	}
	return md, true
}

// ratioPairs are the comparisons reported, numerator over denominator.
var ratioPairs = [][2]string{{"ml10", "default"}, {"ml10", "affinity"}, {"ml10", "bindonly"}, {"affinity", "default"}, {"default", "bindonly"}}

func (r *Results) ratio(m *Matrix, scenario string, nodes int, num, den string) (Ratio, bool) {
	a, ok1 := r.median(m, scenario, nodes, num)
	b, ok2 := r.median(m, scenario, nodes, den)
	if !ok1 || !ok2 || b.Throughput.Average == 0 {
		return Ratio{}, false
	}
	rt := Ratio{Scenario: scenario, Nodes: nodes, Name: num + "/" + den, Value: a.Throughput.Average / b.Throughput.Average}
	first := true
	for rep := 0; rep < r.Reps; rep++ {
		var x, y float64
		for _, run := range r.runsOf(m, scenario, nodes, num) {
			if run.Rep == rep {
				x = run.Throughput.Average
			}
		}
		for _, run := range r.runsOf(m, scenario, nodes, den) {
			if run.Rep == rep {
				y = run.Throughput.Average
			}
		}
		if x == 0 || y == 0 {
			continue
		}
		v := x / y
		if first {
			rt.PairedMin, rt.PairedMax, first = v, v, false
		}
		rt.PairedMin, rt.PairedMax = min(rt.PairedMin, v), max(rt.PairedMax, v)
	}
	return rt, true
}

func (r *Results) summarize(m *Matrix) {
	r.Medians, r.Ratios = nil, nil
	for _, sc := range m.Scenarios {
		for _, n := range m.Sizes {
			for _, p := range m.allProfiles() {
				if md, ok := r.median(m, sc, n, p.Name); ok {
					r.Medians = append(r.Medians, md)
				}
			}
			pairs := ratioPairs
			if n == m.ExtraSize {
				pairs = append(append([][2]string{}, pairs...), [2]string{"ml1", "ml10"}, [2]string{"ml100", "ml10"}, [2]string{"ml10event", "default"}, [2]string{"ml10event", "ml10"})
			}
			for _, pr := range pairs {
				if rt, ok := r.ratio(m, sc, n, pr[0], pr[1]); ok {
					r.Ratios = append(r.Ratios, rt)
				}
			}
		}
	}
}

// write saves results.json, results.md, bench.txt (benchstat input) and the plot.
func (r *Results) write(dir string, m *Matrix) error {
	r.summarize(m)
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "results.json"), b, 0o644); err != nil {
		return err
	}
	md := r.markdown
	if m.Gang {
		md = r.markdownGang
	}
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(md(m)), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "bench.txt"), []byte(r.benchstatInput()), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "throughput.svg"), []byte(r.svg(m)), 0o644)
}

// benchstatInput renders the runs in Go benchmark format, one line per run,
// so `benchstat -col /profile bench/results/bench.txt` compares the profiles.
func (r *Results) benchstatInput() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "goos: linux\ngoarch: %s\npkg: github.com/ml-scheduler/ml-scheduler/bench\ncpu: %s\n", runtime.GOARCH, r.Machine.CPUModel)
	for _, run := range r.Runs {
		if run.Error != "" {
			continue
		}
		if run.Groups > 0 {
			fmt.Fprintf(&sb, "BenchmarkGangScheduling/scenario=%s/nodes=%d/profile=%s-%d 1 %.3f groups/s %.2f pods/s %.2f group-attempt-p50-ms %.2f group-attempt-p99-ms %.3f sched-cpu-ms/pod %.3f process-cpu-ms/pod\n",
				run.Scenario, run.Nodes, run.Profile, r.Machine.CPUs, run.GroupsPerSecond, run.Throughput.Average,
				run.GroupAttemptP50, run.GroupAttemptP99, run.SchedCPUPerPod, run.ProcessCPUPerPod)
			continue
		}
		fmt.Fprintf(&sb, "BenchmarkSchedulingThroughput/scenario=%s/nodes=%d/profile=%s-%d 1 %.2f pods/s %.2f p50-pods/s %.2f p99-pods/s %.3f algorithm-p50-ms %.3f algorithm-p99-ms %.3f attempt-p50-ms %.3f attempt-p99-ms %.1f sli-p50-ms %.1f sli-p99-ms %.3f sched-cpu-ms/pod %.3f process-cpu-ms/pod\n",
			run.Scenario, run.Nodes, run.Profile, r.Machine.CPUs, run.Throughput.Average, run.Throughput.Perc50, run.Throughput.Perc99,
			run.AlgorithmP50, run.AlgorithmP99, run.AttemptP50, run.AttemptP99, run.SLIP50, run.SLIP99, run.SchedCPUPerPod, run.ProcessCPUPerPod)
	}
	return sb.String()
}
