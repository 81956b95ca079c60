package mlpolicy

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// fakeDRA stands in for the scheduler's DRA manager: the claims it knows
// and the allocated state it reports. Only what MLPolicy calls is implemented.
type fakeDRA struct {
	claims map[string]*resourceapi.ResourceClaim
	state  *structured.AllocatedState
}

type fakeClaims struct {
	fwk.ResourceClaimTracker
	d *fakeDRA
}

func (f *fakeDRA) ResourceClaims() fwk.ResourceClaimTracker                    { return fakeClaims{d: f} }
func (f *fakeDRA) ResourceSlices() fwk.ResourceSliceLister                     { return nil }
func (f *fakeDRA) DeviceClasses() fwk.DeviceClassLister                        { return nil }
func (f *fakeDRA) DeviceClassResolver() fwk.DeviceClassResolver                { return nil }
func (c fakeClaims) GatherAllocatedState() (*structured.AllocatedState, error) { return c.d.state, nil }
func (c fakeClaims) Get(ns, name string) (*resourceapi.ResourceClaim, error) {
	if cl, ok := c.d.claims[ns+"/"+name]; ok {
		return cl, nil
	}
	return nil, apierrors.NewNotFound(resourceapi.Resource("resourceclaims"), name)
}

func newDRATestPlugin(t testing.TB, ctx context.Context, p *policy.Compiled, dra *fakeDRA, nodes []*v1.Node, slices ...*resourceapi.ResourceSlice) *MLPolicy {
	t.Helper()
	fh, err := frameworkruntime.NewFramework(ctx, nil, nil,
		frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(nil, nodes)),
		frameworkruntime.WithSharedDRAManager(dra))
	if err != nil {
		t.Fatal(err)
	}
	pl, err := newWithStore(ctx, &config.MLPolicyArgs{}, fh, storeWith(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range slices {
		pl.gpus.Upsert(s)
	}
	for _, n := range nodes {
		pl.index.UpsertNode(n)
	}
	return pl
}

// draNode is a node whose GPUs are DRA devices: no nvidia.com/gpu allocatable.
func draNode(name string, kv ...string) *v1.Node { return makeNode(name, "", kv...) }

// sharePod asks milli thousandths of a GPU through its own claim.
func sharePod(ns, name string, milli int64, kv ...string) (*v1.Pod, *resourceapi.ResourceClaim) {
	p := makePod(ns, name, "", kv...)
	c := gpudra.ShareClaim(ns, name+"-gpu", milli)
	gpudra.UseClaim(p, c.Name)
	return p, c
}

func sharedDevice(node string, i int) structured.DeviceID {
	return structured.MakeDeviceID(gpudra.Driver, node, gpudra.DeviceName(i))
}

const draPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: a100-only
  match: {podSelector: {matchLabels: {want: a100}}}
  gpuModels: [A100]
  packing: MinFragmentation
default:
  packing: MinFragmentation
`

// TestDRAGPUsCountAsGPUs: nodes that publish GPU devices are GPU nodes to
// the policy (reservation, GPU models from the device attribute), and a pod
// sharing a GPU through a claim is a GPU pod.
func TestDRAGPUsCountAsGPUs(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes := []*v1.Node{draNode("a100-0"), draNode("t4-0"), makeNode("cpu-0", "")}
	share, claim := sharePod("ml", "infer", 460)
	a100Share, a100Claim := sharePod("ml", "infer-a100", 250, "want", "a100")
	dra := &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{
		"ml/" + claim.Name: claim, "ml/" + a100Claim.Name: a100Claim,
	}}
	pl := newDRATestPlugin(t, ctx, mustLoad(t, draPolicy), dra, nodes,
		gpudra.NodeSlice("a100-0", "A100", 2), gpudra.NodeSlice("t4-0", "T4", 4))
	for _, tc := range []struct {
		name string
		pod  *v1.Pod
		// admitted: the nodes Filter admits, of a100-0, t4-0, cpu-0.
		admitted []string
	}{
		{"a share pod is a GPU pod: GPU nodes only", share, []string{"a100-0", "t4-0"}},
		{"gpuModels reads the device's productName", a100Share, []string{"a100-0"}},
		{"a CPU pod stays off DRA GPU nodes (reserveGPUNodes)", makePod("ml", "cpu", ""), []string{"cpu-0"}},
		{"a whole-GPU pod asking nvidia.com/gpu", makePod("ml", "whole", "1"), []string{"a100-0", "t4-0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := framework.NewCycleState()
			res, s := pl.PreFilter(ctx, cs, tc.pod, nil)
			if !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			var got []string
			for _, n := range nodes {
				if res != nil && !res.AllNodes() && !res.NodeNames.Has(n.Name) {
					continue
				}
				ni := framework.NewNodeInfo()
				ni.SetNode(n)
				if s := pl.Filter(ctx, cs, tc.pod, ni); s.IsSuccess() {
					got = append(got, n.Name)
				}
			}
			if !sets.New(got...).Equal(sets.New(tc.admitted...)) {
				t.Errorf("admitted %v, want %v", got, tc.admitted)
			}
		})
	}
}

// TestShareScoresByDeviceUse: the score reads each GPU's use from the
// claims' allocations. A 0.5-GPU pod goes to the GPU another pod half uses
// (its leftover then fits the coming 0.5 pods), not to an empty node.
func TestShareScoresByDeviceUse(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes := []*v1.Node{draNode("half-used"), draNode("empty")}
	pod, claim := sharePod("ml", "p", 500)
	half := resource.MustParse("500m")
	dra := &fakeDRA{
		claims: map[string]*resourceapi.ResourceClaim{"ml/" + claim.Name: claim},
		state: &structured.AllocatedState{
			AllocatedDevices: sets.New[structured.DeviceID](),
			AggregatedCapacity: structured.ConsumedCapacityCollection{
				sharedDevice("half-used", 0): {gpudra.ShareCapacity: &half},
			},
		},
	}
	pl := newDRATestPlugin(t, ctx, mustLoad(t, draPolicy), dra, nodes,
		gpudra.NodeSlice("half-used", "A100", 2), gpudra.NodeSlice("empty", "A100", 2))
	// The learner has seen 0.5-GPU pods and 1-GPU pods.
	for i := 0; i < 4; i++ {
		pl.learner.Observe(fragmentation.Shape{MilliGPU: 500, MilliCPU: 1000})
		pl.learner.Observe(fragmentation.Shape{GPUs: 1, MilliCPU: 1000})
	}
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreFilter: %v", s)
	}
	if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreScore: %v", s)
	}
	scores := fwk.NodeScoreList{}
	for _, n := range nodes {
		ni := framework.NewNodeInfo()
		ni.SetNode(n)
		sc, s := pl.Score(ctx, cs, pod, ni)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %v", n.Name, s)
		}
		scores = append(scores, fwk.NodeScore{Name: n.Name, Score: sc})
	}
	if s := pl.NormalizeScore(ctx, cs, pod, scores); !s.IsSuccess() {
		t.Fatal(s)
	}
	if scores[0].Score <= scores[1].Score {
		t.Errorf("scores half-used %d, empty %d: want the half-used GPU first", scores[0].Score, scores[1].Score)
	}
	st, _ := readState(cs)
	f := freeOf(st, func() fwk.NodeInfo { ni := framework.NewNodeInfo(); ni.SetNode(nodes[0]); return ni }(), st.classOf(nodes[0]))
	if f.Shares.N != 2 || f.Shares.Free[0] != 500 || f.Shares.Free[1] != 1000 || f.GPUs != 1 || f.allocGPUs != 2 {
		t.Errorf("half-used node: shares %v, whole %d of %d; want [500 1000], 1 of 2", f.Shares.Free[:f.Shares.N], f.GPUs, f.allocGPUs)
	}
}

// TestShareRefusalNamesTheFraction: a share pod with no GPU node left
// waits with a reason that says what it asks.
func TestShareRefusalNamesTheFraction(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes := []*v1.Node{makeNode("cpu-0", "")}
	pod, claim := sharePod("ml", "infer", 460)
	p := mustLoad(t, draPolicy)
	pl := newDRATestPlugin(t, ctx, p, &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{"ml/" + claim.Name: claim}}, nodes)
	ni := framework.NewNodeInfo()
	ni.SetNode(nodes[0])
	_, s := pl.PreFilter(ctx, framework.NewCycleState(), pod, []fwk.NodeInfo{ni})
	want := "pod matched rule default of policy " + p.Hash() + " (test), which lets it use nodes with GPUs (it requests 0.46 of one GPU through a ResourceClaim): 0 node(s) qualify (1 node(s) have no GPU)"
	if s.IsSuccess() || s.Message() != want {
		t.Errorf("PreFilter = %v %q\nwant the refusal %q", s.Code(), s.Message(), want)
	}
}
