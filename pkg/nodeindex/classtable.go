package nodeindex

import (
	"math/bits"
	"unsafe"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// classTable maps node objects to their class for Filter and Score, which
// look a node up for every node of every cycle. At 15,000 nodes a Go map
// keyed by *v1.Node cost ~300 ns a lookup in kube-scheduler (its control
// word, its slot and the class behind the value pointer are three cache
// misses, the table being far larger than the cache the scheduler leaves
// it). Here a lookup reads one 16-byte slot of an open-addressed table,
// usually one cache line, and the class from a short slice of the distinct
// classes, which stays in cache: nodes of a cluster share a handful of
// classes.
type classTable struct {
	slots   []tableSlot // a power of two, at most half full
	shift   uint        // 64 - log2(len(slots))
	classes []policy.NodeClass
}

type tableSlot struct {
	// node keeps the object alive, so its address cannot be reused by
	// another node object while the table exists.
	node  *v1.Node
	class uint32
}

// newClassTable indexes each node object of entries by the class it holds.
func newClassTable(entries map[string]*entry) *classTable {
	size := 1 << bits.Len(uint(2*len(entries)))
	t := &classTable{slots: make([]tableSlot, size), shift: uint(64 - bits.TrailingZeros(uint(size)))}
	ids := map[policy.NodeClass]uint32{}
	for _, e := range entries {
		id, ok := ids[e.class]
		if !ok {
			id = uint32(len(t.classes))
			ids[e.class] = id
			t.classes = append(t.classes, e.class)
		}
		n := e.node.Load()
		i := t.home(n)
		for t.slots[i].node != nil {
			i = (i + 1) & (size - 1)
		}
		t.slots[i] = tableSlot{node: n, class: id}
	}
	return t
}

// home is n's first slot: Fibonacci hashing of the object's address (the
// address only identifies the object; it is never turned back into one).
func (t *classTable) home(n *v1.Node) int {
	return int(uint64(uintptr(unsafe.Pointer(n))) * 0x9E3779B97F4A7C15 >> t.shift)
}

// lookup returns n's class, nil if the table does not hold this object. The
// class is shared by every node of that class and must not be modified.
func (t *classTable) lookup(n *v1.Node) *policy.NodeClass {
	mask := len(t.slots) - 1
	for i := t.home(n); ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.node == n {
			return &t.classes[s.class]
		}
		if s.node == nil {
			return nil
		}
	}
}
