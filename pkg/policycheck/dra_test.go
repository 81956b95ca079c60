package policycheck

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// TestAgainstClusterDRAGPUs: GPUs a node publishes as DRA devices count as
// the scheduler counts them: their model satisfies gpuModels, their number
// a pending pod's ask.
func TestAgainstClusterDRAGPUs(t *testing.T) {
	const body = `
rules:
- {name: h100, match: {namespaces: [a]}, gpuModels: [H100]}
`
	c := compile(t, body)
	cluster := func(slices ...*resourceapi.ResourceSlice) *Cluster {
		return &Cluster{
			// dra-0 has neither the model label nor nvidia.com/gpu allocatable.
			Nodes:          append(testCluster().Nodes, node("dra-0", 0, nil)),
			Namespaces:     []string{"a"},
			Pending:        []*v1.Pod{pendingPod("a", "big", 8, nil)},
			SchedulerName:  "ml-scheduler",
			ResourceSlices: slices,
		}
	}
	expectFindings(t, AgainstCluster(c, cluster(gpudra.NodeSlice("dra-0", "H100", 8))), nil)
	// Without the slice, no node has an H100, and the pending pod's rule
	// keeps it from the A100 nodes that have 8 GPUs.
	got := AgainstCluster(c, cluster())
	expectFindings(t, got, []want{
		w("rules[0].gpuModels[0]", `no node has GPU model "H100"`),
		e("rules[0].gpuModels", "pending pod a/big asks 8 GPUs", "node a100-0 has 8 GPUs"),
	})
	// A slice of another driver is not GPUs.
	other := gpudra.NodeSlice("dra-0", "H100", 8)
	other.Spec.Driver = "nic.example.com"
	if got2 := AgainstCluster(c, cluster(other)); len(got2) != len(got) {
		t.Errorf("a slice of another driver changed the findings: %d, want %d (as without slices)", len(got2), len(got))
	}
}

// TestPendingSharePod: a pending pod sharing a GPU through a claim is a GPU
// pod to the pending-pod check, and the finding says what it asks.
func TestPendingSharePod(t *testing.T) {
	c := compile(t, `
rules:
- {name: h100, match: {namespaces: [a]}, gpuModels: [H100]}
`)
	share := pendingPod("a", "infer", 0, nil)
	claim := gpudra.ShareClaim("a", "infer-gpu", 250)
	gpudra.UseClaim(share, claim.Name)
	cl := &Cluster{Nodes: testCluster().Nodes, Namespaces: []string{"a"}, Pending: []*v1.Pod{share},
		SchedulerName: "ml-scheduler", ResourceClaims: []*resourceapi.ResourceClaim{claim}}
	expectFindings(t, AgainstCluster(c, cl), []want{
		w("rules[0].gpuModels[0]", `no node has GPU model "H100"`),
		e("rules[0].gpuModels", "pending pod a/infer asks 0.25 of one GPU through a ResourceClaim", "admits it to no GPU node"),
	})
	// Without its claim the pod asks nothing: no pending-pod finding.
	cl.ResourceClaims = nil
	expectFindings(t, AgainstCluster(c, cl), []want{w("rules[0].gpuModels[0]", `no node has GPU model "H100"`)})
}
