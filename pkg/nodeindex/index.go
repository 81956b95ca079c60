// Package nodeindex classifies nodes under the policy in force and keeps,
// per rule, the set of node names the rule admits, current with node events.
// PreFilter hands those sets to the framework (PreFilterResult) so a pod
// confined to a pool is filtered against the pool's nodes only, and Filter
// reads a node's precomputed class instead of matching label selectors.
package nodeindex

import (
	"sync"
	"sync/atomic"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Index is safe for concurrent use. Writers (node events, policy swaps) take
// the mutex and mark the published view stale; readers load the view with
// one atomic read and rebuild it only when stale.
type Index struct {
	mu      sync.Mutex
	policy  *policy.Compiled
	nodes   map[string]*v1.Node
	classes map[string]*policy.NodeClass

	stale atomic.Bool
	view  atomic.Pointer[View]
}

// New returns an empty index.
func New() *Index {
	return &Index{nodes: map[string]*v1.Node{}, classes: map[string]*policy.NodeClass{}}
}

// SetPolicy reclassifies every node under p.
func (ix *Index) SetPolicy(p *policy.Compiled) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.policy = p
	ix.classes = make(map[string]*policy.NodeClass, len(ix.nodes))
	for name, n := range ix.nodes {
		nc := p.Classify(n)
		ix.classes[name] = &nc
	}
	ix.stale.Store(true)
}

// UpsertNode records a node's current state. Updates that change nothing the
// policy reads (heartbeats, conditions) leave the published view alone.
func (ix *Index) UpsertNode(n *v1.Node) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.nodes[n.Name] = n
	if ix.policy == nil {
		return
	}
	nc := ix.policy.Classify(n)
	if old, ok := ix.classes[n.Name]; ok && old.Pools == nc.Pools && old.GPUs == nc.GPUs && old.Model == nc.Model {
		return
	}
	ix.classes[n.Name] = &nc
	ix.stale.Store(true)
}

// DeleteNode forgets a node.
func (ix *Index) DeleteNode(name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.nodes, name)
	if _, ok := ix.classes[name]; ok {
		delete(ix.classes, name)
		ix.stale.Store(true)
	}
}

// View returns the current immutable view, or nil before any policy.
func (ix *Index) View() *View {
	if !ix.stale.Load() {
		return ix.view.Load()
	}
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.stale.Load() {
		classes := make(map[string]*policy.NodeClass, len(ix.classes))
		for k, v := range ix.classes {
			classes[k] = v
		}
		v := &View{Policy: ix.policy, classes: classes}
		if ix.policy != nil {
			v.slots = make([]atomic.Pointer[slot], 2*(ix.policy.RuleCount()+1))
		}
		ix.view.Store(v)
		ix.stale.Store(false)
	}
	return ix.view.Load()
}

// View is an immutable snapshot of node classes under one policy.
type View struct {
	Policy  *policy.Compiled
	classes map[string]*policy.NodeClass
	// slots cache, per rule and pod kind (GPU or not), the admitted node set.
	slots []atomic.Pointer[slot]
}

type slot struct{ nodes sets.Set[string] }

// Class returns the node's class, if the view knows the node.
func (v *View) Class(name string) (*policy.NodeClass, bool) {
	nc, ok := v.classes[name]
	return nc, ok
}

// Count returns how many nodes of the view satisfy pred. It walks every
// node: for explanations on the failure path, not for the hot path.
func (v *View) Count(pred func(*policy.NodeClass) bool) int {
	n := 0
	for _, nc := range v.classes {
		if pred(nc) {
			n++
		}
	}
	return n
}

// Len is the number of nodes in the view.
func (v *View) Len() int { return len(v.classes) }

// everyPool makes Admits ignore pool ownership, which depends on the pod's
// namespace and is left to Filter.
var everyPool = func() policy.PoolSet {
	var s policy.PoolSet
	for i := range s {
		s[i] = ^uint64(0)
	}
	return s
}()

// Admitted returns the names of the nodes rule r admits for a pod that does
// (wantsGPU) or does not request GPUs, ignoring pool ownership. The set is
// shared and must not be modified. It is computed once per view and rule.
func (v *View) Admitted(r *policy.CompiledRule, wantsGPU bool) sets.Set[string] {
	i := 2 * r.Index
	if wantsGPU {
		i++
	}
	if s := v.slots[i].Load(); s != nil {
		return s.nodes
	}
	nodes := sets.New[string]()
	for name, nc := range v.classes {
		if v.Policy.Admits(r, nc, wantsGPU, &everyPool) == policy.VerdictOK {
			nodes.Insert(name)
		}
	}
	v.slots[i].Store(&slot{nodes: nodes})
	return nodes
}
