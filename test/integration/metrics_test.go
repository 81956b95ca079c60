package integration

import (
	"bufio"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/grafana"
)

// series names one counter sample of the scheduler's /metrics.
type series struct {
	name   string
	labels map[string]string
}

func (s series) String() string {
	var kv []string
	for k, v := range s.labels {
		kv = append(kv, fmt.Sprintf("%s=%q", k, v))
	}
	return s.name + "{" + strings.Join(kv, ",") + "}"
}

// counters reads each series from one scrape (absent: 0).
func counters(t *testing.T, text string, ss []series) []float64 {
	t.Helper()
	out := make([]float64, len(ss))
	for i, s := range ss {
		v, _, err := cluster.SampleValue(text, s.name, s.labels)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = v
	}
	return out
}

// families returns the metric families of a scrape by type (# TYPE lines).
func families(text string) (known, histograms map[string]bool) {
	known, histograms = map[string]bool{}, map[string]bool{}
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			known[f[2]] = true
			if f[3] == "histogram" {
				histograms[f[2]] = true
			}
		}
	}
	return known, histograms
}

// TestPlacementMetrics: the real scheduler's /metrics count pods placed per
// rule and a policy refusal once per attempt under its rule and reason, in
// step with kube-scheduler's own attempt counter; the shipped Grafana
// dashboard queries only metrics this scrape has.
func TestPlacementMetrics(t *testing.T) {
	const nsA, nsB = "it-pmetrics-a", "it-pmetrics-b"
	tc := newCase(t, "pmetrics", nsA, nsB)
	tc.nodes(
		cpuNode("pmetrics-train", "16", "64Gi", map[string]string{"example.com/pool": "pm-train"}),
		cpuNode("pmetrics-serve", "16", "64Gi", map[string]string{"example.com/pool": "pm-serve"}),
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: pm-train, nodeSelector: {matchLabels: {example.com/pool: pm-train}}}
- {name: pm-serve, nodeSelector: {matchLabels: {example.com/pool: pm-serve}}}
rules:
- name: pm-nowhere          # a GPU model no node has: refused by the policy
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: pm-nowhere}}}
  gpuModels: [NVIDIA-PMETRICS-NONE]
- name: pm-training
  match: {namespaces: [it-pmetrics-a]}
  pools: [pm-train]
- name: pm-serving
  match: {namespaces: [it-pmetrics-b]}
  pools: [pm-serve]
`)
	scrape := func() string {
		t.Helper()
		text, err := tc.s.Metrics(tc.ctx)
		if err != nil {
			t.Fatalf("scraping %s: %v", tc.s.URL("/metrics"), err)
		}
		return text
	}
	placed := func(rule string) series {
		return series{"ml_scheduler_pods_placed_total", map[string]string{"rule": rule}}
	}
	attempts := func(result string) series {
		return series{"scheduler_schedule_attempts_total", map[string]string{"profile": "ml-scheduler", "result": result}}
	}
	watched := []series{placed("pm-training"), placed("pm-serving"), placed("pm-nowhere"),
		{"ml_scheduler_pod_rejections_total", map[string]string{"reason": "gpu_model", "rule": "pm-nowhere"}},
		attempts("scheduled"), attempts("unschedulable")}
	want := []float64{2, 1, 0, 1, 3, 1}
	// Every reason of the refused pod's rule, and every rule of this policy
	// under any reason: only gpu_model of pm-nowhere may move.
	var otherRejections []series
	for _, rule := range []string{"pm-nowhere", "pm-training", "pm-serving", "default"} {
		for _, reason := range []string{"not_in_pool", "gpu_model", "no_gpu", "reserved_for_gpu", "owned_pool", "would_strand", "no_policy", "gang", "other"} {
			if rule != "pm-nowhere" || reason != "gpu_model" {
				otherRejections = append(otherRejections, series{"ml_scheduler_pod_rejections_total", map[string]string{"reason": reason, "rule": rule}})
			}
		}
	}
	text := scrape()
	before, otherBefore := counters(t, text, watched), counters(t, text, otherRejections)

	tc.place(cluster.PodSpec{Name: "train-1", Namespace: nsA, CPU: "1"}, "pm-training", "pmetrics-train")
	tc.place(cluster.PodSpec{Name: "train-2", Namespace: nsA, CPU: "1"}, "pm-training", "pmetrics-train")
	tc.place(cluster.PodSpec{Name: "serve-1", Namespace: nsB, CPU: "1"}, "pm-serving", "pmetrics-serve")
	tc.pod(cluster.PodSpec{Name: "nowhere", Namespace: nsB, CPU: "1", Labels: map[string]string{workloadLabel: "pm-nowhere"}})
	tc.pending(nsB, "nowhere", "rule pm-nowhere", "lack GPU model NVIDIA-PMETRICS-NONE")

	// PostBind and the attempt counters run after the binding the test
	// saw: wait until the counters reach their deltas, then check a second
	// later that they stayed there (exactly, not at least).
	deltas := func() []float64 {
		now := counters(t, scrape(), watched)
		for i := range now {
			now[i] -= before[i]
		}
		return now
	}
	var got []float64
	equal := func() bool {
		got = deltas()
		for i := range want {
			if got[i] != want[i] {
				return false
			}
		}
		return true
	}
	if err := wait.PollUntilContextTimeout(tc.ctx, 200*time.Millisecond, 15*time.Second, true, func(context.Context) (bool, error) {
		return equal(), nil
	}); err != nil {
		for i, s := range watched {
			t.Errorf("%s moved by %v, want %v", s, got[i], want[i])
		}
		t.FailNow()
	}
	time.Sleep(time.Second)
	if !equal() {
		for i, s := range watched {
			t.Errorf("%s moved by %v a second later, want %v", s, got[i], want[i])
		}
	}
	text = scrape()
	for i, v := range counters(t, text, otherRejections) {
		if v != otherBefore[i] {
			t.Errorf("%s moved by %v, want 0", otherRejections[i], v-otherBefore[i])
		}
	}

	d, err := grafana.Load("../../manifests/grafana/ml-scheduler-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	known, histograms := families(text)
	for _, u := range d.Unknown(known, histograms) {
		t.Errorf("against the live /metrics: %s", u)
	}
	if t.Failed() {
		return
	}
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, "ml_scheduler_pod") && (strings.HasPrefix(l, "#") || strings.Contains(l, "pm-")) {
			t.Logf("  %s", l)
		}
	}
	t.Logf("PROVED: /metrics of the real scheduler moved by exactly ml_scheduler_pods_placed_total{rule=pm-training} +2, {rule=pm-serving} +1, ml_scheduler_pod_rejections_total{reason=gpu_model,rule=pm-nowhere} +1 (one refused attempt over every node, counted once) and no other reason or rule, in step with scheduler_schedule_attempts_total{profile=ml-scheduler} scheduled +3, unschedulable +1; all %d queries of the Grafana dashboard name metrics this scrape has", len(d.Queries()))
}
