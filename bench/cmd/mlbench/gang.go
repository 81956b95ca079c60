package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// The gang workload (mode gang, make bench-gang): pod groups per second,
// ml-scheduler's profile against the stock default profile, both with the
// GenericWorkload and TopologyAwareWorkloadScheduling gates on. It is built
// on upstream's scheduler_perf podgroup suites (podgroup/gangscheduling and
// podgroup/tas): nodes, then the PodGroups (createPodGroups, which waits
// until the scheduler's informer has them), then the measured pods in one
// burst, each naming its group in spec.schedulingGroup.

// gangPodsPerCycle pods fill gangGroupsPerCycle groups (minCount 4..8, see
// workloads/podgroups/gang.yaml and workloads/pods/gang-worker.yaml).
const (
	gangPodsPerCycle   = 30
	gangGroupsPerCycle = 5
)

// gangGroups is the number of pod groups a gang run of pods creates.
func gangGroups(pods int) int { return pods / gangPodsPerCycle * gangGroupsPerCycle }

var (
	// The stock profile always gets the topology in the PodGroup: without
	// ml-scheduler that is the only way to keep a gang within a rack, as
	// profile (c) writes the policy into nodeAffinity.
	profGangDefault = Profile{Name: "default", Label: "(a)", Config: "workloads/schedulers/default.yaml",
		Constraints: func(string) string { return "rack" },
		Doc:         "default profile (GangScheduling, TopologyPlacementGenerator, PodGroupPodsCount), the PodGroups state the rack constraint in both scenarios"}
	profGangML = Profile{Name: "ml10", Label: "(b)", Config: "workloads/schedulers/ml-10-gang.yaml",
		Constraints: func(scenario string) string {
			if scenario == "policy" {
				return "none"
			}
			return "rack"
		},
		Doc: "ml-scheduler as shipped (MLPolicy generates and scores the placements in place of TopologyPlacementGenerator), 10-rule gang policy (policy-gang.yaml)"}
)

func init() {
	scenarioDoc["rack"] = "every PodGroup states schedulingConstraints.topology on topology.kubernetes.io/rack, for both profiles"
	scenarioDoc["policy"] = "ml10's PodGroups state no topology, its policy rule (gang.topologyKey: topology.kubernetes.io/rack) keeps each gang within a rack; " +
		"(a)'s PodGroups state the rack constraint (what users write without ml-scheduler), so both must place every gang within one rack"
}

// gangConfigTemplate is the scheduler_perf config of one gang cell.
const gangConfigTemplate = `- name: profile=%[1]s
  schedulerConfigPath: %[2]s
  featureGates:
    GenericWorkload: true
    TopologyAwareWorkloadScheduling: true
  metricsCollectorConfig:
    metrics:
      scheduler_scheduling_attempt_duration_seconds:
      - label: result
        values: [scheduled]
      scheduler_pod_scheduling_sli_duration_seconds:
      scheduler_scheduling_algorithm_duration_seconds:
      scheduler_podgroup_scheduling_attempt_duration_seconds:
      - label: result
        values: [scheduled]
      scheduler_podgroup_scheduling_algorithm_duration_seconds:
  workloadTemplate:
  - opcode: createNodes
    countParam: $nodes
    nodeTemplatePath: workloads/nodes/gang-cluster.yaml
  - opcode: createPodGroups
    countParam: $groups
    namespace: training
    templatePath: workloads/podgroups/gang.yaml
    templateParams: {topology: %[3]s}
  - opcode: createPods
    countParam: $pods
    namespace: training
    podTemplatePath: workloads/pods/gang-worker.yaml
    collectMetrics: true
  workloads:
  - name: nodes=%[4]d
    labels: [mlbench]
    params: {nodes: %[4]d, groups: %[5]d, pods: %[6]d}
`

func gangConfig(c Cell) string {
	return fmt.Sprintf(gangConfigTemplate, c.Profile.Name, c.Profile.Config, c.Profile.Constraints(c.Scenario), c.Nodes, gangGroups(c.Pods), c.Pods)
}

// gangMatrix: 500 nodes with 2100 pods in 350 groups and 5000 nodes with
// 600 pods in 100 groups (a group cycle simulates the gang in each of the
// 313 racks there: about 0.7 s per group on 2 busy cores, so 100 groups
// already give over a minute of samples), both scenarios, (a) and (b)
// interleaved, three repetitions: about 50 minutes on 2 shared cores.
func gangMatrix() *Matrix {
	return &Matrix{Gang: true, Reps: 3, Sizes: []int{500, 5000}, Pods: map[int]int{500: 2100, 5000: 600},
		Scenarios: []string{"rack", "policy"},
		Profiles:  []Profile{profGangDefault, profGangML}}
}

// groupsPerSecond converts a pods/s figure of a gang run into pod groups/s.
func groupsPerSecond(podsPerSecond float64, pods int) float64 {
	if pods == 0 {
		return 0
	}
	return podsPerSecond * float64(gangGroups(pods)) / float64(pods)
}

func readLoad1() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func (r *Results) markdownGang(m *Matrix) string {
	r.summarize(m)
	var sb strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	failed := 0
	var loads []float64
	for _, run := range r.Runs {
		if run.Error != "" {
			failed++
		}
		if run.Load1 > 0 {
			loads = append(loads, run.Load1)
		}
	}
	w("## Gang scheduling throughput (%s run)\n\n", r.Mode)
	w("Machine: %s. %s to %s, %d run(s), %d failed; medians over %d repetition(s), profiles interleaved.", r.Machine.Summary(),
		r.Started.Format("2006-01-02 15:04"), r.Finished.Format("15:04 MST"), len(r.Runs), failed, r.Reps)
	if len(loads) > 0 {
		lo, hi := loads[0], loads[0]
		for _, l := range loads {
			lo, hi = min(lo, l), max(hi, l)
		}
		w(" Load average (1 min) when each run started, after taking the lock: %.1f-%.1f.", lo, hi)
	}
	w("\n\nFeature gates GenericWorkload and TopologyAwareWorkloadScheduling on for both profiles. " +
		"Cluster: `workloads/nodes/gang-cluster.yaml` (8-GPU nodes, racks of 16). " +
		"PodGroups: `workloads/podgroups/gang.yaml`, gang minCount 4, 5, 6, 7, 8 in turn (6 pods per group on average); " +
		"pods: `workloads/pods/gang-worker.yaml` (1 GPU, 8 CPUs, 64Gi, spec.schedulingGroup), created in one burst after the PodGroups.\n\n")
	writeLegend(w, m.Profiles, m.Scenarios)

	w("### Pod groups/s (median of the per-run averages; min-max in brackets)\n\n")
	w("| scenario | nodes | groups | pods |")
	for _, p := range m.Profiles {
		w(" %s %s |", p.Label, p.Name)
	}
	w(" b/a |\n|---|---:|---:|---:|")
	for range m.Profiles {
		w("---:|")
	}
	w("---:|\n")
	for _, sc := range m.Scenarios {
		for _, n := range m.Sizes {
			pods := m.Pods[n]
			w("| %s | %d | %d | %d |", sc, n, gangGroups(pods), pods)
			for _, p := range m.Profiles {
				if md, ok := r.median(m, sc, n, p.Name); ok {
					w(" %.1f [%.1f-%.1f] |", groupsPerSecond(md.Throughput.Average, pods), groupsPerSecond(md.Min, pods), groupsPerSecond(md.Max, pods))
				} else {
					w(" - |")
				}
			}
			if rt, ok := r.ratio(m, sc, n, "ml10", "default"); ok {
				w(" **%.2f** [%.2f-%.2f] |", rt.Value, rt.PairedMin, rt.PairedMax)
			} else {
				w(" - |")
			}
			w("\n")
		}
	}
	w("\nPod groups/s = scheduler_perf's SchedulingThroughput (pods/s over one-second samples, averaged) x groups / pods (scheduler_perf has no pod-group throughput of its own); " +
		"both profiles schedule the same pods, so b/a is the same in pods/s. Ratios: median over median; in brackets the range of the same ratio within each repetition (paired runs). Target b/a >= 0.9.\n\n")

	w("### Pods/s, latency and CPU (medians)\n\n")
	w("| scenario | nodes | profile | pods/s avg | p50 | p99 | group attempt p50 ms | p99 ms | group algorithm p50 ms | p99 ms | pod queue+sched p50 ms | p99 ms | sched CPU ms/pod | MLPolicy CPU ms/pod | process CPU ms/pod |\n")
	w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, md := range r.Medians {
		w("| %s | %d | %s | %.0f | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.0f | %.0f | %.3f | %.3f | %.2f |\n", md.Scenario, md.Nodes, md.Profile,
			md.Throughput.Average, md.Throughput.Perc50, md.Throughput.Perc99, md.GroupAttemptP50, md.GroupAttemptP99, md.GroupAlgorithmP50, md.GroupAlgorithmP99,
			md.SLIP50, md.SLIP99, md.SchedCPUPerPod, md.PluginCPUPerPod, md.ProcessCPUPerPod)
	}
	w("\nGroup attempt: scheduler_podgroup_scheduling_attempt_duration_seconds, result=scheduled (one pod-group cycle: placements generated, every pod simulated in every placement, the best placement chosen, its pods assumed). " +
		"Group algorithm: scheduler_podgroup_scheduling_algorithm_duration_seconds (the simulation part). " +
		"Queue+sched: scheduler_pod_scheduling_sli_duration_seconds per pod (pods arrive in a burst, so mostly queue wait). " +
		"CPU per pod as in the main benchmark (CPU profile of the measured phase; `sched`: samples with a k8s.io/kubernetes/pkg/scheduler or ml-scheduler frame; `process`: the whole test process, not etcd).\n\n")

	w("### Every run\n\n| rep | scenario | nodes | profile | pods/s | groups/s | load avg | wall s |\n|---:|---|---:|---|---:|---:|---:|---:|\n")
	for _, run := range r.Runs {
		if run.Error != "" {
			continue
		}
		w("| %d | %s | %d | %s | %.1f | %.1f | %.1f | %.0f |\n", run.Rep+1, run.Scenario, run.Nodes, run.Profile, run.Throughput.Average,
			groupsPerSecond(run.Throughput.Average, run.Pods), run.Load1, run.Wall)
	}
	for _, run := range r.Runs {
		if run.Error != "" {
			first := strings.SplitN(run.Error, "\n", 2)[0]
			w("\nFailed: rep %d %s %d nodes %s: %s\n", run.Rep+1, run.Scenario, run.Nodes, run.Profile, first)
		}
	}
	return sb.String()
}
