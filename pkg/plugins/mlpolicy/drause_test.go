package mlpolicy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/client-go/tools/cache"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// TestDRAUse: while no device claim exists, the DRA GPUs in use are the
// node's whole-GPU requests; once one exists (or the claims are not
// watched), the DRA manager's allocated state. Either way Filter refuses a
// node with fewer free devices than a whole-GPU pod asks, and never a
// node for a share (left to the DynamicResources Filter).
func TestDRAUse(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	node := draNode("gpu-0")
	shareOnly, shareClaim := sharePod("ml", "share", 500)
	// The state says device 0 is taken and device 1 half used.
	half := resource.MustParse("500m")
	state := &structured.AllocatedState{
		AllocatedDevices: sets.New(sharedDevice("gpu-0", 0)),
		AggregatedCapacity: structured.ConsumedCapacityCollection{
			sharedDevice("gpu-0", 1): {gpudra.ShareCapacity: &half},
		},
	}
	for _, tc := range []struct {
		name         string
		watched      bool
		deviceClaims int64
		// running: whole GPUs requested by the pod already on the node.
		running string
		pod     *v1.Pod
		// byRequests: the cycle counts use by requests; free: the node's
		// free whole GPUs of 3; refused: Filter refuses the node.
		byRequests bool
		free       int64
		refused    bool
	}{
		{"no device claim: requests count", true, 0, "1", makePod("ml", "w", "2"), true, 2, false},
		{"no device claim: too few free devices", true, 0, "2", makePod("ml", "w", "2"), true, 1, true},
		{"a device claim exists: the state counts", true, 1, "", makePod("ml", "w", "2"), false, 1, true},
		{"claims not watched: the state counts", false, 0, "", makePod("ml", "w", "1"), false, 1, false},
		{"the pod names a claim: the state counts", true, 0, "", shareOnly, false, 1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dra := &fakeDRA{claims: map[string]*resourceapi.ResourceClaim{"ml/" + shareClaim.Name: shareClaim}, state: state}
			pl := newDRATestPlugin(t, ctx, mustLoad(t, draPolicy), dra, []*v1.Node{node}, gpudra.NodeSlice("gpu-0", "A100", 3))
			pl.claimsWatched = tc.watched
			pl.deviceClaims.Store(tc.deviceClaims)
			ni := framework.NewNodeInfo()
			ni.SetNode(node)
			if tc.running != "" {
				running := makePod("ml", "running", tc.running)
				running.Spec.NodeName = node.Name
				ni.AddPod(running)
			}
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, tc.pod, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			s := pl.Filter(ctx, cs, tc.pod, ni)
			if refused := !s.IsSuccess(); refused != tc.refused {
				t.Errorf("Filter = %v, want refused %v", s, tc.refused)
			} else if refused && s.Message() != ReasonDRAGPUsInUse {
				t.Errorf("Filter's reason %q, want %q", s.Message(), ReasonDRAGPUsInUse)
			}
			// A share pod reads the use first in PreScore.
			if s := pl.PreScore(ctx, cs, tc.pod, nil); !s.IsSuccess() {
				t.Fatalf("PreScore: %v", s)
			}
			st, err := readState(cs)
			if err != nil {
				t.Fatal(err)
			}
			if !st.draRead || st.draByRequests != tc.byRequests {
				t.Fatalf("read %v, by requests %v; want read, by requests %v", st.draRead, st.draByRequests, tc.byRequests)
			}
			if f := freeOf(st, ni, st.classOf(node)); f.GPUs != tc.free {
				t.Errorf("free GPUs %d, want %d (shares %v)", f.GPUs, tc.free, f.Shares.Free[:f.Shares.N])
			}
		})
	}
}

func TestIsDeviceClaim(t *testing.T) {
	ext := &resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Annotations: map[string]string{resourceapi.ExtendedResourceClaimAnnotation: "true"}}}
	for _, tc := range []struct {
		name string
		obj  interface{}
		want bool
	}{
		{"a pod's own claim", gpudra.ShareClaim("ml", "c", 250), true},
		{"the scheduler's extended-resource claim", ext, false},
		{"a deleted claim's tombstone", cache.DeletedFinalStateUnknown{Key: "ml/c", Obj: gpudra.ShareClaim("ml", "c", 250)}, true},
		{"not a claim", &v1.Pod{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := isDeviceClaim(tc.obj); got != tc.want {
				t.Errorf("isDeviceClaim = %v, want %v", got, tc.want)
			}
		})
	}
}
