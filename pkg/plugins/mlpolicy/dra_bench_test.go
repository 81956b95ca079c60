package mlpolicy

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// shareBenchSetup: an 8-GPU DRA node with three GPUs partly shared, and a
// learned workload as the trace's: 20 share sizes beside whole-GPU shapes.
func shareBenchSetup(tb testing.TB) (*MLPolicy, *v1.Pod, fwk.NodeInfo) {
	tb.Helper()
	ctx := klog.NewContext(context.Background(), klog.Background())
	nodes := []*v1.Node{draNode("node-0")}
	pod, claim := sharePod("ml", "p", 460)
	used := structured.ConsumedCapacityCollection{}
	for i, m := range []string{"810m", "470m", "320m"} {
		q := resource.MustParse(m)
		used[sharedDevice("node-0", i)] = structured.ConsumedCapacity{gpudra.ShareCapacity: &q}
	}
	dra := &fakeDRA{
		claims: map[string]*resourceapi.ResourceClaim{"ml/" + claim.Name: claim},
		state:  &structured.AllocatedState{AllocatedDevices: sets.New[structured.DeviceID](), AggregatedCapacity: used},
	}
	pl := newDRATestPlugin(tb, ctx, mustLoad(tb, draPolicy), dra, nodes, gpudra.NodeSlice("node-0", "A100", 8))
	milli := []int64{50, 110, 140, 160, 220, 230, 270, 290, 320, 330, 350, 370, 440, 460, 470, 480, 550, 590, 650, 810}
	for i, m := range milli {
		for range 1 + i%4 {
			pl.learner.Observe(fragmentation.Shape{MilliGPU: m, MilliCPU: int64(1000 * (1 + i%8)), Memory: int64(4+i) << 30})
		}
	}
	for g := int64(1); g <= 8; g *= 2 {
		for c := int64(1); c <= 4; c++ {
			pl.learner.Observe(fragmentation.Shape{GPUs: g, MilliCPU: 8000 * g * c / 2, Memory: 32 * g << 30})
		}
	}
	ni := framework.NewNodeInfo()
	ni.SetNode(nodes[0])
	return pl, pod, ni
}

// BenchmarkScoreShare: Score of a 0.46-GPU pod on an 8-GPU DRA node.
func BenchmarkScoreShare(b *testing.B) {
	pl, pod, node := shareBenchSetup(b)
	ctx := context.Background()
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
		b.Fatal(s)
	}
	if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
		b.Fatal(s)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, s := pl.Score(ctx, cs, pod, node); !s.IsSuccess() {
			b.Fatal(s)
		}
	}
	b.ReportMetric(float64(len(pl.learner.Workload().Shapes)), "shapes")
}
