package nodeindex

import (
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const testPolicy = `
apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: a100
  nodeSelector: {matchLabels: {pool: a100}}
  ownerNamespaces: [research]
- name: l4
  nodeSelector: {matchLabels: {pool: l4}}
rules:
- name: a100
  match: {podSelector: {matchLabels: {want: a100}}}
  pools: [a100]
- name: l4
  match: {podSelector: {matchLabels: {want: l4}}}
  pools: [l4]
- name: model
  match: {podSelector: {matchLabels: {want: model}}}
  gpuModels: [NVIDIA-L4]
`

func mustLoad(t testing.TB, doc string) *policy.Compiled {
	t.Helper()
	p, err := policy.Load([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// node returns a node with gpus GPUs and labels (key, value pairs).
func node(name string, gpus int64, kv ...string) *v1.Node {
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{}}}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	n.Status.Allocatable = v1.ResourceList{v1.ResourceCPU: resource.MustParse("8")}
	if gpus > 0 {
		n.Status.Allocatable[policy.DefaultGPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return n
}

// admitted lists the nodes rule (by name, "default" too) admits in v.
func admitted(t *testing.T, v *View, rule string, wantsGPU bool) []string {
	t.Helper()
	if v == nil {
		t.Fatal("View() = nil")
	}
	for i := 0; i <= v.Policy.RuleCount(); i++ {
		if r := v.Policy.RuleByIndex(i); r.Name == rule {
			return sets.List(v.Admitted(r, wantsGPU))
		}
	}
	t.Fatalf("no rule %q", rule)
	return nil
}

func TestAdmittedFollowsChanges(t *testing.T) {
	type check struct {
		rule     string
		wantsGPU bool
		want     []string
	}
	tests := []struct {
		name   string
		change func(ix *Index)
		checks []check
	}{
		{name: "initial nodes", change: func(*Index) {}, checks: []check{
			{"a100", true, []string{"a1", "a2"}},
			{"l4", true, []string{"l1"}},
			{"l4", false, nil}, // GPU nodes reserved
			{"model", true, []string{"l1"}},
			{"default", true, []string{"a1", "a2", "l1"}},
			{"default", false, []string{"c1"}},
		}},
		{name: "node added", change: func(ix *Index) { ix.UpsertNode(node("a3", 8, "pool", "a100")) }, checks: []check{
			{"a100", true, []string{"a1", "a2", "a3"}},
		}},
		{name: "node relabelled into another pool", change: func(ix *Index) {
			ix.UpsertNode(node("a2", 8, "pool", "l4", policy.DefaultGPUModelLabel, "NVIDIA-L4"))
		}, checks: []check{
			{"a100", true, []string{"a1"}},
			{"l4", true, []string{"a2", "l1"}},
			{"model", true, []string{"a2", "l1"}},
		}},
		{name: "node loses its GPUs", change: func(ix *Index) { ix.UpsertNode(node("l1", 0, "pool", "l4")) }, checks: []check{
			{"l4", true, nil},
			{"l4", false, []string{"l1"}},
			{"default", false, []string{"c1", "l1"}},
		}},
		{name: "node deleted", change: func(ix *Index) { ix.DeleteNode("a1") }, checks: []check{
			{"a100", true, []string{"a2"}},
			{"default", true, []string{"a2", "l1"}},
		}},
		{name: "unknown node deleted", change: func(ix *Index) { ix.DeleteNode("nope") }, checks: []check{
			{"a100", true, []string{"a1", "a2"}},
		}},
		{name: "policy swapped", change: func(ix *Index) {
			ix.SetPolicy(mustLoad(t, testPolicy+"reserveGPUNodes: false\ndefault: {pools: [l4]}\n"))
		}, checks: []check{
			{"l4", false, []string{"l1"}},
			{"default", false, []string{"l1"}},
			{"default", true, []string{"l1"}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := New()
			// Nodes known before the first policy are classified when it arrives.
			for _, n := range []*v1.Node{
				node("a1", 8, "pool", "a100"), node("a2", 8, "pool", "a100"),
				node("l1", 4, "pool", "l4", policy.DefaultGPUModelLabel, "NVIDIA-L4"), node("c1", 0),
			} {
				ix.UpsertNode(n)
			}
			if v := ix.View(); v != nil {
				t.Fatalf("View() before any policy = %v, want nil", v)
			}
			ix.SetPolicy(mustLoad(t, testPolicy))
			_ = admitted(t, ix.View(), "a100", true) // fill the cache before the change
			tt.change(ix)
			v := ix.View()
			for _, c := range tt.checks {
				if diff := cmp.Diff(c.want, admitted(t, v, c.rule, c.wantsGPU), cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("Admitted(%s, wantsGPU=%v) (-want +got):\n%s", c.rule, c.wantsGPU, diff)
				}
			}
		})
	}
}

func TestViewStaleness(t *testing.T) {
	heartbeat := func(n *v1.Node) *v1.Node {
		n = n.DeepCopy()
		n.ResourceVersion = "2"
		n.Annotations = map[string]string{"heartbeat": "now"}
		n.Status.Conditions = []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue, LastHeartbeatTime: metav1.Now()}}
		n.Status.Allocatable[v1.ResourceCPU] = resource.MustParse("7") // not a GPU resource
		return n
	}
	base := node("a1", 8, "pool", "a100")
	tests := []struct {
		name     string
		update   func(ix *Index)
		wantSame bool
	}{
		{"heartbeat", func(ix *Index) { ix.UpsertNode(heartbeat(base)) }, true},
		{"label no pool selects", func(ix *Index) { ix.UpsertNode(node("a1", 8, "pool", "a100", "other", "x")) }, true},
		{"pool label change", func(ix *Index) { ix.UpsertNode(node("a1", 8, "pool", "l4")) }, false},
		{"GPU model change", func(ix *Index) {
			ix.UpsertNode(node("a1", 8, "pool", "a100", policy.DefaultGPUModelLabel, "NVIDIA-L4"))
		}, false},
		{"GPU allocatable change", func(ix *Index) { ix.UpsertNode(node("a1", 4, "pool", "a100")) }, false},
		{"new node", func(ix *Index) { ix.UpsertNode(node("a2", 8)) }, false},
		{"delete", func(ix *Index) { ix.DeleteNode("a1") }, false},
		{"delete of an unknown node", func(ix *Index) { ix.DeleteNode("zzz") }, true},
		{"policy swap", func(ix *Index) { ix.SetPolicy(mustLoad(t, testPolicy)) }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := New()
			ix.SetPolicy(mustLoad(t, testPolicy))
			ix.UpsertNode(base)
			before := ix.View()
			tt.update(ix)
			after := ix.View()
			if got := before == after; got != tt.wantSame {
				t.Errorf("same *View after update = %v, want %v", got, tt.wantSame)
			}
			if again := ix.View(); again != after {
				t.Error("View() without an update returned a new *View")
			}
		})
	}
}

// TestAdmittedCachedPerView: the set is computed once per view, rule and pod kind.
func TestAdmittedCachedPerView(t *testing.T) {
	ix := New()
	ix.SetPolicy(mustLoad(t, testPolicy))
	a1 := node("a1", 8, "pool", "a100")
	ix.UpsertNode(a1)
	v := ix.View()
	r := v.Policy.Rules[0]
	first := v.Admitted(r, true)
	first2 := v.Admitted(r, true)
	if fmt.Sprintf("%p", first) != fmt.Sprintf("%p", first2) {
		t.Error("Admitted recomputed the set for the same view and rule")
	}
	if v.Admitted(r, false).Len() != 0 {
		t.Error("Admitted(wantsGPU=false) shares the GPU pods' set")
	}
	if nc := v.ClassOf(a1); nc == nil || nc.GPUs != 8 || !nc.Pools.Has(0) {
		t.Errorf("ClassOf(a1) = %+v", nc)
	}
	if nc := v.ClassOf(node("nope", 0)); nc != nil {
		t.Errorf("ClassOf an unknown node = %+v, want nil", nc)
	}
	// Another object for the same node (the scheduler saw a newer version
	// than the index): no class until the index records that object.
	newer := a1.DeepCopy()
	if nc := v.ClassOf(newer); nc != nil {
		t.Errorf("ClassOf a version the index has not seen = %+v, want nil", nc)
	}
	ix.UpsertNode(newer) // same labels and GPUs: a heartbeat
	v2 := ix.View()
	if v2.ClassOf(newer) == nil || v2.ClassOf(a1) == nil {
		t.Errorf("after a heartbeat: ClassOf(newer) %v, ClassOf(old) %v; want the class for both", v2.ClassOf(newer), v2.ClassOf(a1))
	}
	if again := v2.Admitted(r, true); fmt.Sprintf("%p", again) != fmt.Sprintf("%p", first) {
		t.Error("a heartbeat made the view recompute the admitted set")
	}
}

// TestViewFollowsMovedNodes: heartbeats (new objects, same class) keep the
// view until more than 1/movedShare of the nodes moved; the rebuilt view
// knows the new objects directly and keeps the per-rule sets.
func TestViewFollowsMovedNodes(t *testing.T) {
	ix := New()
	ix.SetPolicy(mustLoad(t, testPolicy))
	var nodes []*v1.Node
	const count = 400 // count/movedShare > movedFloor
	for i := 0; i < count; i++ {
		n := node(fmt.Sprintf("a%d", i), 8, "pool", "a100")
		nodes = append(nodes, n)
		ix.UpsertNode(n)
	}
	v := ix.View()
	r := v.Policy.Rules[0]
	set := v.Admitted(r, true)
	var newer []*v1.Node
	for i := 0; i <= count/movedShare; i++ {
		n := nodes[i].DeepCopy()
		newer = append(newer, n)
		ix.UpsertNode(n)
		if i < count/movedShare {
			if got := ix.View(); got != v {
				t.Fatalf("view rebuilt after %d of %d nodes moved", i+1, count)
			}
		}
	}
	v2 := ix.View()
	if v2 == v {
		t.Fatal("view not rebuilt after more than 1/movedShare of the nodes moved")
	}
	if v2.byNode.lookup(newer[0]) == nil {
		t.Error("rebuilt view does not index the moved node's new object")
	}
	if got := v2.Admitted(r, true); fmt.Sprintf("%p", got) != fmt.Sprintf("%p", set) {
		t.Error("rebuild after moves only recomputed the admitted set")
	}
	ix.UpsertNode(node("a0", 0, "pool", "a100")) // a class change
	if v3 := ix.View(); fmt.Sprintf("%p", v3.Admitted(r, true)) == fmt.Sprintf("%p", set) || v3.Admitted(r, true).Has("a0") {
		t.Error("a class change kept the stale admitted set")
	}
}

// TestConcurrentReaders runs readers against writers; run with -race.
func TestConcurrentReaders(t *testing.T) {
	ix := New()
	p1 := mustLoad(t, testPolicy)
	p2 := mustLoad(t, testPolicy+"reserveGPUNodes: false\n")
	ix.SetPolicy(p1)
	for i := 0; i < 50; i++ {
		ix.UpsertNode(node(fmt.Sprintf("n%d", i), int64(i%3), "pool", []string{"a100", "l4", "cpu"}[i%3]))
	}
	const rounds = 300
	var wg sync.WaitGroup
	for r := 0; r < 4; r++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < rounds; i++ {
				v := ix.View()
				for j := 0; j <= v.Policy.RuleCount(); j++ {
					rule := v.Policy.RuleByIndex(j)
					for name := range v.Admitted(rule, j%2 == 0) {
						if _, ok := v.classes[name]; !ok {
							t.Errorf("admitted node %s has no class in the same view", name)
							return
						}
					}
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			name := fmt.Sprintf("n%d", i%60)
			switch i % 4 {
			case 0:
				ix.DeleteNode(name)
			case 1:
				ix.SetPolicy([]*policy.Compiled{p1, p2}[i%2])
			default:
				ix.UpsertNode(node(name, int64(i%2)*4, "pool", "l4"))
			}
		}
	}()
	wg.Wait()
}
