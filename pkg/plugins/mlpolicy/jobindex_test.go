package mlpolicy

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	schedulerapi "k8s.io/kubernetes/pkg/scheduler/apis/config"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const colocatePolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: false
default:
  colocate: {jobLabel: job, topologyKey: rack}
`

// boundTo returns a copy of p (a new object, as an informer delivers) on node.
func boundTo(p *v1.Pod, node string) *v1.Pod {
	c := p.DeepCopy()
	c.Spec.NodeName = node
	return c
}

// jobNodes is how many of the job's placed pods the index has on each node.
func jobNodes(tb testing.TB, ix *jobIndex, namespace, label, job string) map[string]int {
	tb.Helper()
	got := map[string]int{}
	if err := ix.eachNode(namespace, label, job, func(node string) { got[node]++ }); err != nil {
		tb.Fatalf("eachNode(%s, %s=%s): %v", namespace, label, job, err)
	}
	return got
}

// TestJobIndex: what the index holds for job j1 of namespace ml after pods
// are added to, changed in and deleted from the informer's store (each
// store change followed, as an informer does, by the event handler), and
// reserved and unreserved by the scheduler.
func TestJobIndex(t *testing.T) {
	var (
		pendingA = makePod("ml", "a", "", "job", "j1")
		a        = boundTo(pendingA, "n1")
		b        = boundTo(makePod("ml", "b", "", "job", "j1"), "n2")
		otherJob = boundTo(makePod("ml", "c", "", "job", "j2"), "n1")
		otherNS  = boundTo(makePod("other", "a", "", "job", "j1"), "n1")
		noLabel  = boundTo(makePod("ml", "d", "", "team", "j1"), "n1")
	)
	ended := func(p *v1.Pod, phase v1.PodPhase) *v1.Pod { c := p.DeepCopy(); c.Status.Phase = phase; return c }
	rejobbed := func(p *v1.Pod, job string) *v1.Pod { c := p.DeepCopy(); c.Labels["job"] = job; return c }

	type step func(t *testing.T, ix *jobIndex)
	add := func(p *v1.Pod) step {
		return func(t *testing.T, ix *jobIndex) {
			if err := ix.store.Add(p); err != nil {
				t.Fatal(err)
			}
			ix.onPod(p)
		}
	}
	update := func(p *v1.Pod) step {
		return func(t *testing.T, ix *jobIndex) {
			if err := ix.store.Update(p); err != nil {
				t.Fatal(err)
			}
			ix.onPod(p)
		}
	}
	// storeOnly: the store has the change, its event is not delivered yet.
	storeOnly := func(p *v1.Pod) step {
		return func(t *testing.T, ix *jobIndex) {
			if err := ix.store.Update(p); err != nil {
				t.Fatal(err)
			}
		}
	}
	del := func(p *v1.Pod, tombstone bool) step {
		return func(t *testing.T, ix *jobIndex) {
			if err := ix.store.Delete(p); err != nil {
				t.Fatal(err)
			}
			if tombstone {
				ix.onPodDelete(cache.DeletedFinalStateUnknown{Key: p.Namespace + "/" + p.Name, Obj: p})
			} else {
				ix.onPodDelete(p)
			}
		}
	}
	reserve := func(p *v1.Pod, node string) step {
		return func(_ *testing.T, ix *jobIndex) { ix.assume(boundTo(p, node), node) }
	}
	unreserve := func(p *v1.Pod) step {
		return func(_ *testing.T, ix *jobIndex) { ix.forget(p.UID) }
	}

	tests := []struct {
		name string
		// late: the job label key is indexed after the steps, by the query.
		late  bool
		steps []step
		want  map[string]int
		// wantAssumed is how many assumed pods the index still holds.
		wantAssumed int
	}{
		{name: "bound pods of the job only, not other jobs, namespaces, label keys or pending pods",
			steps: []step{add(a), add(b), add(otherJob), add(otherNS), add(noLabel), add(makePod("ml", "e", "", "job", "j1"))},
			want:  map[string]int{"n1": 1, "n2": 1}},
		{name: "two pods on a node", steps: []step{add(a), add(boundTo(makePod("ml", "a2", "", "job", "j1"), "n1"))},
			want: map[string]int{"n1": 2}},
		{name: "a pending pod counts once bound", steps: []step{add(pendingA), update(a)}, want: map[string]int{"n1": 1}},
		{name: "update moves a pod to another node", steps: []step{add(a), update(boundTo(a, "n3"))}, want: map[string]int{"n3": 1}},
		{name: "update moves a pod to another job", steps: []step{add(a), add(b), update(rejobbed(a, "j2"))}, want: map[string]int{"n2": 1}},
		{name: "update moves a pod into the job", steps: []step{add(otherJob), update(rejobbed(otherJob, "j1"))}, want: map[string]int{"n1": 1}},
		{name: "delete", steps: []step{add(a), add(b), del(a, false)}, want: map[string]int{"n2": 1}},
		{name: "delete seen as a tombstone", steps: []step{add(a), add(b), del(b, true)}, want: map[string]int{"n1": 1}},
		{name: "pods that ended do not count",
			steps: []step{add(a), update(ended(a, v1.PodSucceeded)), add(ended(b, v1.PodFailed))}, want: map[string]int{}},
		{name: "reserve counts the assumed pod on its node", steps: []step{add(pendingA), reserve(pendingA, "n4")},
			want: map[string]int{"n4": 1}, wantAssumed: 1},
		{name: "reserve of a pod the store does not have yet", steps: []step{reserve(pendingA, "n4")},
			want: map[string]int{"n4": 1}, wantAssumed: 1},
		{name: "reserve of a pod of another job or namespace", steps: []step{reserve(otherJob, "n4"), reserve(otherNS, "n4")},
			want: map[string]int{}, wantAssumed: 2},
		{name: "reserve again moves the assumed pod", steps: []step{add(pendingA), reserve(pendingA, "n4"), reserve(pendingA, "n5")},
			want: map[string]int{"n5": 1}, wantAssumed: 1},
		{name: "unreserve drops the assumed pod", steps: []step{add(pendingA), add(b), reserve(pendingA, "n4"), unreserve(pendingA)},
			want: map[string]int{"n2": 1}},
		{name: "unreserve of a pod never reserved leaves bound pods", steps: []step{add(a), unreserve(a)},
			want: map[string]int{"n1": 1}},
		{name: "reserved then bound counts once, before the handler runs", steps: []step{add(pendingA), reserve(pendingA, "n1"), storeOnly(a)},
			want: map[string]int{"n1": 1}, wantAssumed: 1},
		{name: "reserved then bound: the handler drops the assumed entry", steps: []step{add(pendingA), reserve(pendingA, "n1"), update(a)},
			want: map[string]int{"n1": 1}},
		{name: "unreserve after the informer shows the pod bound keeps it",
			steps: []step{add(pendingA), reserve(pendingA, "n1"), update(a), unreserve(pendingA)}, want: map[string]int{"n1": 1}},
		{name: "a reserved pod deleted before it is bound", steps: []step{add(pendingA), reserve(pendingA, "n4"), del(pendingA, true)},
			want: map[string]int{}},
		{name: "a key indexed late covers the pods already bound and assumed", late: true,
			steps: []step{add(a), add(otherJob), add(b), reserve(b, "n2"), reserve(makePod("ml", "f", "", "job", "j1"), "n4")},
			want:  map[string]int{"n1": 1, "n2": 1, "n4": 1}, wantAssumed: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := newJobIndexOn(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))
			if !tt.late {
				if err := ix.indexPolicy(mustLoad(t, colocatePolicy)); err != nil {
					t.Fatal(err)
				}
			}
			for _, s := range tt.steps {
				s(t, ix)
			}
			if diff := cmp.Diff(tt.want, jobNodes(t, ix, "ml", "job", "j1")); diff != "" {
				t.Errorf("nodes of ml/j1 (-want +got):\n%s", diff)
			}
			ix.mu.Lock()
			assumed, byJob := len(ix.assumed), 0
			for _, m := range ix.assumedByJob {
				byJob += len(m)
			}
			ix.mu.Unlock()
			if assumed != tt.wantAssumed {
				t.Errorf("assumed pods held = %d, want %d", assumed, tt.wantAssumed)
			}
			if tt.wantAssumed == 0 && byJob != 0 {
				t.Errorf("assumed entries by job = %d, want none", byJob)
			}
		})
	}
}

// TestJobIndexKeys: a pod counts under each indexed jobLabel key it has,
// bound or assumed, and a second index over the same store (another
// profile's plugin sharing the informer) reuses the first one's indexes.
func TestJobIndexKeys(t *testing.T) {
	store := cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{})
	ix := newJobIndexOn(store)
	twoKeys := mustLoad(t, `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: by-team
  match: {podSelector: {matchLabels: {mode: team}}}
  colocate: {jobLabel: team, topologyKey: zone}
default:
  colocate: {jobLabel: job, topologyKey: rack}
`)
	if err := ix.indexPolicy(twoKeys); err != nil {
		t.Fatal(err)
	}
	bound := boundTo(makePod("ml", "a", "", "job", "j1", "team", "t1"), "n1")
	if err := store.Add(bound); err != nil {
		t.Fatal(err)
	}
	ix.assume(boundTo(makePod("ml", "b", "", "job", "j1", "team", "t1"), "n2"), "n2")

	other := newJobIndexOn(store)
	if err := other.indexPolicy(twoKeys); err != nil {
		t.Fatalf("a second index over the same store: %v", err)
	}
	for _, c := range []struct {
		ix         *jobIndex
		label, job string
		want       map[string]int
	}{
		{ix, "job", "j1", map[string]int{"n1": 1, "n2": 1}},
		{ix, "team", "t1", map[string]int{"n1": 1, "n2": 1}},
		{other, "team", "t1", map[string]int{"n1": 1}}, // the assumed pod is the first plugin's
	} {
		if diff := cmp.Diff(c.want, jobNodes(t, c.ix, "ml", c.label, c.job)); diff != "" {
			t.Errorf("nodes of ml/%s=%s (-want +got):\n%s", c.label, c.job, diff)
		}
	}
}

// TestJobIndexInformer: the plugin's index follows the scheduler's pod
// informer (bound pods, binding, deletion), Reserve and Unreserve, and a
// policy swap that brings a new jobLabel key while the informer runs.
func TestJobIndexInformer(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	running := boundTo(makePod("ml", "running", "", "job", "j1", "team", "t1"), "n1")
	pending := makePod("ml", "pending", "", "job", "j1", "team", "t1")
	client := fake.NewClientset([]runtime.Object{running, pending}...)
	factory := informers.NewSharedInformerFactory(client, 0)
	fh, err := frameworkruntime.NewFramework(ctx, nil, &schedulerapi.KubeSchedulerProfile{SchedulerName: "ml-scheduler"},
		frameworkruntime.WithInformerFactory(factory), frameworkruntime.WithClientSet(client))
	if err != nil {
		t.Fatal(err)
	}
	store := storeWith(mustLoad(t, colocatePolicy))
	pl, err := newWithStore(ctx, &config.MLPolicyArgs{}, fh, store)
	if err != nil {
		t.Fatal(err)
	}
	factory.Start(ctx.Done())
	factory.WaitForCacheSync(ctx.Done())

	waitFor := func(what string, label, job string, want map[string]int, wantAssumed int) {
		t.Helper()
		var got map[string]int
		var assumed int
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
			got = jobNodes(t, pl.jobs, "ml", label, job)
			pl.jobs.mu.Lock()
			assumed = len(pl.jobs.assumed)
			pl.jobs.mu.Unlock()
			return cmp.Equal(want, got) && assumed == wantAssumed, nil
		})
		if err != nil {
			t.Fatalf("%s: nodes of ml/%s=%s = %v with %d assumed, want %v with %d", what, label, job, got, assumed, want, wantAssumed)
		}
	}
	waitFor("at start", "job", "j1", map[string]int{"n1": 1}, 0)

	cs := framework.NewCycleState()
	if s := pl.Reserve(ctx, cs, boundTo(pending, "n2"), "n2"); !s.IsSuccess() {
		t.Fatalf("Reserve: %v", s)
	}
	waitFor("reserved", "job", "j1", map[string]int{"n1": 1, "n2": 1}, 1)

	if _, err := client.CoreV1().Pods("ml").Update(ctx, boundTo(pending, "n2"), metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("bound", "job", "j1", map[string]int{"n1": 1, "n2": 1}, 0)
	pl.Unreserve(ctx, cs, pending, "n2") // a binding that failed late: the informer has the pod bound
	waitFor("unreserved after bound", "job", "j1", map[string]int{"n1": 1, "n2": 1}, 0)

	third := makePod("ml", "third", "", "job", "j1")
	pl.Reserve(ctx, cs, boundTo(third, "n3"), "n3")
	pl.Unreserve(ctx, cs, third, "n3")
	waitFor("reserved and unreserved", "job", "j1", map[string]int{"n1": 1, "n2": 1}, 0)

	if err := client.CoreV1().Pods("ml").Delete(ctx, "running", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor("deleted", "job", "j1", map[string]int{"n2": 1}, 0)

	// A new key while the informer runs: its index is built from the store.
	store.Swap(mustLoad(t, `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
default:
  colocate: {jobLabel: team, topologyKey: rack}
`), "test")
	pl.jobs.mu.Lock()
	_, indexed := pl.jobs.indexes["team"]
	pl.jobs.mu.Unlock()
	if !indexed {
		t.Errorf("the swap did not index the new jobLabel key")
	}
	waitFor("new key", "team", "t1", map[string]int{"n2": 1}, 0)
}

// TestJobIndexConcurrent exercises, for the race detector, the informer's
// side (store changes and their handlers) against the scheduler's
// (Reserve, Unreserve, PreScore's reads and a swap's new key).
func TestJobIndexConcurrent(t *testing.T) {
	ix := newJobIndexOn(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))
	if err := ix.indexPolicy(mustLoad(t, colocatePolicy)); err != nil {
		t.Fatal(err)
	}
	const n = 200
	pods := make([]*v1.Pod, n)
	for i := range pods {
		pods[i] = makePod("ml", fmt.Sprintf("p-%d", i), "", "job", fmt.Sprintf("j%d", i%4), "team", "t")
	}
	var wg sync.WaitGroup
	wg.Go(func() { // informer
		for i, p := range pods {
			b := boundTo(p, fmt.Sprintf("n%d", i%7))
			_ = ix.store.Add(b)
			ix.onPod(b)
			if i%3 == 0 {
				_ = ix.store.Delete(b)
				ix.onPodDelete(b)
			}
		}
	})
	wg.Go(func() { // scheduler
		for i, p := range pods {
			ix.assume(boundTo(p, "n9"), "n9")
			if i%2 == 0 {
				ix.forget(p.UID)
			}
			_ = ix.eachNode("ml", "job", "j1", func(string) {})
			if i == n/2 {
				_ = ix.eachNode("ml", "team", "t", func(string) {})
			}
		}
	})
	wg.Wait()
	// Every pod ended bound (and a third deleted): none is assumed any more.
	got := jobNodes(t, ix, "ml", "job", "j1")
	total := 0
	for _, c := range got {
		total += c
	}
	want := 0
	for i := range pods {
		if i%4 == 1 && i%3 != 0 {
			want++
		}
	}
	// A pod assumed after the informer bound or deleted it stays assumed
	// (the scheduler never does that); count the store's pods only.
	bound, err := ix.store.ByIndex(ix.indexes["job"], jobIndexValue("ml", "j1"))
	if err != nil {
		t.Fatal(err)
	}
	if len(bound) != want {
		t.Errorf("bound pods of j1 = %d, want %d", len(bound), want)
	}
	if total < want {
		t.Errorf("placed pods of j1 = %d, want at least the %d bound", total, want)
	}
}

// countJobByWalk is countJob before the job index: a walk over every pod of
// every node in the snapshot. The tests hold the index to its counts; the
// benchmark runs it for comparison.
func countJobByWalk(pl *MLPolicy, namespace string, c *policy.Colocation, job string, ss *scoreState) error {
	nodes, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		return err
	}
	ss.topologyKey = c.TopologyKey
	ss.domainCount = map[string]int64{}
	for _, ni := range nodes {
		domain, ok := ni.Node().Labels[c.TopologyKey]
		if !ok {
			continue
		}
		for _, pi := range ni.GetPods() {
			p := pi.GetPod()
			if p.Namespace == namespace && p.Labels[c.JobLabel] == job {
				ss.domainCount[domain]++
			}
		}
	}
	for _, n := range ss.domainCount {
		if n > ss.maxCount {
			ss.maxCount = n
		}
	}
	return nil
}

const (
	colocateBenchNodes   = 500
	colocateBenchRacks   = 50
	colocateBenchJobPods = 32
)

// colocateBenchSetup: 500 nodes in 50 racks (every tenth node has no rack
// label), the 32 pods of job j1 in namespace ml, and other pods: of other
// jobs in ml (16 pods each), of a job j1 in another namespace, and without
// a job label. The returned pod is the next of j1, after PreFilter.
func colocateBenchSetup(tb testing.TB, other int) (*MLPolicy, *v1.Pod, fwk.CycleState, []*v1.Node) {
	tb.Helper()
	nodes := make([]*v1.Node, colocateBenchNodes)
	for i := range nodes {
		kv := []string{"rack", fmt.Sprintf("r%02d", i%colocateBenchRacks)}
		if i%10 == 9 {
			kv = nil
		}
		nodes[i] = makeNode(fmt.Sprintf("node-%03d", i), "8", kv...)
	}
	pods := make([]*v1.Pod, 0, colocateBenchJobPods+other)
	for i := 0; i < colocateBenchJobPods; i++ {
		pods = append(pods, boundTo(makePod("ml", fmt.Sprintf("j1-%d", i), "1", "job", "j1"), nodes[(i*7)%len(nodes)].Name))
	}
	for i := 0; i < other; i++ {
		var p *v1.Pod
		switch i % 4 {
		case 0, 1:
			p = makePod("ml", fmt.Sprintf("o-%d", i), "1", "job", fmt.Sprintf("o%d", i/16))
		case 2:
			p = makePod("other", fmt.Sprintf("o-%d", i), "1", "job", "j1")
		default:
			p = makePod("ml", fmt.Sprintf("o-%d", i), "")
		}
		pods = append(pods, boundTo(p, nodes[(i*13)%len(nodes)].Name))
	}
	ctx := context.Background()
	pl := newTestPlugin(tb, ctx, storeWith(mustLoad(tb, colocatePolicy)), nodes, pods)
	pod := makePod("ml", "next", "1", "job", "j1")
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, pod, nil); !s.IsSuccess() && !s.IsSkip() {
		tb.Fatal(s)
	}
	return pl, pod, cs, nodes
}

// BenchmarkPreScoreColocate: PreScore of a colocated pod as the other pods
// of the cluster grow twentyfold; walk is the per-pod walk it replaced.
func BenchmarkPreScoreColocate(b *testing.B) {
	for _, other := range []int{1000, 20000} {
		pl, pod, cs, _ := colocateBenchSetup(b, other)
		ctx := context.Background()
		b.Run(fmt.Sprintf("other=%d/index", other), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
					b.Fatal(s)
				}
			}
		})
		c := pl.store.Load().Policy.Default.Colocate
		b.Run(fmt.Sprintf("other=%d/walk", other), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := countJobByWalk(pl, pod.Namespace, c, "j1", &scoreState{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestScoreColocateDoesNotAllocate: Score stays allocation-free with colocation.
func TestScoreColocateDoesNotAllocate(t *testing.T) {
	pl, pod, cs, nodes := colocateBenchSetup(t, 100)
	ctx := context.Background()
	if s := pl.PreScore(ctx, cs, pod, nil); !s.IsSuccess() {
		t.Fatal(s)
	}
	for _, n := range []*v1.Node{nodes[0], nodes[9]} { // racked and not
		ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(n.Name)
		if err != nil {
			t.Fatal(err)
		}
		if a := testing.AllocsPerRun(100, func() { pl.Score(ctx, cs, pod, ni) }); a != 0 {
			t.Errorf("Score on %s allocates %v times per call, want 0", n.Name, a)
		}
	}
}
