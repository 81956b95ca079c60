package explain

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// TestExplainDRASharePod: the re-run sees the cluster's DRA objects, as the
// scheduler does: a pod sharing a GPU through its claim fits the node whose
// ResourceSlice publishes GPUs (and that advertises no nvidia.com/gpu),
// and the policy refuses the nodes without GPUs for it, a GPU pod.
func TestExplainDRASharePod(t *testing.T) {
	cfg, err := LoadConfig("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	share := pod("infer", "share", "1", 0, "", nil)
	claim := gpudra.ShareClaim("infer", "share-gpu", 460)
	gpudra.UseClaim(share, claim.Name)
	cluster := testCluster(t, share)
	cluster.Nodes = append(cluster.Nodes, node("dra-0", "32", 0, nil))
	cluster.DeviceClasses = []*resourceapi.DeviceClass{gpudra.DeviceClass()}
	cluster.ResourceSlices = []*resourceapi.ResourceSlice{gpudra.NodeSlice("dra-0", "A100", 2)}
	cluster.ResourceClaims = []*resourceapi.ResourceClaim{claim}

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := Explain(ctx, Input{Config: cfg, Cluster: cluster, Pod: share})
	if err != nil {
		t.Fatal(err)
	}
	var top []string
	for _, c := range e.Simulation.Candidates {
		top = append(top, c.Node)
	}
	// Only dra-0 has DRA devices to allocate the claim from; the
	// extended-resource GPU nodes cannot, and the policy refuses the CPU
	// node to a GPU pod.
	if diff := cmp.Diff([]string{"dra-0"}, top); diff != "" {
		t.Errorf("candidates (-want +got):\n%s", diff)
	}
	got := map[string]int{}
	for _, r := range e.Simulation.Reasons {
		got[r.Reason] = r.Nodes
	}
	want := map[string]int{"cannot allocate all claims": 3, "node(s) have no GPU": 1}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("reasons (-want +got):\n%s", diff)
	}
}
