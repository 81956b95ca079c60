package integration

import (
	"fmt"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// TestPlacement: pods land where the policy says, one subtest per capability.
// Every subtest applies its own policy and builds its own nodes, laid out so
// that the default scoring alone would choose differently.
func TestPlacement(t *testing.T) {
	t.Run("rules_first_match_and_default", testRules)
	t.Run("pools", testPools)
	t.Run("pool_owner_namespaces", testOwnerNamespaces)
	t.Run("gpu_models_default_label", testGPUModels)
	t.Run("gpu_models_custom_label", testGPUModelLabel)
	t.Run("reserve_gpu_nodes_cpu_nodes_full", testReserveFull)
	t.Run("reserve_gpu_nodes_no_cpu_nodes", testReserveNoCPUNodes)
	t.Run("reserve_gpu_nodes_false", testNoReserve)
	t.Run("gpu_packing_binpack", testBinPack)
	t.Run("gpu_packing_spread", testSpread)
	t.Run("preferred_weighted", testPreferred)
	t.Run("colocate_job_in_rack", testColocate)
	if !t.Failed() {
		t.Logf("PROVED: all placement capabilities hold on the real scheduler: rules (namespace, pod labels, first match, default), pools, pool ownerNamespaces, gpuModels (default and custom label), reserveGPUNodes true/false, GPU BinPack/Spread, weighted preferences, job colocation")
	}
}

func testRules(t *testing.T) {
	const nsA, nsB = "it-rules-a", "it-rules-b"
	tc := newCase(t, "rules", nsA, nsB)
	tc.nodes(
		cpuNode("rules-train", "16", "64Gi", map[string]string{"example.com/pool": "train"}),
		cpuNode("rules-batch", "16", "64Gi", map[string]string{"example.com/pool": "batch"}),
		cpuNode("rules-serve", "16", "64Gi", map[string]string{"example.com/pool": "serve"}),
		cpuNode("rules-other", "16", "64Gi", map[string]string{"example.com/pool": "other"}),
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: train, nodeSelector: {matchLabels: {example.com/pool: train}}}
- {name: batch, nodeSelector: {matchLabels: {example.com/pool: batch}}}
- {name: serve, nodeSelector: {matchLabels: {example.com/pool: serve}}}
- {name: other, nodeSelector: {matchLabels: {example.com/pool: other}}}
rules:
- name: team-a-training          # namespace AND pod label
  match:
    namespaces: [it-rules-a]
    podSelector: {matchLabels: {ml-scheduler.io/workload: training}}
  pools: [train]
- name: any-training             # label only: matches team-a training pods too, but comes second
  match:
    podSelector: {matchLabels: {ml-scheduler.io/workload: training}}
  pools: [batch]
- name: team-a-rest              # namespace only
  match: {namespaces: [it-rules-a]}
  pools: [serve]
default: {pools: [other]}
`)
	training := map[string]string{workloadLabel: "training"}
	inference := map[string]string{workloadLabel: "inference"}
	// Matches all three rules: the first wins.
	tc.place(cluster.PodSpec{Name: "a-train", Namespace: nsA, Labels: training, CPU: "1"}, "team-a-training", "rules-train")
	// Other namespace: rule 0 does not match, rule 1 does.
	tc.place(cluster.PodSpec{Name: "b-train", Namespace: nsB, Labels: training, CPU: "1"}, "any-training", "rules-batch")
	// Namespace of rule 0 but not its pod labels: rule 2.
	tc.place(cluster.PodSpec{Name: "a-infer", Namespace: nsA, Labels: inference, CPU: "1"}, "team-a-rest", "rules-serve")
	// No rule matches: the default.
	tc.place(cluster.PodSpec{Name: "b-infer", Namespace: nsB, Labels: inference, CPU: "1"}, "default", "rules-other")
	tc.place(cluster.PodSpec{Name: "b-plain", Namespace: nsB, CPU: "1"}, "default", "rules-other")
	t.Logf("PROVED: rules match by namespace and pod label selector; the first matching rule wins (a training pod of it-rules-a matching 3 rules went to rule 0's pool, node rules-train); pods matching no rule get the default placement (rules-other); each pod's rule annotation names the rule")
}

func testPools(t *testing.T) {
	const ns = "it-pools"
	tc := newCase(t, "pools", ns)
	gold := map[string]string{"example.com/pool": "gold"}
	tc.nodes(
		cpuNode("pools-gold-0", "4", "16Gi", gold),
		cpuNode("pools-gold-1", "4", "16Gi", gold),
		cpuNode("pools-gold-2", "4", "16Gi", gold),
		// Much larger and empty: default scoring (LeastAllocated) prefers them.
		cpuNode("pools-plain-0", "64", "256Gi", nil),
		cpuNode("pools-plain-1", "64", "256Gi", nil),
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: gold, nodeSelector: {matchLabels: {example.com/pool: gold}}}
rules:
- name: gold-only
  match: {namespaces: [it-pools]}
  pools: [gold]
`)
	goldNodes := []string{"pools-gold-0", "pools-gold-1", "pools-gold-2"}
	for i := 0; i < 4; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("p%d", i), Namespace: ns, CPU: "1", Memory: "1Gi"}, "gold-only", goldNodes...)
	}
	// No gold node has 6 free CPUs; the plain nodes have, but are not in the pool.
	tc.pod(cluster.PodSpec{Name: "big", Namespace: ns, CPU: "6", Memory: "1Gi"})
	msg := tc.pending(ns, "big", "Insufficient cpu", "2 node(s) not in pool gold required by rule gold-only")
	t.Logf("big pending: %s", msg)
	t.Logf("PROVED: a rule's pools confine its pods to the pool's nodes: 4 pods went to the small gold nodes, not the larger empty plain ones; a pod too big for the pool stays pending (%q) instead of spilling out", "2 node(s) not in pool gold required by rule gold-only")
}

func testOwnerNamespaces(t *testing.T) {
	const nsR, nsX = "it-own-research", "it-own-intruder"
	tc := newCase(t, "owner", nsR, nsX)
	a100 := func(name string) cluster.NodeSpec {
		return cluster.NodeSpec{Name: name, CPU: "128", Memory: "512Gi", GPUs: 8,
			Labels: map[string]string{gpuProduct: "NVIDIA-A100-SXM4-80GB", "example.com/pool": "research-a100"}}
	}
	tc.nodes(a100("owner-a100-0"), a100("owner-a100-1"),
		// Smaller than the A100 nodes: default scoring prefers the A100s.
		cluster.NodeSpec{Name: "owner-t4-0", CPU: "16", Memory: "64Gi", GPUs: 4, Labels: map[string]string{gpuProduct: "Tesla-T4"}},
		cpuNode("owner-cpu-0", "16", "64Gi", nil), cpuNode("owner-cpu-1", "16", "64Gi", nil))
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: research-a100
  nodeSelector: {matchLabels: {example.com/pool: research-a100}}
  ownerNamespaces: [it-own-research]
rules:
- name: training                 # any namespace: labels alone decide
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: training}}}
  pools: [research-a100]
`)
	training := map[string]string{workloadLabel: "training"}
	// The intruder's pod carries the right labels, so it matches the rule
	// that confines it to the owned pool, and must stay pending.
	tc.pod(cluster.PodSpec{Name: "x-train", Namespace: nsX, Labels: training, GPUs: 1, CPU: "2", Memory: "8Gi"})
	msg := tc.pending(nsX, "x-train", "2 node(s) are in a pool owned by other namespaces")
	t.Logf("x-train pending: %s", msg)
	// The owner's pod with the same labels lands there.
	tc.place(cluster.PodSpec{Name: "r-train", Namespace: nsR, Labels: training, GPUs: 1, CPU: "2", Memory: "8Gi"}, "training", "owner-a100-0", "owner-a100-1")
	// An intruder GPU pod matching no rule may use any GPU node but the
	// owned ones: it goes to the smaller T4 node.
	for i := 0; i < 2; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("x-any-%d", i), Namespace: nsX, GPUs: 1, CPU: "2", Memory: "8Gi"}, "default", "owner-t4-0")
	}
	tc.stillPending(nsX, "x-train")
	t.Logf("PROVED: ownerNamespaces is enforced whatever the rule or labels: a pod of it-own-intruder labelled training stays pending (%q) while it-own-research's identical pod lands on the owned A100 pool; the intruder's unruled GPU pods avoid the owned nodes (landed on owner-t4-0)", "node(s) are in a pool owned by other namespaces")
}

func testGPUModels(t *testing.T) {
	const ns = "it-gpumodel"
	tc := newCase(t, "gpumodel", ns)
	tc.nodes(
		gpuNode("gpumodel-t4-0", "Tesla-T4", 4, nil),
		gpuNode("gpumodel-t4-1", "Tesla-T4", 4, nil),
		gpuNode("gpumodel-l4-0", "NVIDIA-L4", 4, nil),
		gpuNode("gpumodel-a100-0", "NVIDIA-A100-SXM4-80GB", 8, nil),
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: inference-l4
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  gpuModels: [NVIDIA-L4]
- name: training-a100
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: training}}}
  gpuModels: [NVIDIA-A100-SXM4-80GB]
- name: small
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: small}}}
  gpuModels: [Tesla-T4, NVIDIA-L4]
`)
	for i := 0; i < 2; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("infer-%d", i), Namespace: ns, GPUs: 1, Labels: map[string]string{workloadLabel: "inference"}}, "inference-l4", "gpumodel-l4-0")
	}
	tc.place(cluster.PodSpec{Name: "train-0", Namespace: ns, GPUs: 1, Labels: map[string]string{workloadLabel: "training"}}, "training-a100", "gpumodel-a100-0")
	small := map[string]string{workloadLabel: "small"}
	tc.place(cluster.PodSpec{Name: "small-0", Namespace: ns, GPUs: 1, Labels: small}, "small", "gpumodel-t4-0", "gpumodel-t4-1", "gpumodel-l4-0")
	// 6 GPUs: only the A100 node has them free, and its model is not allowed.
	tc.pod(cluster.PodSpec{Name: "small-6gpu", Namespace: ns, GPUs: 6, Labels: small})
	msg := tc.pending(ns, "small-6gpu", "1 node(s) lack GPU model {Tesla-T4, NVIDIA-L4} required by rule small", "3 Insufficient nvidia.com/gpu")
	t.Logf("small-6gpu pending: %s", msg)
	t.Logf("PROVED: gpuModels read from node label nvidia.com/gpu.product confine pods (inference -> gpumodel-l4-0, training -> gpumodel-a100-0) and a pod needing a disallowed model's free GPUs stays pending with %q", "node(s) lack GPU model … required by rule small")
}

func testGPUModelLabel(t *testing.T) {
	const ns = "it-gpulabel"
	tc := newCase(t, "gpulabel", ns)
	// Each node says one model in the default label and another in the custom one.
	tc.nodes(
		gpuNode("gpulabel-a", "NVIDIA-H100", 4, map[string]string{"example.com/gpu-model": "NVIDIA-L4"}),
		gpuNode("gpulabel-b", "NVIDIA-L4", 4, map[string]string{"example.com/gpu-model": "NVIDIA-H100"}),
	)
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
gpuModelLabel: example.com/gpu-model
rules:
- name: l4
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  gpuModels: [NVIDIA-L4]
- name: h100
  match: {namespaces: [it-gpulabel]}
  gpuModels: [NVIDIA-H100]
`)
	for i := 0; i < 2; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("h100-%d", i), Namespace: ns, GPUs: 1}, "h100", "gpulabel-b")
	}
	tc.place(cluster.PodSpec{Name: "l4-0", Namespace: ns, GPUs: 1, Labels: map[string]string{workloadLabel: "inference"}}, "l4", "gpulabel-a")
	t.Logf("PROVED: with gpuModelLabel example.com/gpu-model the models are read from that label, not nvidia.com/gpu.product (H100 pods -> gpulabel-b, L4 pod -> gpulabel-a, the opposite of what the default label says)")
}

const reservePolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: true
default: {gpuPacking: BinPack}
`

func testReserveFull(t *testing.T) {
	const ns = "it-reserve"
	tc := newCase(t, "reserve", ns)
	tc.nodes(
		cpuNode("reserve-cpu-0", "4", "16Gi", nil),
		cpuNode("reserve-cpu-1", "4", "16Gi", nil),
		cpuNode("reserve-cpu-2", "4", "16Gi", nil),
		// Big and empty: default scoring prefers them for any pod.
		gpuNode("reserve-gpu-0", "Tesla-T4", 4, nil),
		gpuNode("reserve-gpu-1", "Tesla-T4", 4, nil),
	)
	tc.policy(reservePolicy)
	cpuNodes := []string{"reserve-cpu-0", "reserve-cpu-1", "reserve-cpu-2"}
	for i := 0; i < 3; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("cpu-%d", i), Namespace: ns, CPU: "3", Memory: "12Gi"}, "default", cpuNodes...)
	}
	// The CPU nodes are full; the GPU nodes are nearly empty but reserved.
	tc.pod(cluster.PodSpec{Name: "cpu-3", Namespace: ns, CPU: "3", Memory: "12Gi"})
	msg := tc.pending(ns, "cpu-3", "2 node(s) are reserved for GPU workloads", "3 Insufficient cpu")
	t.Logf("cpu-3 pending: %s", msg)
	tc.place(cluster.PodSpec{Name: "gpu-0", Namespace: ns, GPUs: 1, CPU: "3", Memory: "12Gi"}, "default", "reserve-gpu-0", "reserve-gpu-1")
	tc.stillPending(ns, "cpu-3")
	t.Logf("PROVED: reserveGPUNodes true keeps CPU pods off GPU nodes: 3 CPU pods filled the small CPU nodes rather than the big empty GPU nodes, a 4th stays pending with %q, while a GPU pod still lands on a GPU node", "2 node(s) are reserved for GPU workloads")
}

func testReserveNoCPUNodes(t *testing.T) {
	const ns = "it-reserve0"
	tc := newCase(t, "reserve0", ns)
	tc.nodes(gpuNode("reserve0-gpu-0", "Tesla-T4", 4, nil), gpuNode("reserve0-gpu-1", "Tesla-T4", 4, nil))
	hash := tc.policy(reservePolicy)
	tc.pod(cluster.PodSpec{Name: "cpu-0", Namespace: ns, CPU: "1"})
	// No node qualifies at all, so PreFilter refuses the pod with the
	// policy-level explanation rather than per-node reasons.
	const want = "which lets it use nodes without GPUs (it requests none and reserveGPUNodes is on): 0 node(s) qualify (2 node(s) are reserved for GPU workloads)"
	msg := tc.pending(ns, "cpu-0", "rule default of policy "+hash, want)
	t.Logf("cpu-0 pending: %s", msg)
	time.Sleep(time.Second)
	tc.stillPending(ns, "cpu-0")
	t.Logf("PROVED: with reserveGPUNodes true and no CPU node at all, a CPU pod stays pending rather than using an idle GPU node, explained as %q", want)
}

func testNoReserve(t *testing.T) {
	const ns = "it-noreserve"
	tc := newCase(t, "noreserve", ns)
	tc.nodes(gpuNode("noreserve-gpu-0", "Tesla-T4", 4, nil), cpuNode("noreserve-cpu-0", "2", "8Gi", nil))
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: false
`)
	// Too big for the CPU node: only the GPU node fits it.
	tc.place(cluster.PodSpec{Name: "cpu-0", Namespace: ns, CPU: "4", Memory: "4Gi"}, "default", "noreserve-gpu-0")
	t.Logf("PROVED: with reserveGPUNodes false a CPU pod may use a GPU node (cpu-0 -> noreserve-gpu-0)")
}

// TestOtherSchedulerUntouched: pods for another scheduler are never touched
// by ours, not when it schedules its own pods nor when a policy swap
// re-activates pending pods.
func TestOtherSchedulerUntouched(t *testing.T) {
	const ns = "it-foreign"
	tc := newCase(t, "foreign", ns)
	tc.nodes(cpuNode("foreign-cpu-0", "16", "64Gi", nil), cpuNode("foreign-cpu-1", "16", "64Gi", nil))
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: foreign-ns
  match: {namespaces: [it-foreign]}
`)
	foreign := []cluster.PodSpec{
		{Name: "f-default", Namespace: ns, CPU: "1", SchedulerName: "default-scheduler", Labels: map[string]string{workloadLabel: "training"}},
		{Name: "f-other", Namespace: ns, CPU: "1", SchedulerName: "other-scheduler"},
	}
	for _, s := range foreign {
		tc.pod(s)
	}
	for i := 0; i < 2; i++ {
		tc.place(cluster.PodSpec{Name: fmt.Sprintf("ours-%d", i), Namespace: ns, CPU: "1"}, "foreign-ns", "foreign-cpu-0", "foreign-cpu-1")
	}
	// A swap re-activates pending pods: only ours may be picked.
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: foreign-ns-v2
  match: {namespaces: [it-foreign]}
`)
	tc.place(cluster.PodSpec{Name: "ours-2", Namespace: ns, CPU: "1"}, "foreign-ns-v2", "foreign-cpu-0", "foreign-cpu-1")
	time.Sleep(time.Second)
	for _, s := range foreign {
		p, err := tc.c.CoreV1().Pods(ns).Get(tc.ctx, s.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p.Spec.NodeName != "" {
			t.Fatalf("pod %s (schedulerName %s) was bound to %s", s.Name, s.SchedulerName, p.Spec.NodeName)
		}
		for _, c := range p.Status.Conditions {
			if c.Type == v1.PodScheduled {
				t.Fatalf("pod %s (schedulerName %s) got a PodScheduled condition: %+v", s.Name, s.SchedulerName, c)
			}
		}
		evs, err := tc.c.CoreV1().Events(ns).List(tc.ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("involvedObject.name", s.Name).String()})
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range evs.Items {
			t.Fatalf("pod %s (schedulerName %s) got an Event: %s %s", s.Name, s.SchedulerName, e.Reason, e.Message)
		}
	}
	t.Logf("PROVED: pods with schedulerName default-scheduler or other-scheduler stay unbound with no PodScheduled condition and no Event after ml-scheduler scheduled its own 3 pods in the same namespace and swapped policies")
}
