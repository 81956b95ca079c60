package main

import (
	"fmt"
	"strings"
)

func (r *Results) markdown(m *Matrix) string {
	r.summarize(m)
	var sb strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	failed := 0
	for _, run := range r.Runs {
		if run.Error != "" {
			failed++
		}
	}
	w("## Scheduling throughput (%s run)\n\n", r.Mode)
	w("Machine: %s. %s to %s, %d run(s), %d failed; medians over %d repetition(s), profiles interleaved.\n\n",
		r.Machine.Summary(), r.Started.Format("2006-01-02 15:04"), r.Finished.Format("15:04 MST"), len(r.Runs), failed, r.Reps)
	writeLegend(w, m.allProfiles(), m.Scenarios)

	w("### Throughput, pods/s (median of the per-run averages; min-max in brackets)\n\n")
	w("| scenario | nodes | pods |")
	for _, p := range m.Profiles {
		w(" %s %s |", p.Label, p.Name)
	}
	w(" b/a | b/c | b/d |\n|---|---:|---:|")
	for range m.Profiles {
		w("---:|")
	}
	w("---:|---:|---:|\n")
	for _, sc := range m.Scenarios {
		for _, n := range m.Sizes {
			w("| %s | %d | %d |", sc, n, m.Pods[n])
			for _, p := range m.Profiles {
				if md, ok := r.median(m, sc, n, p.Name); ok {
					w(" %.0f [%.0f-%.0f] |", md.Throughput.Average, md.Min, md.Max)
				} else {
					w(" - |")
				}
			}
			for _, den := range []string{"default", "affinity", "bindonly"} {
				if rt, ok := r.ratio(m, sc, n, "ml10", den); ok {
					w(" **%.2f** [%.2f-%.2f] |", rt.Value, rt.PairedMin, rt.PairedMax)
				} else {
					w(" - |")
				}
			}
			w("\n")
		}
	}
	w("\nRatios: median over median; in brackets the range of the same ratio within each repetition (paired runs).\n\n")

	if len(m.Extra) > 0 {
		w("### Rule count at %d nodes, pods/s\n\n| scenario | ml1 (1 rule) | ml10 (10 rules) | ml100 (100 rules) | ml1/ml10 | ml100/ml10 |\n|---|---:|---:|---:|---:|---:|\n", m.ExtraSize)
		for _, sc := range m.Scenarios {
			w("| %s |", sc)
			for _, p := range []string{"ml1", "ml10", "ml100"} {
				if md, ok := r.median(m, sc, m.ExtraSize, p); ok {
					w(" %.0f [%.0f-%.0f] |", md.Throughput.Average, md.Min, md.Max)
				} else {
					w(" - |")
				}
			}
			for _, p := range []string{"ml1", "ml100"} {
				if rt, ok := r.ratio(m, sc, m.ExtraSize, p, "ml10"); ok {
					w(" %.2f |", rt.Value)
				} else {
					w(" - |")
				}
			}
			w("\n")
		}
		w("\n")
	}

	if md, ok := r.median(m, m.Scenarios[0], m.ExtraSize, "ml10event"); ok && md.N > 0 {
		w("### The per-pod placement Event (MLPolicy placementEvents) at %d nodes, pods/s\n\n| scenario | (a) default | (b) ml10 | (b') ml10 with the Event | b'/a | b'/b |\n|---|---:|---:|---:|---:|---:|\n", m.ExtraSize)
		for _, sc := range m.Scenarios {
			w("| %s |", sc)
			for _, p := range []string{"default", "ml10", "ml10event"} {
				if md, ok := r.median(m, sc, m.ExtraSize, p); ok {
					w(" %.0f [%.0f-%.0f] |", md.Throughput.Average, md.Min, md.Max)
				} else {
					w(" - |")
				}
			}
			for _, pr := range [][2]string{{"ml10event", "default"}, {"ml10event", "ml10"}} {
				if rt, ok := r.ratio(m, sc, m.ExtraSize, pr[0], pr[1]); ok {
					w(" %.2f [%.2f-%.2f] |", rt.Value, rt.PairedMin, rt.PairedMax)
				} else {
					w(" - |")
				}
			}
			w("\n")
		}
		w("\n")
	}

	w("### Throughput percentiles, latency and CPU (medians)\n\n")
	w("| scenario | nodes | profile | pods/s avg | p50 | p90 | p99 | algorithm p50 ms | p99 ms | attempt p50 ms | attempt p99 ms | queue+sched p50 ms | p99 ms | sched CPU ms/pod | MLPolicy CPU ms/pod | process CPU ms/pod |\n")
	w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, md := range r.Medians {
		alg := "- | -"
		if md.AlgorithmP50 > 0 {
			alg = fmt.Sprintf("%.2f | %.2f", md.AlgorithmP50, md.AlgorithmP99)
		}
		w("| %s | %d | %s | %.0f | %.0f | %.0f | %.0f | %s | %.2f | %.2f | %.0f | %.0f | %.3f | %.3f | %.2f |\n", md.Scenario, md.Nodes, md.Profile,
			md.Throughput.Average, md.Throughput.Perc50, md.Throughput.Perc90, md.Throughput.Perc99, alg,
			md.AttemptP50, md.AttemptP99, md.SLIP50, md.SLIP99, md.SchedCPUPerPod, md.PluginCPUPerPod, md.ProcessCPUPerPod)
	}
	w("\nThroughput percentiles are over one-second samples (scheduler_perf); a 2000-pod run has 4 to 20 of them, so p99 is close to the max. " +
		"Algorithm latency: scheduler_scheduling_algorithm_duration_seconds (filters and scores of one pod; `-` for runs made before it was collected). " +
		"Attempt latency: scheduler_scheduling_attempt_duration_seconds, result=scheduled (algorithm + binding, i.e. it includes the bind API call and grows when the scheduler outruns the apiserver). " +
		"Queue+sched: scheduler_pod_scheduling_sli_duration_seconds (from entering the queue; pods are created in a burst, so it is mostly queue wait). " +
		"CPU per pod: from a CPU profile of the measured phase; `sched` counts samples with a k8s.io/kubernetes/pkg/scheduler or ml-scheduler frame " +
		"(not GC or the shared informers' decoding), `process` is the whole test process (kube-apiserver, scheduler, clients, GC; etcd runs as a separate process and is not counted).\n")
	for _, run := range r.Runs {
		if run.Error != "" {
			first := strings.SplitN(run.Error, "\n", 2)[0]
			w("\nFailed: rep %d %s %d nodes %s: %s\n", run.Rep+1, run.Scenario, run.Nodes, run.Profile, first)
		}
	}
	return sb.String()
}

// writeLegend writes the report's "Profiles: ..." and "Scenarios: ..." lines.
func writeLegend(w func(string, ...any), profiles []Profile, scenarios []string) {
	w("Profiles: ")
	for i, p := range profiles {
		if i > 0 {
			w("; ")
		}
		w("%s `%s` %s", p.Label, p.Name, p.Doc)
	}
	w(".\n\nScenarios: ")
	for i, sc := range scenarios {
		if i > 0 {
			w("; ")
		}
		w("`%s` %s", sc, scenarioDoc[sc])
	}
	w(".\n\n")
}
