package integration

// Placement subtests of TestPlacement for the score parts: GPU packing,
// weighted preferences and job colocation.

import (
	"fmt"
	"testing"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

func testBinPack(t *testing.T) {
	const ns = "it-binpack"
	tc := newCase(t, "binpack", ns)
	// Identical nodes: default scoring (LeastAllocated) spreads pods.
	for i := 0; i < 3; i++ {
		tc.nodes(cluster.NodeSpec{Name: fmt.Sprintf("binpack-%d", i), CPU: "16", Memory: "64Gi", GPUs: 4, Labels: map[string]string{gpuProduct: "Tesla-T4"}})
	}
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: pack
  match: {namespaces: [it-binpack]}
  gpuPacking: BinPack
`)
	first := tc.place(cluster.PodSpec{Name: "g0", Namespace: ns, GPUs: 1, CPU: "1", Memory: "4Gi"}, "pack")
	for i := 1; i < 4; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("g%d", i), Namespace: ns, GPUs: 1, CPU: "1", Memory: "4Gi"}, "pack", first)
	}
	// The node is full now: the next pod has to open another node.
	next := tc.place(cluster.PodSpec{Name: "g4", Namespace: ns, GPUs: 1, CPU: "1", Memory: "4Gi"}, "pack")
	if next == first {
		t.Fatalf("g4 placed on the full node %s", first)
	}
	t.Logf("PROVED: gpuPacking BinPack puts the 2nd, 3rd and 4th 1-GPU pods on the partly used node %s (against LeastAllocated, which prefers the empty identical nodes) until its 4 GPUs are full", first)
}

func testSpread(t *testing.T) {
	const ns = "it-spread"
	tc := newCase(t, "spread", ns)
	// Default scoring (LeastAllocated) prefers the big node even after it
	// holds a pod (96 vs 75 for a 1-CPU pod); Spread must overcome that.
	tc.nodes(
		cluster.NodeSpec{Name: "spread-big", CPU: "64", Memory: "256Gi", GPUs: 2, Labels: map[string]string{gpuProduct: "Tesla-T4"}},
		cluster.NodeSpec{Name: "spread-small", CPU: "4", Memory: "16Gi", GPUs: 2, Labels: map[string]string{gpuProduct: "Tesla-T4"}},
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: spread
  match: {namespaces: [it-spread]}
  gpuPacking: Spread
`)
	// Both nodes empty: Spread ties, LeastAllocated picks the big node.
	tc.place(cluster.PodSpec{Name: "g0", Namespace: ns, GPUs: 1, CPU: "1", Memory: "4Gi"}, "spread", "spread-big")
	tc.place(cluster.PodSpec{Name: "g1", Namespace: ns, GPUs: 1, CPU: "1", Memory: "4Gi"}, "spread", "spread-small")
	t.Logf("PROVED: gpuPacking Spread sends the 2nd 1-GPU pod to the empty node spread-small although default scoring prefers the partly used big node spread-big")
}

func testPreferred(t *testing.T) {
	const ns = "it-prefer"
	tc := newCase(t, "prefer", ns)
	zone := func(name, z string) cluster.NodeSpec {
		return cpuNode(name, "16", "64Gi", map[string]string{zoneLabel: z})
	}
	tc.nodes(zone("prefer-c-0", "zone-c"), zone("prefer-a-0", "zone-a"), zone("prefer-b-0", "zone-b"), zone("prefer-c-1", "zone-c"))
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: zoned
  match: {namespaces: [it-prefer]}
  preferred:
  - weight: 20
    nodeSelector: {matchLabels: {topology.kubernetes.io/zone: zone-a}}
  - weight: 80
    nodeSelector: {matchLabels: {topology.kubernetes.io/zone: zone-b}}
`)
	// Each node holds one such pod: the pods fill zones in preference order.
	big := func(name string) cluster.PodSpec {
		return cluster.PodSpec{Name: name, Namespace: ns, CPU: "10", Memory: "40Gi"}
	}
	tc.place(big("p0"), "zoned", "prefer-b-0")
	tc.place(big("p1"), "zoned", "prefer-a-0")
	tc.place(big("p2"), "zoned", "prefer-c-0", "prefer-c-1")
	t.Logf("PROVED: weighted preferred node selectors order otherwise equal nodes: zone-b (weight 80) first, then zone-a (weight 20), then the unpreferred zone-c")
}

func testColocate(t *testing.T) {
	const ns = "it-colocate"
	tc := newCase(t, "colocate", ns)
	rackOf := map[string]string{}
	for r := 1; r <= 3; r++ {
		for i := 0; i < 2; i++ {
			name := fmt.Sprintf("colocate-r%d-%d", r, i)
			rackOf[name] = fmt.Sprintf("rack-%d", r)
			tc.nodes(cpuNode(name, "8", "32Gi", map[string]string{"example.com/rack": rackOf[name]}))
		}
	}
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: gang
  match: {namespaces: [it-colocate]}
  colocate: {jobLabel: ml-scheduler.io/job, topologyKey: example.com/rack}
`)
	for _, job := range []string{"job-1", "job-2"} {
		var rack string
		nodes := map[string]bool{}
		for i := 0; i < 3; i++ {
			node := tc.place(cluster.PodSpec{Name: fmt.Sprintf("%s-%d", job, i), Namespace: ns, CPU: "2", Memory: "8Gi",
				Labels: map[string]string{"ml-scheduler.io/job": job}}, "gang")
			nodes[node] = true
			if i == 0 {
				rack = rackOf[node]
				continue
			}
			if rackOf[node] != rack {
				t.Fatalf("%s-%d placed on %s in %s, want %s where the job's first pod runs", job, i, node, rackOf[node], rack)
			}
		}
		t.Logf("%s: 3 pods on %d node(s) of %s", job, len(nodes), rack)
	}
	t.Logf("PROVED: colocate draws the pods of a job (same ml-scheduler.io/job) into the rack (example.com/rack) of its first pod, against LeastAllocated which prefers the empty nodes of the other racks")
}
