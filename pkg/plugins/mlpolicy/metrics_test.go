package mlpolicy

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/component-base/metrics/testutil"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/backend/cache"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/defaultbinder"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/queuesort"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"
	tf "k8s.io/kubernetes/pkg/scheduler/testing/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// gangPolicy: pods labelled workload=gang must come as a gang.
const gangPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: gangs-only
  match: {podSelector: {matchLabels: {workload: gang}}}
  gang: {required: true}
`

// metricsFramework is a real framework running MLPolicy's PreFilter,
// Filter and PostFilter over store, with the upstream FalseFilter after
// MLPolicy's Filter when refuseRest is set (so the nodes MLPolicy admits
// are refused by another plugin, as a full node would be).
func metricsFramework(t *testing.T, ctx context.Context, store *policystore.Store, nodes []*v1.Node, pods []*v1.Pod, refuseRest bool) framework.Framework {
	t.Helper()
	schedmetrics.Register()
	var pl *MLPolicy
	factory := func(ctx context.Context, _ runtime.Object, h fwk.Handle) (fwk.Plugin, error) {
		p, err := newWithStore(ctx, &config.MLPolicyArgs{}, h, store)
		pl = p
		return p, err
	}
	fns := []tf.RegisterPluginFunc{
		tf.RegisterQueueSortPlugin(queuesort.Name, queuesort.New),
		tf.RegisterBindPlugin(defaultbinder.Name, defaultbinder.New),
		tf.RegisterPluginAsExtensions(Name, factory, "PreFilter", "Filter", "PostFilter"),
	}
	if refuseRest {
		fns = append(fns, tf.RegisterFilterPlugin("FalseFilter", tf.NewFalseFilterPlugin))
	}
	fh, err := tf.NewFramework(ctx, fns, "ml-scheduler", frameworkruntime.WithSnapshotSharedLister(cache.NewSnapshot(pods, nodes)))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		pl.index.UpsertNode(n)
	}
	return fh
}

// attempt is one scheduling attempt as the scheduler's findNodesThatFitPod
// makes it: PreFilter, Filter on every node it leaves (each refusal in the
// nodes' statuses), and PostFilter when no node is feasible. It returns how
// many nodes were refused and whether one was feasible.
func attempt(t *testing.T, ctx context.Context, fh framework.Framework, pod *v1.Pod) (refused int, feasible bool) {
	t.Helper()
	cs := framework.NewCycleState()
	statuses := framework.NewDefaultNodeToStatus()
	infos, err := fh.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		t.Fatal(err)
	}
	res, s, _ := fh.RunPreFilterPlugins(ctx, cs, pod)
	switch {
	case s.IsRejected():
		statuses.SetAbsentNodesStatus(s)
		refused = len(infos)
	case !s.IsSuccess():
		t.Fatalf("PreFilter: %v", s)
	default:
		if !res.AllNodes() {
			statuses.SetAbsentNodesStatus(fwk.NewStatus(fwk.UnschedulableAndUnresolvable, "node(s) didn't satisfy plugin(s) [MLPolicy]"))
		}
		for _, ni := range infos {
			if !res.AllNodes() && !res.NodeNames.Has(ni.Node().Name) {
				refused++
				continue
			}
			st := fh.RunFilterPlugins(ctx, cs, pod, ni)
			if st.IsSuccess() {
				return refused, true
			}
			statuses.Set(ni.Node().Name, st)
			refused++
		}
	}
	if _, st := fh.RunPostFilterPlugins(ctx, cs, pod, statuses); st.IsSuccess() {
		t.Fatalf("PostFilter made the pod schedulable: %v", st)
	}
	return refused, false
}

func rejections(t *testing.T, reason, rule string) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(podRejections.WithLabelValues(reason, rule))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func placed(t *testing.T, rule string) float64 {
	t.Helper()
	v, err := testutil.GetCounterMetricValue(podsPlaced.WithLabelValues(rule))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestRejectionMetrics: one failed attempt counts once, under the pod's rule
// and the policy's reason, however many nodes were refused, and whether
// PreFilter or Filter refused them.
func TestRejectionMetrics(t *testing.T) {
	withoutL4 := func() []*v1.Node {
		var out []*v1.Node
		for _, n := range filterNodes() {
			if n.Labels["pool"] != "l4" && n.Name != "l4-gfd" {
				out = append(out, n)
			}
		}
		return out
	}
	spillNodes, spillPods := fragCluster()
	spillNodes = spillNodes[:3] // big, half, small: GPU nodes only
	tests := []struct {
		name       string
		policy     string // "": none loaded
		nodes      []*v1.Node
		pods       []*v1.Pod
		refuseRest bool
		pod        *v1.Pod
		attempts   int
		wantReason string
		wantRule   string
	}{
		{name: "no node has the GPU model (refused in PreFilter)", policy: filterPolicy, nodes: filterNodes(), pod: h100Pod,
			attempts: 1, wantReason: RejectGPUModel, wantRule: "h100-only"},
		{name: "GPU pod in a CPU pool: the pool's nodes came closest", policy: filterPolicy, nodes: filterNodes(), pod: batchGPU,
			attempts: 2, wantReason: RejectNoGPU, wantRule: "batch"},
		{name: "pool owned by another namespace (refused in Filter)", policy: filterPolicy, nodes: withoutL4(), pod: teamBTraining,
			attempts: 3, wantReason: RejectOwnedPool, wantRule: "training"},
		{name: "CPU pod on GPU nodes only: reserved", policy: filterPolicy, nodes: withoutL4()[:2], pod: defaultCPU,
			attempts: 1, wantReason: RejectReservedForGPU, wantRule: "default"},
		{name: "rule admits nodes, another plugin refuses them", policy: filterPolicy, nodes: filterNodes(), refuseRest: true, pod: inferencePod,
			attempts: 2, wantReason: RejectOther, wantRule: "inference"},
		{name: "cpuSpill: every GPU node would be stranded", policy: fragPolicy, nodes: spillNodes, pods: spillPods, pod: sizedPod("c", "33", "8Gi", ""),
			attempts: 1, wantReason: RejectWouldStrand, wantRule: "default"},
		{name: "gang required, pod outside a PodGroup", policy: gangPolicy, nodes: filterNodes(), pod: makePod("team-b", "g", "1", "workload", "gang"),
			attempts: 1, wantReason: RejectGang, wantRule: "gangs-only"},
		{name: "no policy loaded", nodes: filterNodes(), pod: defaultCPU,
			attempts: 2, wantReason: RejectNoPolicy, wantRule: RuleNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, ctx := ktesting.NewTestContext(t)
			store := policystore.New()
			if tt.policy != "" {
				store = storeWith(mustLoad(t, tt.policy))
			}
			fh := metricsFramework(t, ctx, store, tt.nodes, tt.pods, tt.refuseRest)
			before := map[string]float64{}
			for _, r := range RejectReasons {
				before[r] = rejections(t, r, tt.wantRule)
			}
			for i := 0; i < tt.attempts; i++ {
				refused, feasible := attempt(t, ctx, fh, tt.pod)
				if feasible {
					t.Fatalf("attempt %d: a node was feasible", i)
				}
				if refused != len(tt.nodes) || refused < 2 {
					t.Fatalf("attempt %d refused %d of %d nodes, want all (at least 2)", i, refused, len(tt.nodes))
				}
			}
			for _, r := range RejectReasons {
				want := 0.0
				if r == tt.wantReason {
					want = float64(tt.attempts)
				}
				if got := rejections(t, r, tt.wantRule) - before[r]; got != want {
					t.Errorf("pod_rejections_total{reason=%q,rule=%q} moved by %v, want %v (%d attempts on %d nodes)",
						r, tt.wantRule, got, want, tt.attempts, len(tt.nodes))
				}
			}
		})
	}
}

// TestPlacedMetrics: PostBind counts each bound pod once under its rule
// (the default rule by its name); a pod MLPolicy did not judge is not counted.
func TestPlacedMetrics(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	pl := newTestPlugin(t, ctx, storeWith(mustLoad(t, filterPolicy)), filterNodes(), nil)
	rules := []string{"research-training", "training", "default"}
	before := map[string]float64{}
	for _, r := range rules {
		before[r] = placed(t, r)
	}
	bind := func(pod *v1.Pod, node string) {
		cs := framework.NewCycleState()
		if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
			t.Fatalf("PreFilter(%s): %v", pod.Name, s)
		}
		pl.PostBind(ctx, cs, pod, node)
	}
	bind(researchTraining, "a100-1")
	bind(researchTraining, "a100-2")
	bind(defaultCPU, "cpu-1")
	pl.PostBind(ctx, framework.NewCycleState(), teamBTraining, "l4-1") // not judged by MLPolicy
	want := map[string]float64{"research-training": 2, "training": 0, "default": 1}
	for _, r := range rules {
		if got := placed(t, r) - before[r]; got != want[r] {
			t.Errorf("pods_placed_total{rule=%q} moved by %v, want %v", r, got, want[r])
		}
	}
}
