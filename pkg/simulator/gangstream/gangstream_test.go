package gangstream

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

func TestWorkloadIsDeterministicForASeed(t *testing.T) {
	a, err := Workload("a", Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := Workload("a", Options{Seed: 1})
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different streams (-first +second):\n%s", diff)
	}
	c, _ := Workload("a", Options{Seed: 2})
	if cmp.Equal(a.Pods, c.Pods) {
		t.Error("seeds 1 and 2 give the same stream")
	}
}

func TestWorkload(t *testing.T) {
	tests := []struct {
		name string
		o    Options
	}{
		{"defaults", Options{Seed: 1}},
		{"with the rack constraint", Options{Seed: 3, TopologyConstraint: true}},
		{"small, gangs only", Options{Seed: 4, Racks: 2, NodesPerRack: 4, GPUsPerNode: 4, DemandPercent: 150, Mix: []Kind{{Pods: 2, GPUsPerPod: 4, Weight: 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, err := Workload(tc.name, tc.o)
			if err != nil {
				t.Fatal(err)
			}
			o := tc.o.withDefaults()
			if len(w.Nodes) != o.Racks*o.NodesPerRack {
				t.Errorf("%d nodes, want %d", len(w.Nodes), o.Racks*o.NodesPerRack)
			}
			racks := map[string]int{}
			var capacity int64
			for _, n := range w.Nodes {
				racks[n.Labels[RackLabel]]++
				q := n.Status.Allocatable[trace.DefaultGPUResource]
				capacity += q.Value()
			}
			if len(racks) != o.Racks || racks["rack-00"] != o.NodesPerRack {
				t.Errorf("racks %v", racks)
			}
			groups := map[string]int32{}
			for _, g := range w.PodGroups {
				groups[g.Name] = g.Spec.SchedulingPolicy.Gang.MinCount
				if got := g.Spec.SchedulingConstraints != nil; got != o.TopologyConstraint {
					t.Errorf("PodGroup %s: topology constraint %v, want %v", g.Name, got, o.TopologyConstraint)
				}
			}
			members := map[string]int32{}
			var asked int64
			for _, p := range w.Pods {
				q := p.Spec.Containers[0].Resources.Requests[trace.DefaultGPUResource]
				asked += q.Value()
				if p.Spec.SchedulingGroup == nil {
					if p.Namespace != SingleNamespace {
						t.Errorf("single %s/%s", p.Namespace, p.Name)
					}
					continue
				}
				g := *p.Spec.SchedulingGroup.PodGroupName
				members[g]++
				if p.Namespace != GangNamespace || !strings.HasPrefix(p.Name, g+"-") {
					t.Errorf("gang pod %s/%s of %s", p.Namespace, p.Name, g)
				}
			}
			if diff := cmp.Diff(groups, members); diff != "" {
				t.Errorf("minCount by group vs pods naming it (-minCount +pods):\n%s", diff)
			}
			target := capacity * int64(o.DemandPercent) / 100
			if asked < target || asked-target >= 8*8 {
				t.Errorf("the stream asks %d GPUs, want at least %d and less than one biggest job more", asked, target)
			}
		})
	}
}

func TestParseMix(t *testing.T) {
	got, err := ParseMix("0x1:30, 8x8:10")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]Kind{{0, 1, 30}, {8, 8, 10}}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	var def []string
	for _, k := range DefaultMix {
		def = append(def, k.String())
	}
	if back, err := ParseMix(strings.Join(def, ",")); err != nil || !cmp.Equal(back, DefaultMix) {
		t.Errorf("DefaultMix does not round-trip: %v, %v", back, err)
	}
	for _, bad := range []string{"", "8x8", "8:10", "ax8:1", "8x0:1", "8x8:0", "-1x8:1"} {
		if _, err := ParseMix(bad); err == nil {
			t.Errorf("ParseMix(%q): no error", bad)
		}
	}
}
