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

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Index is safe for concurrent use. Writers (node events, policy swaps) take
// the mutex and mark the published view stale; readers load the view with
// one atomic read and rebuild it only when stale.
type Index struct {
	mu      sync.Mutex
	policy  *policy.Compiled
	nodes   map[string]*v1.Node
	classes map[string]*entry

	stale atomic.Bool
	view  atomic.Pointer[View]
	// classesChanged: since the published view, a class was added, changed
	// or removed (not only node objects moved); the per-rule sets are then
	// rebuilt with the view. moved counts entries whose node object moved.
	classesChanged bool
	moved          int
	// devices returns a node's DRA GPU devices (SetDevices); nil: none.
	devices func(node string) *gpudra.NodeGPUs
}

// entry is a node's class and the node object it holds for. An update that
// leaves the class alone (a heartbeat) only moves node, in place, so the
// published view stays valid and Filter can still tell that the class
// belongs to the very object in the scheduler's snapshot.
type entry struct {
	class policy.NodeClass
	node  atomic.Pointer[v1.Node]
}

func (ix *Index) newEntry(n *v1.Node) *entry {
	e := &entry{class: ix.classify(n)}
	e.node.Store(n)
	return e
}

func (ix *Index) classify(n *v1.Node) policy.NodeClass {
	if ix.devices == nil {
		return ix.policy.Classify(n)
	}
	return ix.policy.ClassifyWithDevices(n, ix.devices(n.Name))
}

// SetDevices tells the index where to read the DRA GPU devices nodes
// publish; call RefreshNode when a node's devices change.
func (ix *Index) SetDevices(devices func(node string) *gpudra.NodeGPUs) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.devices = devices
}

// RefreshNode reclassifies a node whose DRA devices changed.
func (ix *Index) RefreshNode(name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if n, ok := ix.nodes[name]; ok {
		ix.upsertLocked(n)
	}
}

// New returns an empty index.
func New() *Index {
	return &Index{nodes: map[string]*v1.Node{}, classes: map[string]*entry{}}
}

// SetPolicy reclassifies every node under p.
func (ix *Index) SetPolicy(p *policy.Compiled) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.policy = p
	ix.classes = make(map[string]*entry, len(ix.nodes))
	for name, n := range ix.nodes {
		ix.classes[name] = ix.newEntry(n)
	}
	ix.classesChanged = true
	ix.stale.Store(true)
}

// UpsertNode records a node's current state. Updates that change nothing the
// policy reads (heartbeats, conditions) leave the published view alone.
func (ix *Index) UpsertNode(n *v1.Node) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.upsertLocked(n)
}

// UpsertNodeFrom records n, the new state of a node event whose previous
// state was old (nil for an add), unless the index holds a state other than
// old: then the node handler has recorded this event or a later one, which
// must not be rolled back. Queueing hints call it: the scheduling queue and
// the index's own node handler receive an event concurrently, and a pod the
// hint requeues must be judged with the change that requeued it.
func (ix *Index) UpsertNodeFrom(old, n *v1.Node) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if cur, ok := ix.nodes[n.Name]; ok && cur != old {
		return
	}
	ix.upsertLocked(n)
}

func (ix *Index) upsertLocked(n *v1.Node) {
	ix.nodes[n.Name] = n
	if ix.policy == nil {
		return
	}
	nc := ix.classify(n)
	if old, ok := ix.classes[n.Name]; ok && old.class == nc {
		old.node.Store(n)
		// The view still answers for the moved node, by name (slower than
		// by object); once many have moved, the next View call rebuilds.
		if ix.moved++; ix.moved > max(len(ix.classes)/movedShare, movedFloor) {
			ix.stale.Store(true)
		}
		return
	}
	e := &entry{class: nc}
	e.node.Store(n)
	ix.classes[n.Name] = e
	ix.classesChanged = true
	ix.stale.Store(true)
}

// The view is rebuilt once more than 1/movedShare of the nodes, and more
// than movedFloor, have a newer object than the one it indexes by.
const (
	movedShare = 8
	movedFloor = 32
)

// DeleteNode forgets a node.
func (ix *Index) DeleteNode(name string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	delete(ix.nodes, name)
	if _, ok := ix.classes[name]; ok {
		delete(ix.classes, name)
		ix.classesChanged = true
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
		classes := make(map[string]*entry, len(ix.classes))
		for k, e := range ix.classes {
			classes[k] = e
		}
		v := &View{Policy: ix.policy, classes: classes, byNode: newClassTable(classes)}
		if old := ix.view.Load(); old != nil && old.Policy == ix.policy && !ix.classesChanged {
			v.slots = old.slots // same classes: the per-rule sets still hold
		} else if ix.policy != nil {
			v.slots = make([]atomic.Pointer[slot], 2*(ix.policy.RuleCount()+1))
		}
		ix.view.Store(v)
		ix.classesChanged, ix.moved = false, 0
		ix.stale.Store(false)
	}
	return ix.view.Load()
}

// View is an immutable snapshot of node classes under one policy.
type View struct {
	Policy  *policy.Compiled
	classes map[string]*entry
	// byNode holds the class of each node object the view was built from.
	// Filter and Score look a node up here first: hashing a pointer costs a
	// fraction of hashing and comparing its name, which at 5000 nodes was
	// most of the plugin's time per pod.
	byNode *classTable
	// slots cache, per rule and pod kind (GPU or not), the admitted node set.
	slots []atomic.Pointer[slot]
}

type slot struct{ nodes sets.Set[string] }

// ClassOf returns the class of exactly this node object, or nil when the
// view does not know the node or holds a class computed from another
// version of it (the index has not caught up with an event yet): the caller
// then classifies the node itself. An object the view was built from keeps
// its class after a newer object with the same class replaced it.
func (v *View) ClassOf(n *v1.Node) *policy.NodeClass {
	if nc := v.byNode.lookup(n); nc != nil {
		return nc
	}
	e, ok := v.classes[n.Name]
	if !ok || e.node.Load() != n {
		return nil
	}
	return &e.class
}

// Count returns how many nodes of the view satisfy pred. It walks every
// node: for explanations on the failure path, not for the hot path.
func (v *View) Count(pred func(*policy.NodeClass) bool) int {
	n := 0
	for _, e := range v.classes {
		if pred(&e.class) {
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
	for name, e := range v.classes {
		if v.Policy.Admits(r, &e.class, wantsGPU, &everyPool) == policy.VerdictOK {
			nodes.Insert(name)
		}
	}
	v.slots[i].Store(&slot{nodes: nodes})
	return nodes
}
