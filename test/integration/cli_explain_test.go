package integration

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/explain"
)

const explainPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: research, nodeSelector: {matchLabels: {example.com/pool: explain-research}}}
- {name: other, nodeSelector: {matchLabels: {example.com/pool: explain-other}}}
rules:
- name: research-training
  match: {namespaces: [it-explain]}
  pools: [research]
  gpuPacking: BinPack
default: {pools: [other]}
`

// TestCLIExplain: kubectl mlsched explain pod on a pod the real scheduler
// placed and on one it left pending, checked against what the scheduler did.
func TestCLIExplain(t *testing.T) {
	const ns = "it-explain"
	tc := newCase(t, "cli-explain", ns)
	research := map[string]string{"example.com/pool": "explain-research"}
	tc.nodes(
		gpuNode("explain-gpu-a", "Tesla-T4", 4, research),
		gpuNode("explain-gpu-b", "Tesla-T4", 2, research),
		gpuNode("explain-other", "Tesla-T4", 8, map[string]string{"example.com/pool": "explain-other"}),
		cpuNode("explain-cpu", "32", "128Gi", research),
	)
	hash := tc.policy(explainPolicy)
	// BinPack: the 2-GPU pod fills explain-gpu-b rather than half of explain-gpu-a.
	node := tc.place(cluster.PodSpec{Name: "placed", Namespace: ns, CPU: "4", GPUs: 2}, "research-training", "explain-gpu-b")
	// More GPUs and CPU than any node of the pool has.
	tc.pod(cluster.PodSpec{Name: "pending", Namespace: ns, CPU: "40", GPUs: 6})
	condition := tc.pending(ns, "pending", "research-training")
	config := filepath.Join("..", "..", "manifests", "base", "scheduler-config.yaml")

	t.Run("placed", func(t *testing.T) {
		text := runCLI(t, "explain", "pod", "placed", "-n", ns, "--config", config)
		if text.code != 0 {
			t.Fatalf("exit %d, want 0: %s", text.code, text.stderr)
		}
		for _, want := range []string{"placed on node " + node, "research-training", hash, "still the policy in force", "ranks first"} {
			if !strings.Contains(text.stdout, want) {
				t.Errorf("text output lacks %q", want)
			}
		}
		e := explainJSON(t, "placed", ns, config)
		if e.State != explain.StatePlaced || e.Node != node || e.Rule != "research-training" || e.PolicyHash != hash || e.PlacedByActivePolicy == nil || !*e.PlacedByActivePolicy {
			t.Errorf("placed pod: state %q node %q rule %q hash %q in force %v, want placed on %s by research-training of %s in force",
				e.State, e.Node, e.Rule, e.PolicyHash, e.PlacedByActivePolicy != nil && *e.PlacedByActivePolicy, node, hash)
		}
		sim := e.Simulation
		if sim.FeasibleNodes != 2 || len(sim.Candidates) != 2 {
			t.Fatalf("feasible %d, candidates %d, want 2 (the pool's GPU nodes)", sim.FeasibleNodes, len(sim.Candidates))
		}
		top := sim.Candidates[0]
		if top.Node != node || sim.PlacedRank != 1 || top.Total <= sim.Candidates[1].Total {
			t.Errorf("top candidate %s (total %d, runner-up %d), placed rank %d: want %s strictly first",
				top.Node, top.Total, sim.Candidates[1].Total, sim.PlacedRank, node)
		}
		if p := top.MLPolicy; p == nil || p.Packing != "BinPack" || p.PackingPart == nil || *p.PackingPart <= *sim.Candidates[1].MLPolicy.PackingPart {
			t.Errorf("MLPolicy parts of the top candidate %+v: want a BinPack part above the runner-up's", p)
		}
		var sum int64
		for _, s := range top.Scores {
			sum += s.Score
		}
		if sum != top.Total {
			t.Errorf("plugin scores of %s sum to %d, total says %d", top.Node, sum, top.Total)
		}
		t.Logf("PROVED: explain of a placed pod names the rule (research-training) and policy hash (%s, in force) the scheduler recorded, and its node %s is the top candidate of the re-run (BinPack part %d against %d)",
			hash, node, *top.MLPolicy.PackingPart, *sim.Candidates[1].MLPolicy.PackingPart)
	})

	t.Run("pending", func(t *testing.T) {
		text := runCLI(t, "explain", "pod", "pending", "-n", ns, "--config", config)
		if text.code != 0 {
			t.Fatalf("exit %d, want 0: %s", text.code, text.stderr)
		}
		for _, want := range []string{"pending", "rule research-training", "node explain-gpu-a lacks 2 nvidia.com/gpu and 8 cpu"} {
			if !strings.Contains(text.stdout, want) {
				t.Errorf("text output lacks %q", want)
			}
		}
		e := explainJSON(t, "pending", ns, config)
		if e.State != explain.StatePending || e.Condition != condition || e.Simulation.MatchedRule != "research-training" {
			t.Errorf("state %q, matched rule %q, condition %q: want pending, research-training, the scheduler's %q",
				e.State, e.Simulation.MatchedRule, e.Condition, condition)
		}
		nodes, err := tc.c.CoreV1().Nodes().List(tc.ctx, metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// Every node outside the pool (explain-other, and any other case's
		// node still there) is refused by the rule's pool.
		want := map[string]int{
			"node(s) not in pool research required by rule research-training": len(nodes.Items) - 3,
			"node(s) have no GPU":                           1,
			"Insufficient cpu; Insufficient nvidia.com/gpu": 2,
		}
		got := map[string]int{}
		for _, r := range e.Simulation.Reasons {
			got[r.Reason] = r.Nodes
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("reasons %v, want %v", got, want)
		}
		n := e.Simulation.Nearest
		if n == nil || n.Node != "explain-gpu-a" || fmt.Sprint(n.Lacks) != "[{nvidia.com/gpu 2} {cpu 8}]" || len(n.Other) != 0 {
			t.Errorf("nearest %+v, want explain-gpu-a lacking 2 nvidia.com/gpu and 8 cpu", n)
		}
		t.Logf("PROVED: explain of a pending pod shows the scheduler's PodScheduled message, the rule it matched, the refusals per reason in policy terms (%v), and the nearest node explain-gpu-a with what it lacks (2 GPUs, 8 CPU)", got)
	})

	t.Run("errors", func(t *testing.T) {
		r := runCLI(t, "explain", "pod", "no-such-pod", "-n", ns, "--config", config)
		if r.code != 1 || !strings.Contains(r.stderr, `pod "no-such-pod" not found in namespace "it-explain"`) {
			t.Errorf("missing pod: exit %d, stderr %q: want 1 naming the pod", r.code, r.stderr)
		}
		if r := runCLI(t, "explain", "pod", "-n", ns); r.code != 2 {
			t.Errorf("no pod name: exit %d, want 2", r.code)
		}
		if r := runCLI(t, "explain", "pod", "placed", "-n", ns, "-o", "wide"); r.code != 2 || !strings.Contains(r.stderr, "--output") {
			t.Errorf("-o wide: exit %d, stderr %q: want 2 naming --output", r.code, r.stderr)
		}
		t.Logf("PROVED: explain exits 1 naming a pod that does not exist, 2 on usage errors")
	})
}

func explainJSON(t *testing.T, pod, ns, config string) explain.Explanation {
	t.Helper()
	r := runCLI(t, "explain", "pod", pod, "-n", ns, "--config", config, "-o", "json")
	if r.code != 0 {
		t.Fatalf("-o json: exit %d: %s", r.code, r.stderr)
	}
	var e explain.Explanation
	if err := json.Unmarshal([]byte(r.stdout), &e); err != nil {
		t.Fatalf("-o json: %v", err)
	}
	return e
}
