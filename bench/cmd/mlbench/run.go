package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/pprof/profile"
)

// Stats are scheduler_perf's SchedulingThroughput buckets (pods/s over
// one-second samples).
type Stats struct {
	Average, Perc50, Perc90, Perc95, Perc99 float64
}

// Run is the outcome of one cell.
type Run struct {
	Scenario string `json:"scenario"`
	Nodes    int    `json:"nodes"`
	Pods     int    `json:"pods"`
	Profile  string `json:"profile"`
	Rep      int    `json:"rep"`

	Throughput Stats `json:"throughputPodsPerSecond"`
	// Scheduling algorithm latency (scheduler_scheduling_algorithm_duration_seconds):
	// filters and scores of one pod, ms. Not recorded by runs before it was added.
	AlgorithmP50 float64 `json:"algorithmLatencyP50Ms,omitempty"`
	AlgorithmP99 float64 `json:"algorithmLatencyP99Ms,omitempty"`
	// Scheduling attempt latency (scheduler_scheduling_attempt_duration_seconds,
	// result=scheduled): scheduling algorithm + binding (an API call), ms.
	AttemptP50 float64 `json:"attemptLatencyP50Ms"`
	AttemptP99 float64 `json:"attemptLatencyP99Ms"`
	// Pod scheduling SLI latency (scheduler_pod_scheduling_sli_duration_seconds):
	// from the pod entering the queue to its scheduling, queue wait included, ms.
	SLIP50 float64 `json:"sliLatencyP50Ms"`
	SLIP99 float64 `json:"sliLatencyP99Ms"`
	// Duration of the measured phase (pod creation to the last pod scheduled), s.
	Duration float64 `json:"durationSeconds"`
	// Gang runs: the pod groups the pods belong to, the pod groups/s derived
	// from the pods/s average, and the pod-group cycle latencies (ms):
	// scheduler_podgroup_scheduling_attempt_duration_seconds (result=scheduled)
	// and scheduler_podgroup_scheduling_algorithm_duration_seconds.
	Groups            int     `json:"podGroups,omitempty"`
	GroupsPerSecond   float64 `json:"podGroupsPerSecond,omitempty"`
	GroupAttemptP50   float64 `json:"podGroupAttemptLatencyP50Ms,omitempty"`
	GroupAttemptP99   float64 `json:"podGroupAttemptLatencyP99Ms,omitempty"`
	GroupAlgorithmP50 float64 `json:"podGroupAlgorithmLatencyP50Ms,omitempty"`
	GroupAlgorithmP99 float64 `json:"podGroupAlgorithmLatencyP99Ms,omitempty"`
	// Load1 is the machine's 1-minute load average when the run started
	// (after taking the lock): how busy the shared machine was.
	Load1 float64 `json:"loadAvg1,omitempty"`
	// CPU time per scheduled pod from the CPU profile of the measured phase:
	// the whole test process (kube-apiserver, scheduler, clients, GC; not etcd) and the
	// samples with a scheduler frame (k8s.io/kubernetes/pkg/scheduler or ours).
	ProcessCPUPerPod float64 `json:"processCPUMsPerPod"`
	SchedCPUPerPod   float64 `json:"schedulerCPUMsPerPod"`
	PluginCPUPerPod  float64 `json:"mlpolicyCPUMsPerPod"`
	Wall             float64 `json:"wallSeconds"`
	Error            string  `json:"error,omitempty"`
}

type runner struct {
	bin, out, lock string
	binDir         string // etcd and the other control-plane binaries
	timeout        time.Duration
	matrix         *Matrix
	keepProfiles   bool // keep the first repetition's CPU profile of every size, not only of 5000 nodes
}

// config is the scheduler_perf config of one cell: one test case, one workload.
const configTemplate = `- name: profile=%[1]s
  schedulerConfigPath: %[2]s
  metricsCollectorConfig:
    metrics:
      scheduler_scheduling_attempt_duration_seconds:
      - label: result
        values: [scheduled]
      scheduler_pod_scheduling_sli_duration_seconds:
      scheduler_scheduling_algorithm_duration_seconds:
  workloadTemplate:
  - opcode: createNodes
    countParam: $nodes
    nodeTemplatePath: workloads/nodes/gpu-cluster.yaml
  - opcode: createPods
    countParam: $pods
    namespace: %[3]s
    podTemplatePath: workloads/pods/ml-mix.yaml
    templateParams: {constraints: %[4]s}
    collectMetrics: true
  workloads:
  - name: nodes=%[5]d
    labels: [mlbench]
    params: {nodes: %[5]d, pods: %[6]d}
`

func namespaceOf(scenario string) string {
	if scenario == "confined" {
		return "research"
	}
	return "shared"
}

func (r *runner) run(c Cell) Run {
	res := Run{Scenario: c.Scenario, Nodes: c.Nodes, Pods: c.Pods, Profile: c.Profile.Name, Rep: c.Rep}
	tmp, err := os.MkdirTemp("", "mlbench-")
	if err != nil {
		res.Error = err.Error()
		return res
	}
	defer os.RemoveAll(tmp)
	cfg := filepath.Join(tmp, "config.yaml")
	body := fmt.Sprintf(configTemplate, c.Profile.Name, c.Profile.Config, namespaceOf(c.Scenario), c.Profile.Constraints(c.Scenario), c.Nodes, c.Pods)
	if r.matrix.Gang {
		res.Groups = gangGroups(c.Pods)
		body = gangConfig(c)
	}
	if r.matrix.DRA {
		body = draConfig(c)
	}
	if err := os.WriteFile(cfg, []byte(body), 0o644); err != nil {
		res.Error = err.Error()
		return res
	}
	data := filepath.Join(tmp, "data")

	unlock, err := r.takeLock()
	if err != nil {
		res.Error = err.Error()
		return res
	}
	res.Load1 = readLoad1()
	ctx, cancel := context.WithTimeout(context.Background(), r.timeout)
	cmd := exec.CommandContext(ctx, r.bin, "-test.run", "^$", "-test.bench", "^BenchmarkPerfScheduling$",
		"-test.benchtime", "1x", "-test.timeout", "0", "-perf-scheduling-label-filter", "mlbench",
		"-data-items-dir", data, "-perf-cpuprofile")
	cmd.Env = append(os.Environ(),
		"MLBENCH_CONFIG="+cfg,
		"PATH="+r.binDir+string(os.PathListSeparator)+os.Getenv("PATH"),
		"KUBE_CACHE_MUTATION_DETECTOR=false",
		"ARTIFACTS="+tmp, // per-test log files, removed when the run passes
	)
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	start := time.Now()
	err = cmd.Run()
	res.Wall = time.Since(start).Seconds()
	cancel()
	unlock()
	if err != nil {
		res.Error = fmt.Sprintf("%v; last output:\n%s", err, tail(output.String(), 30))
		return res
	}
	if err := res.parseDataItems(data); err != nil {
		res.Error = err.Error() + "; last output:\n" + tail(output.String(), 30)
		return res
	}
	profs, _ := filepath.Glob(filepath.Join(data, "*-cpu.prof"))
	if len(profs) == 1 {
		if err := res.parseProfile(profs[0]); err != nil {
			res.Error = err.Error()
		}
		// Keep the first repetition's profiles of the largest clusters.
		if c.Rep == 0 && (c.Nodes >= 5000 || r.keepProfiles) {
			dst := filepath.Join(r.out, "profiles", fmt.Sprintf("%s-%d-%s.cpu.prof", c.Scenario, c.Nodes, c.Profile.Name))
			if b, err := os.ReadFile(profs[0]); err == nil {
				_ = os.WriteFile(dst, b, 0o644)
			}
		}
	}
	return res
}

// takeLock holds the shared heavy-work lock for the duration of one run.
func (r *runner) takeLock() (func(), error) {
	if r.lock == "" {
		return func() {}, nil
	}
	f, err := os.OpenFile(r.lock, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

type dataItems struct {
	DataItems []struct {
		Data   map[string]float64 `json:"data"`
		Labels map[string]string  `json:"labels"`
	} `json:"dataItems"`
}

func (res *Run) parseDataItems(dir string) error {
	files, _ := filepath.Glob(filepath.Join(dir, "BenchmarkPerfScheduling_benchmark_*.json"))
	if len(files) != 1 {
		return fmt.Errorf("want one data items file in %s, found %d", dir, len(files))
	}
	b, err := os.ReadFile(files[0])
	if err != nil {
		return err
	}
	var items dataItems
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	found := false
	for _, it := range items.DataItems {
		d := it.Data
		switch it.Labels["Metric"] {
		case "SchedulingThroughput":
			res.Throughput = Stats{d["Average"], d["Perc50"], d["Perc90"], d["Perc95"], d["Perc99"]}
			found = true
		case "scheduler_scheduling_attempt_duration_seconds":
			res.AttemptP50, res.AttemptP99 = d["Perc50"], d["Perc99"]
		case "scheduler_scheduling_algorithm_duration_seconds":
			res.AlgorithmP50, res.AlgorithmP99 = d["Perc50"], d["Perc99"]
		case "scheduler_pod_scheduling_sli_duration_seconds":
			res.SLIP50, res.SLIP99 = d["Perc50"], d["Perc99"]
		case "SchedulingDuration":
			res.Duration = d["Duration"]
		case "scheduler_podgroup_scheduling_attempt_duration_seconds":
			res.GroupAttemptP50, res.GroupAttemptP99 = d["Perc50"], d["Perc99"]
		case "scheduler_podgroup_scheduling_algorithm_duration_seconds":
			res.GroupAlgorithmP50, res.GroupAlgorithmP99 = d["Perc50"], d["Perc99"]
		}
	}
	if !found {
		return fmt.Errorf("no SchedulingThroughput in %s (scheduling ended within a second?)", files[0])
	}
	if res.Groups > 0 {
		res.GroupsPerSecond = groupsPerSecond(res.Throughput.Average, res.Pods)
	}
	return nil
}

// Frames of the scheduler: upstream's scheduler packages and ours.
var schedulerPrefixes = []string{"k8s.io/kubernetes/pkg/scheduler", "github.com/ml-scheduler/ml-scheduler/pkg/"}

func (res *Run) parseProfile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	p, err := profile.Parse(f)
	if err != nil {
		return err
	}
	vi := len(p.SampleType) - 1 // cpu nanoseconds
	var total, sched, plugin int64
	for _, s := range p.Sample {
		v := s.Value[vi]
		total += v
		inSched, inPlugin := false, false
		for _, loc := range s.Location {
			for _, ln := range loc.Line {
				if ln.Function == nil {
					continue
				}
				name := ln.Function.Name
				for _, pre := range schedulerPrefixes {
					if strings.HasPrefix(name, pre) {
						inSched = true
					}
				}
				if strings.HasPrefix(name, "github.com/ml-scheduler/ml-scheduler/pkg/") {
					inPlugin = true
				}
			}
		}
		if inSched {
			sched += v
		}
		if inPlugin {
			plugin += v
		}
	}
	pods := float64(res.Pods)
	res.ProcessCPUPerPod = float64(total) / 1e6 / pods
	res.SchedCPUPerPod = float64(sched) / 1e6 / pods
	res.PluginCPUPerPod = float64(plugin) / 1e6 / pods
	return nil
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
