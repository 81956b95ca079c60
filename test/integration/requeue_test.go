package integration

import (
	"encoding/json"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// TestPendingPodRecoversOnNodeChange: a pod pending because no node has
// what its rule requires is scheduled within seconds once a node gets it,
// by a node added or by a label added to an existing node (QueueingHints);
// without hints it would wait for the 5-minute unschedulable flush.
func TestPendingPodRecoversOnNodeChange(t *testing.T) {
	const ns = "it-requeue"
	tc := newCase(t, "requeue", ns)
	tc.nodes(
		cpuNode("requeue-cpu-0", "8", "32Gi", nil),
		gpuNode("requeue-gpu-0", "NVIDIA-H100", 4, nil),
	)
	hash := tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: late-a, nodeSelector: {matchLabels: {example.com/pool: late-a}}}
- {name: late-b, nodeSelector: {matchLabels: {example.com/pool: late-b}}}
rules:
- name: needs-late-a
  match: {podSelector: {matchLabels: {example.com/needs: late-a}}}
  pools: [late-a]
- name: needs-late-b
  match: {podSelector: {matchLabels: {example.com/needs: late-b}}}
  pools: [late-b]
- name: needs-h200
  match: {podSelector: {matchLabels: {example.com/needs: h200}}}
  gpuModels: [NVIDIA-H200]
`)
	label := func(t *testing.T, node, key, value string) {
		t.Helper()
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": map[string]string{key: value}}})
		if _, err := tc.c.CoreV1().Nodes().Patch(tc.ctx, node, types.MergePatchType, patch, metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// recoverAfter creates the pod, waits until it is pending with want in its
	// message, lets it sit in the unschedulable queue, applies change and
	// returns how long the pod took to be bound after the change.
	recoverAfter := func(t *testing.T, pod cluster.PodSpec, want string, change func(), node, rule string) time.Duration {
		t.Helper()
		tc := tc.with(t)
		tc.pod(pod)
		msg := tc.pending(ns, pod.Name, want, "0 node(s) qualify")
		t.Logf("%s pending: %s", pod.Name, msg)
		// Past the first backoff: only a queueing hint can bring it back now.
		time.Sleep(1500 * time.Millisecond)
		tc.stillPending(ns, pod.Name)
		// Seconds, not the 5-minute unschedulable flush.
		p, took := tc.timeToBind(ns, pod.Name, 15*time.Second, change)
		if p.Spec.NodeName != node {
			t.Fatalf("%s bound to %s, want %s", pod.Name, p.Spec.NodeName, node)
		}
		tc.expectRule(p, rule)
		return took
	}

	t.Run("node_added", func(t *testing.T) {
		took := recoverAfter(t, cluster.PodSpec{Name: "pool-a", Namespace: ns, CPU: "1", Labels: map[string]string{"example.com/needs": "late-a"}},
			"rule needs-late-a of policy "+hash,
			func() {
				tc.with(t).nodes(cpuNode("requeue-late-a", "8", "32Gi", map[string]string{"example.com/pool": "late-a"}))
			}, "requeue-late-a", "needs-late-a")
		t.Logf("PROVED: a pod pending for a pool no node is in was bound %v after a node with the pool label was created (node Add queueing hint)", took.Round(time.Millisecond))
	})
	t.Run("node_label_added_pool", func(t *testing.T) {
		took := recoverAfter(t, cluster.PodSpec{Name: "pool-b", Namespace: ns, CPU: "1", Labels: map[string]string{"example.com/needs": "late-b"}},
			"rule needs-late-b of policy "+hash,
			func() { label(t, "requeue-cpu-0", "example.com/pool", "late-b") },
			"requeue-cpu-0", "needs-late-b")
		t.Logf("PROVED: a pod pending for a pool no node is in was bound %v after an existing node got the pool label (node UpdateNodeLabel queueing hint)", took.Round(time.Millisecond))
	})
	t.Run("node_label_changed_gpu_model", func(t *testing.T) {
		took := recoverAfter(t, cluster.PodSpec{Name: "h200", Namespace: ns, GPUs: 1, Labels: map[string]string{"example.com/needs": "h200"}},
			"GPU model NVIDIA-H200",
			func() { label(t, "requeue-gpu-0", gpuProduct, "NVIDIA-H200") },
			"requeue-gpu-0", "needs-h200")
		t.Logf("PROVED: a GPU pod pending for a GPU model no node has was bound %v after an existing GPU node's nvidia.com/gpu.product label changed to it (node UpdateNodeLabel queueing hint)", took.Round(time.Millisecond))
	})
	if !t.Failed() {
		t.Logf("PROVED: pods pending for lack of a matching node are requeued by node add and node label update events (QueueingHints) within seconds")
	}
}
