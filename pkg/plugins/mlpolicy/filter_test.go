package mlpolicy

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// filterPolicy exercises every hard capability: rules matched by namespace
// and labels in order, pools (one owned by research), GPU models read from a
// configured label, and (by default) reserved GPU nodes.
const filterPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
gpuModelLabel: example.com/gpu-model
pools:
- name: a100
  nodeSelector: {matchLabels: {pool: a100}}
  ownerNamespaces: [research]
- name: l4
  nodeSelector: {matchLabels: {pool: l4}}
- name: cpu
  nodeSelector: {matchLabels: {pool: cpu}}
rules:
- name: research-training
  match:
    namespaces: [research]
    podSelector: {matchLabels: {workload: training}}
  pools: [a100]
- name: training
  match: {podSelector: {matchLabels: {workload: training}}}
  pools: [a100, l4]
- name: inference
  match: {podSelector: {matchLabels: {workload: inference}}}
  gpuModels: [NVIDIA-L4]
- name: h100-only
  match: {podSelector: {matchLabels: {workload: h100}}}
  gpuModels: [NVIDIA-H100]
- name: batch
  match: {namespaces: [batch]}
  pools: [cpu]
`

// skipPolicy can refuse nothing to a CPU pod of the default rule: no
// reservation, no owned pool, no confinement.
const skipPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: false
pools:
- name: l4
  nodeSelector: {matchLabels: {pool: l4}}
rules:
- name: inference
  match: {podSelector: {matchLabels: {workload: inference}}}
  pools: [l4]
`

func filterPolicyReserving(tb testing.TB, reserve bool) *policy.Compiled {
	if reserve {
		return mustLoad(tb, filterPolicy)
	}
	return mustLoad(tb, filterPolicy+"reserveGPUNodes: false\n")
}

// filterNodes: 11 nodes, so a pool of up to 5 is "confined" (< 50%).
// l4-gfd carries its model only under the default GPU model label.
func filterNodes() []*v1.Node {
	nodes := []*v1.Node{
		makeNode("a100-1", "8", "pool", "a100", modelLabel, "NVIDIA-A100"),
		makeNode("a100-2", "8", "pool", "a100", modelLabel, "NVIDIA-A100"),
		makeNode("l4-1", "4", "pool", "l4", modelLabel, "NVIDIA-L4"),
		makeNode("l4-2", "4", "pool", "l4", modelLabel, "NVIDIA-L4"),
		makeNode("l4-gfd", "4", policy.DefaultGPUModelLabel, "NVIDIA-L4"),
	}
	for _, n := range []string{"cpu-1", "cpu-2", "cpu-3", "cpu-4", "cpu-5", "cpu-6"} {
		nodes = append(nodes, makeNode(n, "", "pool", "cpu"))
	}
	return nodes
}

var (
	researchTraining = makePod("research", "rt", "1", "workload", "training")
	teamBTraining    = makePod("team-b", "bt", "1", "workload", "training")
	inferencePod     = makePod("team-b", "inf", "1", "workload", "inference")
	h100Pod          = makePod("team-b", "h100", "1", "workload", "h100")
	batchCPU         = makePod("batch", "cpu", "")
	batchGPU         = makePod("batch", "gpu", "1")
	defaultCPU       = makePod("default", "cpu", "")
	defaultGPU       = makePod("default", "gpu", "1")
	researchNoLabel  = makePod("research", "plain", "1")
)

func TestPreFilter(t *testing.T) {
	tests := []struct {
		name       string
		policy     string // "": no policy loaded
		reserveOff bool
		pod        *v1.Pod
		wantCode   fwk.Code
		wantMsg    string   // the status message; {hash} stands for the policy's hash
		wantNodes  []string // nil: no PreFilterResult
	}{
		{name: "no policy", pod: defaultCPU,
			wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: ReasonNoPolicy},
		{name: "first rule confines research training to a100", policy: filterPolicy, pod: researchTraining,
			wantNodes: []string{"a100-1", "a100-2"}},
		{name: "second rule for another namespace: union of pools, ownership left to Filter", policy: filterPolicy, pod: teamBTraining,
			wantNodes: []string{"a100-1", "a100-2", "l4-1", "l4-2"}},
		{name: "gpuModels read from the configured label", policy: filterPolicy, pod: inferencePod,
			wantNodes: []string{"l4-1", "l4-2"}},
		{name: "GPU pod of the default rule confined to GPU nodes", policy: filterPolicy, pod: defaultGPU,
			wantNodes: []string{"a100-1", "a100-2", "l4-1", "l4-2", "l4-gfd"}},
		{name: "CPU pod: 6 of 11 non-GPU nodes is not confined", policy: filterPolicy, pod: defaultCPU},
		{name: "namespace rule to the cpu pool: 6 of 11 is not confined", policy: filterPolicy, pod: batchCPU},
		{name: "nothing to confine with reservation off", policy: filterPolicy, reserveOff: true, pod: defaultCPU},
		{name: "no node has the GPU model", policy: filterPolicy, pod: h100Pod,
			wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: "pod matched rule h100-only of policy {hash} (test), which lets it use nodes with GPU model NVIDIA-H100, with GPUs (it requests 1), outside pools owned by other namespaces: 0 node(s) qualify (11 node(s) lack GPU model NVIDIA-H100 required by rule h100-only)"},
		{name: "GPU pod confined to a pool without GPUs", policy: filterPolicy, pod: batchGPU,
			wantCode: fwk.UnschedulableAndUnresolvable, wantMsg: "pod matched rule batch of policy {hash} (test), which lets it use nodes in pool cpu, with GPUs (it requests 1), outside pools owned by other namespaces: 0 node(s) qualify (5 node(s) not in pool cpu required by rule batch, 6 node(s) have no GPU)"},
		{name: "nothing can be refused: Skip", policy: skipPolicy, pod: defaultCPU, wantCode: fwk.Skip},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			var p *policy.Compiled
			switch {
			case tt.policy == filterPolicy:
				p = filterPolicyReserving(t, !tt.reserveOff)
			case tt.policy != "":
				p = mustLoad(t, tt.policy)
			}
			pl := newTestPlugin(t, ctx, storeWith(p), filterNodes(), nil)
			res, status := pl.PreFilter(ctx, framework.NewCycleState(), tt.pod, tf.BuildNodeInfos(filterNodes()))
			if got := status.Code(); got != tt.wantCode {
				t.Fatalf("PreFilter code = %v, want %v (status %v)", got, tt.wantCode, status)
			}
			want := tt.wantMsg
			if p != nil {
				want = strings.ReplaceAll(want, "{hash}", p.Hash())
			}
			if status.Message() != want {
				t.Errorf("PreFilter message\n got %q\nwant %q", status.Message(), want)
			}
			if tt.wantNodes == nil {
				if res != nil {
					t.Errorf("PreFilterResult = %v, want nil", sets.List(res.NodeNames))
				}
				return
			}
			if res == nil {
				t.Fatalf("PreFilterResult = nil, want %v", tt.wantNodes)
			}
			if diff := cmp.Diff(tt.wantNodes, sets.List(res.NodeNames)); diff != "" {
				t.Errorf("PreFilterResult nodes (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilter(t *testing.T) {
	notInPool := func(pool, rule string) string {
		return "node(s) not in pool " + pool + " required by rule " + rule
	}
	tests := []struct {
		name       string
		reserveOff bool
		pod        *v1.Pod
		node       string
		wantReason string // "": admitted
	}{
		{name: "first rule admits research training on its pool", pod: researchTraining, node: "a100-1"},
		{name: "first match wins: research training refused on l4 though rule training lists l4",
			pod: researchTraining, node: "l4-1", wantReason: notInPool("a100", "research-training")},
		{name: "label-only rule admits another namespace on l4", pod: teamBTraining, node: "l4-2"},
		{name: "owned pool refuses another namespace although its rule lists the pool",
			pod: teamBTraining, node: "a100-1", wantReason: ReasonOwnedPool},
		{name: "rule with several pools names them all", pod: teamBTraining, node: "cpu-1",
			wantReason: notInPool("{a100, l4}", "training")},
		{name: "owner namespace admitted on its pool by the default rule", pod: researchNoLabel, node: "a100-2"},
		{name: "owned pool refuses the default rule's pod from another namespace", pod: defaultGPU, node: "a100-2",
			wantReason: ReasonOwnedPool},
		{name: "gpuModels admit the model under the configured label", pod: inferencePod, node: "l4-1"},
		{name: "gpuModels refuse another model", pod: inferencePod, node: "a100-1",
			wantReason: "node(s) lack GPU model NVIDIA-L4 required by rule inference"},
		{name: "gpuModels ignore the default label when another is configured", pod: inferencePod, node: "l4-gfd",
			wantReason: "node(s) lack GPU model NVIDIA-L4 required by rule inference"},
		{name: "namespace rule admits its pool", pod: batchCPU, node: "cpu-3"},
		{name: "namespace rule refuses other pools", pod: batchCPU, node: "l4-1", wantReason: notInPool("cpu", "batch")},
		{name: "default rule: CPU pod on CPU node", pod: defaultCPU, node: "cpu-1"},
		{name: "reserveGPUNodes: CPU pod refused on GPU node", pod: defaultCPU, node: "l4-gfd",
			wantReason: ReasonReservedForGPU},
		{name: "reserveGPUNodes false: CPU pod admitted on GPU node", reserveOff: true, pod: defaultCPU, node: "l4-gfd"},
		{name: "reserveGPUNodes false: owned pool still refused", reserveOff: true, pod: defaultCPU, node: "a100-1",
			wantReason: ReasonOwnedPool},
		{name: "GPU pod refused on node without GPU", pod: defaultGPU, node: "cpu-1", wantReason: ReasonNoGPU},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			nodes := filterNodes()
			pl := newTestPlugin(t, ctx, storeWith(filterPolicyReserving(t, !tt.reserveOff)), nodes, nil)
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, tt.pod, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			var node *v1.Node
			for _, n := range nodes {
				if n.Name == tt.node {
					node = n
				}
			}
			ni := framework.NewNodeInfo()
			ni.SetNode(node)
			status := pl.Filter(ctx, cs, tt.pod, ni)
			if tt.wantReason == "" {
				if !status.IsSuccess() {
					t.Errorf("Filter = %v, want success", status)
				}
				return
			}
			if status.Code() != fwk.UnschedulableAndUnresolvable {
				t.Errorf("Filter code = %v, want UnschedulableAndUnresolvable", status.Code())
			}
			if diff := cmp.Diff([]string{tt.wantReason}, status.Reasons()); diff != "" {
				t.Errorf("Filter reasons (-want +got):\n%s", diff)
			}
		})
	}
}

// TestFilterNodeUnknownToIndex: a node the index has not seen yet (its event
// still in flight) is classified on the spot, not admitted blindly.
func TestFilterNodeUnknownToIndex(t *testing.T) {
	tests := []struct {
		name   string
		node   *v1.Node
		wantOK bool
	}{
		{"new node in the pool", makeNode("new-l4", "4", "pool", "l4", modelLabel, "NVIDIA-L4"), true},
		{"new node outside the pool", makeNode("new-cpu", "", "pool", "cpu"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, filterPolicy)), filterNodes(), nil)
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, teamBTraining, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			ni := framework.NewNodeInfo()
			ni.SetNode(tt.node)
			if got := pl.Filter(ctx, cs, teamBTraining, ni).IsSuccess(); got != tt.wantOK {
				t.Errorf("Filter admitted = %v, want %v", got, tt.wantOK)
			}
		})
	}
}

// TestPreFilterFollowsSwap: a cycle after a swap is judged by the new policy,
// and the PreFilterResult comes from the index under that policy.
func TestPreFilterFollowsSwap(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	store := storeWith(mustLoad(t, filterPolicy))
	pl := newTestPlugin(t, ctx, store, filterNodes(), nil)
	moved := strings.Replace(filterPolicy, "pools: [a100]\n", "pools: [l4]\n", 1)
	store.Swap(mustLoad(t, moved), "test")
	res, s := pl.PreFilter(ctx, framework.NewCycleState(), researchTraining, nil)
	if !s.IsSuccess() || res == nil {
		t.Fatalf("PreFilter = %v, %v; want a result", res, s)
	}
	if diff := cmp.Diff([]string{"l4-1", "l4-2"}, sets.List(res.NodeNames)); diff != "" {
		t.Errorf("PreFilterResult after swap (-want +got):\n%s", diff)
	}
}

// TestPostFilterExplains: PostFilter states the rule's allowance in policy terms.
func TestPostFilterExplains(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	p := mustLoad(t, filterPolicy)
	tests := []struct {
		name string
		pod  *v1.Pod
		want string
	}{
		{"owner of the pool", researchTraining,
			"pod matched rule research-training of policy " + p.Hash() + " (test), which lets it use nodes in pool a100, with GPUs (it requests 1): 2 node(s) qualify"},
		{"another namespace: the owned pool is out", teamBTraining,
			"pod matched rule training of policy " + p.Hash() + " (test), which lets it use nodes in pool {a100, l4}, with GPUs (it requests 1), outside pools owned by other namespaces: 2 node(s) qualify"},
		{"CPU pod with GPU nodes reserved", defaultCPU,
			"pod matched rule default of policy " + p.Hash() + " (test), which lets it use nodes without GPUs (it requests none and reserveGPUNodes is on), outside pools owned by other namespaces: 6 node(s) qualify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pl := newTestPlugin(t, ctx, storeWith(p), filterNodes(), nil)
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, tt.pod, nil); !s.IsSuccess() && !s.IsSkip() {
				t.Fatalf("PreFilter: %v", s)
			}
			res, s := pl.PostFilter(ctx, cs, tt.pod, nil)
			if res != nil || s.Code() != fwk.Unschedulable {
				t.Fatalf("PostFilter = %v, %v; want nil, Unschedulable", res, s)
			}
			if s.Message() != tt.want {
				t.Errorf("PostFilter message\n got %q\nwant %q", s.Message(), tt.want)
			}
		})
	}
}

// TestPreFilterIndexBehindSnapshot: the index is fed by the plugin's own
// node handler, which may lag the scheduler's snapshot (at start-up, when
// the scheduler waits only for its own handlers). A node the snapshot has
// and the index does not must not be cut out by the PreFilterResult: the
// Add event that would requeue the pod has already been consumed, so it
// would wait for the next unschedulable-pods flush (5 minutes).
func TestPreFilterIndexBehindSnapshot(t *testing.T) {
	tests := []struct {
		name string
		pod  *v1.Pod
		late *v1.Node
	}{
		{"confined pool gains a node", researchTraining, makeNode("a100-3", "8", "pool", "a100", modelLabel, "NVIDIA-A100")},
		{"the only qualifying node", h100Pod, makeNode("h100-1", "8", modelLabel, "NVIDIA-H100")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			nodes := filterNodes()
			pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, filterPolicy)), nodes, nil) // index without tt.late
			snapshot := tf.BuildNodeInfos(append(nodes, tt.late))
			res, s := pl.PreFilter(ctx, framework.NewCycleState(), tt.pod, snapshot)
			if !s.IsSuccess() {
				t.Fatalf("PreFilter = %v; want success while the index lags the snapshot", s)
			}
			if res != nil && !res.NodeNames.Has(tt.late.Name) {
				t.Errorf("PreFilterResult %v leaves out %s, which the snapshot has and the rule admits", sets.List(res.NodeNames), tt.late.Name)
			}
		})
	}
}

// TestFilterOverlappingOwnedPools: a node in several owned pools admits the
// owners of any of them (README, pools[].ownerNamespaces) and no one else.
func TestFilterOverlappingOwnedPools(t *testing.T) {
	doc := filterPolicy + `- name: shared
  match: {podSelector: {matchLabels: {workload: shared}}}
  pools: [shared]
`
	doc = strings.Replace(doc, "- name: l4\n", "- name: shared\n  nodeSelector: {matchLabels: {shared: \"true\"}}\n  ownerNamespaces: [team-b]\n- name: l4\n", 1)
	node := makeNode("both", "8", "pool", "a100", "shared", "true")
	tests := []struct {
		ns     string
		wantOK bool
	}{{"research", true}, {"team-b", true}, {"team-c", false}}
	for _, tt := range tests {
		t.Run(tt.ns, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, doc)), append(filterNodes(), node), nil)
			pod := makePod(tt.ns, "p", "1", "workload", "shared")
			cs := framework.NewCycleState()
			if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() {
				t.Fatalf("PreFilter: %v", s)
			}
			ni := framework.NewNodeInfo()
			ni.SetNode(node)
			s := pl.Filter(ctx, cs, pod, ni)
			if s.IsSuccess() != tt.wantOK {
				t.Errorf("Filter = %v, want admitted %v", s, tt.wantOK)
			}
			if !tt.wantOK && s.Message() != ReasonOwnedPool {
				t.Errorf("Filter reason = %q, want %q", s.Message(), ReasonOwnedPool)
			}
		})
	}
}
