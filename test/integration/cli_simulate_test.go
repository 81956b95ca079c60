package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policydiff"
)

// clisimOldPolicy is the live policy of TestCLISimulatePolicy: training
// pods of it-clisim-a on the A100 pool, inference pods of it-clisim-b on
// the T4 pool.
const clisimOldPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: clisim-a100, nodeSelector: {matchLabels: {itest.clisim/pool: a100}}}
- {name: clisim-t4, nodeSelector: {matchLabels: {itest.clisim/pool: t4}}}
rules:
- name: clisim-train
  match: {namespaces: [it-clisim-a]}
  pools: [clisim-a100]
- name: clisim-infer
  match: {namespaces: [it-clisim-b]}
  pools: [clisim-t4]
`

// clisimNewPolicy swaps the pools: both running pods would no longer be
// admitted where they are, and the pending 4-GPU inference pod (3 GPUs free
// on the T4 node) gets the A100 node's 6 free GPUs.
const clisimNewPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: clisim-a100, nodeSelector: {matchLabels: {itest.clisim/pool: a100}}}
- {name: clisim-t4, nodeSelector: {matchLabels: {itest.clisim/pool: t4}}}
rules:
- name: clisim-train
  match: {namespaces: [it-clisim-a]}
  pools: [clisim-t4]
- name: clisim-infer
  match: {namespaces: [it-clisim-b]}
  pools: [clisim-a100]
`

// TestCLISimulatePolicy: `kubectl mlsched simulate --policy NEW
// --from-cluster` on the real cluster reports the running pods the new
// policy would no longer admit where they are, the pending pod it makes
// schedulable, and the queue's metrics under the old and the new policy.
func TestCLISimulatePolicy(t *testing.T) {
	const nsA, nsB = "it-clisim-a", "it-clisim-b"
	tc := newCase(t, "clisim", nsA, nsB)
	tc.nodes(
		gpuNode("clisim-a100-0", "A100", 8, map[string]string{"itest.clisim/pool": "a100"}),
		gpuNode("clisim-t4-0", "T4", 4, map[string]string{"itest.clisim/pool": "t4"}),
	)
	oldHash := tc.policy(clisimOldPolicy)
	tc.place(cluster.PodSpec{Name: "train-0", Namespace: nsA, CPU: "1", GPUs: 2}, "clisim-train", "clisim-a100-0")
	tc.place(cluster.PodSpec{Name: "infer-0", Namespace: nsB, CPU: "1", GPUs: 1}, "clisim-infer", "clisim-t4-0")
	tc.pod(cluster.PodSpec{Name: "infer-big", Namespace: nsB, CPU: "1", GPUs: 4})
	tc.pending(nsB, "infer-big", "pod matched rule clisim-infer of policy "+oldHash)

	newFile := filepath.Join(t.TempDir(), "new-policy.yaml")
	if err := os.WriteFile(newFile, []byte(clisimNewPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
	newHash := policyHash(t, clisimNewPolicy)
	schedConfig := filepath.Join("..", "..", "manifests", "base", "scheduler-config.yaml")

	text := runCLI(t, "simulate", "--policy", newFile, "--from-cluster", "--config", schedConfig)
	if text.code != 0 {
		t.Fatalf("exit %d: %s", text.code, text.stderr)
	}
	for _, want := range []string{
		"old policy " + oldHash + " (ConfigMap ml-scheduler/ml-scheduler-policy)",
		"new policy " + newHash,
		"it-clisim-a/train-0   clisim-a100-0",
		"node not in pool clisim-t4 required by rule clisim-train",
		"node not in pool clisim-a100 required by rule clisim-infer",
		"it-clisim-b/infer-big",
		"pods placed",
		"GPUs allocated",
	} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text output lacks %q", want)
		}
	}

	res := runCLI(t, "simulate", "--policy", newFile, "--from-cluster", "--config", schedConfig, "-o", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var r policydiff.Report
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("decoding the JSON output: %v", err)
	}
	if r.Old.Hash != oldHash || r.New.Hash != newHash {
		t.Errorf("policies %s -> %s, want %s -> %s", r.Old.Hash, r.New.Hash, oldHash, newHash)
	}
	refused := map[string]policydiff.Refusal{}
	for _, ref := range r.NoLongerAdmitted {
		if strings.HasPrefix(ref.Pod, "it-clisim-") {
			refused[ref.Pod] = ref
		}
	}
	if got := refused["it-clisim-a/train-0"]; len(refused) != 2 || got.Node != "clisim-a100-0" || got.Rule != "clisim-train" ||
		got.PlacedRule != "clisim-train" || got.Reason != "node not in pool clisim-t4 required by rule clisim-train" {
		t.Errorf("no longer admitted: %+v, want train-0 on clisim-a100-0 and infer-0 on clisim-t4-0", r.NoLongerAdmitted)
	}
	if got := refused["it-clisim-b/infer-0"]; got.Node != "clisim-t4-0" || got.Rule != "clisim-infer" {
		t.Errorf("infer-0: %+v", got)
	}
	var newly *policydiff.Change
	for i := range r.NewlySchedulable {
		if r.NewlySchedulable[i].Pod == "it-clisim-b/infer-big" {
			newly = &r.NewlySchedulable[i]
		}
	}
	if newly == nil || newly.Node != "clisim-a100-0" || newly.GPUs != 4 || newly.Rule != "clisim-infer" {
		t.Fatalf("newly schedulable %+v, want it-clisim-b/infer-big on clisim-a100-0", r.NewlySchedulable)
	}
	o, n := r.OldMetrics, r.NewMetrics
	if n.Placed-o.Placed != 1 || n.GPUsAllocated-o.GPUsAllocated != 4 || o.Pods != r.Queue || n.Pods != r.Queue {
		t.Errorf("metrics old %+v new %+v: want one pod and 4 GPUs more placed under the new policy", o, n)
	}
	if o.FirstGPUFailure == nil || o.FirstGPUFailure.Pod != "it-clisim-b/infer-big" {
		t.Errorf("old policy's first GPU failure %+v, want it-clisim-b/infer-big", o.FirstGPUFailure)
	}
	// The live cluster is untouched: the pod is still pending, the policy unchanged.
	tc.stillPending(nsB, "infer-big")
	t.Logf("PROVED: kubectl mlsched simulate --policy NEW --from-cluster read the live cluster and its policy ConfigMap (old %s), and reported the two running pods the new policy (%s) would no longer admit where they are (with rule and reason), the pending 4-GPU pod it makes schedulable (on clisim-a100-0), and the queue replayed under both policies (placed %d -> %d, GPUs allocated %d -> %d), without touching the cluster",
		oldHash, newHash, o.Placed, n.Placed, o.GPUsAllocated, n.GPUsAllocated)
}
