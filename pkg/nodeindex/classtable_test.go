package nodeindex

import (
	"fmt"
	"testing"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

func TestClassTable(t *testing.T) {
	for _, count := range []int{0, 1, 2, 7, 1000} {
		t.Run(fmt.Sprint(count), func(t *testing.T) {
			entries := map[string]*entry{}
			var nodes []*v1.Node
			for i := range count {
				n := &v1.Node{}
				n.Name = fmt.Sprintf("n%d", i)
				e := &entry{class: policy.NodeClass{GPUs: int64(i % 3), Model: fmt.Sprint("m", i%2)}}
				e.node.Store(n)
				entries[n.Name] = e
				nodes = append(nodes, n)
			}
			tab := newClassTable(entries)
			if len(tab.slots) < 2*count {
				t.Errorf("%d slots for %d nodes: more than half full", len(tab.slots), count)
			}
			if count > 6 && len(tab.classes) != 6 {
				t.Errorf("%d distinct classes stored, want 6", len(tab.classes))
			}
			for i, n := range nodes {
				got := tab.lookup(n)
				if got == nil || got.GPUs != int64(i%3) || got.Model != fmt.Sprint("m", i%2) {
					t.Fatalf("lookup(%s) = %+v, want GPUs %d model m%d", n.Name, got, i%3, i%2)
				}
				// Another object of the same node is not the one indexed.
				if c := n.DeepCopy(); tab.lookup(c) != nil {
					t.Fatalf("lookup of a copy of %s found a class", n.Name)
				}
			}
		})
	}
}

// BenchmarkClassOf looks nodes up in random order, as Filter's parallel
// workers do, through the class table and, side by side, through the Go map
// the view used before. In a warm cache the gap is small; in kube-scheduler
// at 15,000 nodes the table's single slot read is what counts.
func BenchmarkClassOf(b *testing.B) {
	for _, count := range []int{5000, 15000} {
		entries := map[string]*entry{}
		byNode := map[*v1.Node]*policy.NodeClass{}
		var nodes []*v1.Node
		for i := range count {
			n := &v1.Node{}
			n.Name = fmt.Sprintf("n%d", i)
			e := &entry{class: policy.NodeClass{GPUs: int64(i % 9)}}
			e.node.Store(n)
			entries[n.Name], byNode[n] = e, &e.class
			nodes = append(nodes, n)
		}
		order := make([]*v1.Node, 1<<16)
		for i := range order {
			order[i] = nodes[(i*7919)%count]
		}
		tab := newClassTable(entries)
		b.Run(fmt.Sprintf("nodes=%d/table", count), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if tab.lookup(order[i&(len(order)-1)]) == nil {
					b.Fatal("missing")
				}
			}
		})
		b.Run(fmt.Sprintf("nodes=%d/map", count), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				if byNode[order[i&(len(order)-1)]] == nil {
					b.Fatal("missing")
				}
			}
		})
	}
}
