package mlpolicy

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	st "k8s.io/kubernetes/pkg/scheduler/testing"
)

// fragPolicy states the coming workload: nine 1-GPU pods (12 cores, 24Gi)
// for each 8-GPU job (120 cores, 600Gi), which only the big node shape holds.
const fragPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
cpuSpill: {}
expectedShapes:
- {gpus: 1, cpu: "12", memory: 24Gi, weight: 9}
- {gpus: 8, cpu: "120", memory: 600Gi, weight: 1}
default: {packing: MinFragmentation}
`

func sizedNode(name, cpu, mem, gpus string) *v1.Node {
	res := map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: mem}
	if gpus != "" {
		res[gpuRes] = gpus
	}
	return st.MakeNode().Name(name).Capacity(res).Obj()
}

func sizedPod(name, cpu, mem, gpus string) *v1.Pod {
	req := map[v1.ResourceName]string{v1.ResourceCPU: cpu, v1.ResourceMemory: mem}
	if gpus != "" {
		req[gpuRes] = gpus
	}
	return st.MakePod().Namespace("ml").Name(name).UID(name).Req(req).Obj()
}

// fragCluster: "big" is the only node shape the 8-GPU job fits; "half" is a
// small node half used (4 GPUs, 48 cores, 192Gi free); "small" is empty;
// "cpu" has no GPU.
func fragCluster() ([]*v1.Node, []*v1.Pod) {
	nodes := []*v1.Node{
		sizedNode("big", "128", "768Gi", "8"),
		sizedNode("half", "96", "384Gi", "8"),
		sizedNode("small", "96", "384Gi", "8"),
		sizedNode("cpu", "64", "256Gi", ""),
	}
	used := sizedPod("used", "48", "192Gi", "4")
	used.Spec.NodeName = "half"
	return nodes, []*v1.Pod{used}
}

// scoreAll runs PreFilter, PreScore, Score on every node and NormalizeScore.
func scoreAll(t *testing.T, ctx context.Context, pl *MLPolicy, pod *v1.Pod) map[string]int64 {
	t.Helper()
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
		t.Fatalf("PreFilter: %v", s)
	}
	infos, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	if s := pl.PreScore(ctx, cs, pod, infos); !s.IsSuccess() {
		t.Fatalf("PreScore: %v", s)
	}
	var scores fwk.NodeScoreList
	for _, ni := range infos {
		if s := pl.Filter(ctx, cs, pod, ni); !s.IsSuccess() || !fitsResources(pod, ni) {
			continue
		}
		score, s := pl.Score(ctx, cs, pod, ni)
		if !s.IsSuccess() {
			t.Fatalf("Score(%s): %v", ni.Node().Name, s)
		}
		scores = append(scores, fwk.NodeScore{Name: ni.Node().Name, Score: score})
	}
	if s := pl.NormalizeScore(ctx, cs, pod, scores); !s.IsSuccess() {
		t.Fatalf("NormalizeScore: %v", s)
	}
	out := map[string]int64{}
	for _, ns := range scores {
		if ns.Score < fwk.MinScore || ns.Score > fwk.MaxScore {
			t.Errorf("score of %s = %d, outside [0, 100]", ns.Name, ns.Score)
		}
		out[ns.Name] = ns.Score
	}
	return out
}

// fitsResources stands in for NodeResourcesFit, which the framework runs
// before scoring.
func fitsResources(pod *v1.Pod, ni fwk.NodeInfo) bool {
	req := pod.Spec.Containers[0].Resources.Requests
	alloc, used := ni.GetAllocatable(), ni.GetRequested()
	return req.Cpu().MilliValue() <= alloc.GetMilliCPU()-used.GetMilliCPU() &&
		req.Memory().Value() <= alloc.GetMemory()-used.GetMemory() &&
		req.Name(gpuRes, "0").Value() <= alloc.GetScalarResources()[gpuRes]-used.GetScalarResources()[gpuRes]
}

func TestMinFragmentation(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes, pods := fragCluster()
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, fragPolicy)), nodes, pods)

	// Fragmentation growth: big 0 -> 0.7 (the job no longer fits);
	// half 0.4 -> 0.3 and small 0.8 -> 0.7 (the job never fit): a tie,
	// broken toward the fuller node.
	got := scoreAll(t, ctx, pl, sizedPod("p", "12", "24Gi", "1"))
	if !(got["half"] == fwk.MaxScore && got["small"] > got["big"] && got["big"] == 0) {
		t.Errorf("1-GPU pod scores %v: want half 100 > small > big 0 (the only node the 8-GPU job fits stays whole)", got)
	}
	if _, ok := got["cpu"]; ok {
		t.Errorf("GPU pod scored on the CPU node: %v", got)
	}

	// The 8-GPU job fits only the big node, whose fragmentation falls to 0.
	if got := scoreAll(t, ctx, pl, sizedPod("job", "120", "600Gi", "8")); got["big"] != fwk.MaxScore {
		t.Errorf("8-GPU job scores %v: want big 100", got)
	}

	// A CPU pod: the CPU node first; a GPU node only as a spill, and then
	// the one where it strands least.
	got = scoreAll(t, ctx, pl, sizedPod("c", "4", "8Gi", ""))
	if got["cpu"] != fwk.MaxScore || got["cpu"] <= got["small"] || got["cpu"] <= got["big"] {
		t.Errorf("CPU pod scores %v: want the CPU node 100, above every GPU node", got)
	}
}

// cpuSpill: a CPU pod may take a GPU node's CPU and memory only while each
// free GPU keeps what a 1-GPU pod asks (12 cores, 24Gi: 3 of 4 expected
// GPU pods ask that per GPU).
func TestCPUSpillFilter(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes, pods := fragCluster()
	// busy: 2 GPUs free, with 104 cores and 720Gi: room for a CPU pod only
	// once its 6 GPUs in use are counted (8 free GPUs would keep 96 cores).
	busyPod := sizedPod("busy-job", "24", "48Gi", "6")
	busyPod.Spec.NodeName = "busy"
	nodes, pods = append(nodes, sizedNode("busy", "128", "768Gi", "8")), append(pods, busyPod)
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, fragPolicy)), nodes, pods)
	for _, tc := range []struct {
		name, node, cpu, mem string
		want                 string
	}{
		// busy: 104 - 80 = 24 cores and 720 - 48 = 672Gi keep 2 x 12, 2 x 24.
		{"room once GPUs in use are counted", "busy", "80", "48Gi", ""},
		{"busy node, one core too many", "busy", "81", "48Gi", ReasonWouldStrand},
		// half keeps 48 cores for 4 free GPUs: exactly 4 x 12, nothing to spare.
		{"no room on the half node", "half", "1", "1Gi", ReasonWouldStrand},
		// small: 96 cores for 8 GPUs = 8 x 12: nothing to spare either.
		{"no room on the small node", "small", "1", "1Gi", ReasonWouldStrand},
		// big: 128 - 8 x 12 = 32 cores and 768 - 8 x 24 = 576Gi to spare.
		{"room on the big node", "big", "32", "576Gi", ""},
		{"one core too many", "big", "33", "8Gi", ReasonWouldStrand},
		{"CPU nodes take any CPU pod that fits", "cpu", "64", "8Gi", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := sizedPod("c", tc.cpu, tc.mem, "")
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
				t.Fatalf("PreFilter: %v", s)
			}
			ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(tc.node)
			if err != nil {
				t.Fatal(err)
			}
			s := pl.Filter(ctx, cs, pod, ni)
			if got := s.Message(); got != tc.want {
				t.Errorf("Filter(%s) = %q, want %q", tc.node, got, tc.want)
			}
			if tc.want != "" && s.Code() != fwk.Unschedulable {
				t.Errorf("code %v, want Unschedulable (resolvable: the node may free CPU)", s.Code())
			}
		})
	}
}

// Without cpuSpill, reserveGPUNodes keeps every CPU pod off GPU nodes.
func TestReserveWithoutSpill(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes, pods := fragCluster()
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n")), nodes, pods)
	pod := sizedPod("c", "1", "1Gi", "")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
		t.Fatalf("PreFilter: %v", s)
	}
	ni, _ := pl.handle.SnapshotSharedLister().NodeInfos().Get("big")
	if s := pl.Filter(ctx, cs, pod, ni); s.Message() != ReasonReservedForGPU {
		t.Errorf("Filter(big) = %q, want %q", s.Message(), ReasonReservedForGPU)
	}
}

// The learner: with no expectedShapes, the plugin learns from the pods its
// informer shows it.
func TestLearnsShapesFromPods(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	nodes, pods := fragCluster()
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\ndefault: {packing: MinFragmentation}\n")), nodes, pods)
	for i := 0; i < 9; i++ {
		p := sizedPod("one", "12", "24Gi", "1")
		p.Spec.SchedulerName = pl.profileName
		pl.onPod(p)
	}
	job := sizedPod("job", "120", "600Gi", "8")
	job.Spec.SchedulerName = pl.profileName
	pl.onPod(job)
	other := sizedPod("other", "1", "1Gi", "4")
	other.Spec.SchedulerName = "someone-else"
	pl.onPod(other)
	w := pl.learner.Workload()
	if len(w.Shapes) != 2 {
		t.Fatalf("learned %v, want the 1-GPU shape and the 8-GPU job (not the other scheduler's pod)", w.Shapes)
	}
	got := scoreAll(t, ctx, pl, sizedPod("p", "12", "24Gi", "1"))
	if !(got["half"] == fwk.MaxScore && got["big"] == 0) {
		t.Errorf("with learned shapes the 1-GPU pod scores %v: want half 100, big 0", got)
	}
}

// A pod that accepts any model is kept off the model that restricted pods
// need beyond its share of free GPUs, though FGD alone would pick it (fewer
// expected pods can use it, so its free GPUs look like fragments).
func TestMinFragmentationModelPressure(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	const doc = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
expectedShapes:
- {gpus: 1, cpu: "4", memory: 8Gi, weight: 5}
- {gpus: 1, cpu: "4", memory: 8Gi, gpuModels: [rare], weight: 3}
- {gpus: 1, cpu: "4", memory: 8Gi, gpuModels: [common], weight: 5}
default: {packing: MinFragmentation}
`
	model := func(n *v1.Node, m string) *v1.Node {
		n.Labels = map[string]string{"nvidia.com/gpu.product": m}
		return n
	}
	nodes := []*v1.Node{
		model(sizedNode("rare-1", "64", "256Gi", "8"), "rare"),
		model(sizedNode("common-1", "64", "256Gi", "8"), "common"),
		model(sizedNode("common-2", "64", "256Gi", "8"), "common"),
		model(sizedNode("common-3", "64", "256Gi", "8"), "common"),
	}
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, doc)), nodes, nil)
	// FGD alone: rare -5/13, common -3/13. Pressure (8 of 32 free GPUs are
	// rare, 3/13 of the demand must go there): rare +0.92, common +0.51.
	got := scoreAll(t, ctx, pl, sizedPod("any", "4", "8Gi", "1"))
	if got["rare-1"] != 0 || got["common-1"] != fwk.MaxScore {
		t.Errorf("any-model pod scores %v: want the common nodes 100, the rare one 0", got)
	}
}
