package simulator

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// rackNodes: racks a and b of two 8-GPU nodes, a CPU node in rack a, and
// an 8-GPU node without the rack label.
func rackNodes() []*v1.Node {
	nodes := twoRacks()
	cpu := node("a-cpu", "64", 0, "")
	cpu.Labels[rackKey] = "a"
	return append(nodes, cpu, node("loose", "64", 8, "A100"))
}

func TestDomainMetrics(t *testing.T) {
	tests := []struct {
		name string
		on   map[string]int64
		want DomainMetrics
	}{
		{name: "nothing placed", want: DomainMetrics{Domains: 2, Empty: 2}},
		{name: "one GPU opens a rack", on: map[string]int64{"a2": 1},
			want: DomainMetrics{Domains: 2, Empty: 1, PartlyUsed: 1, FreeGPUsInPartlyUsed: 15}},
		{name: "a whole rack is full", on: map[string]int64{"b1": 8, "b2": 8, "a1": 8},
			want: DomainMetrics{Domains: 2, PartlyUsed: 1, Full: 1, FreeGPUsInPartlyUsed: 8}},
		{name: "nodes outside racks and without GPUs do not count", on: map[string]int64{"loose": 8, "a-cpu": 0},
			want: DomainMetrics{Domains: 2, Empty: 2}},
		{name: "both full", on: map[string]int64{"a1": 8, "a2": 8, "b1": 8, "b2": 8},
			want: DomainMetrics{Domains: 2, Full: 2}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.TopologyKey = rackKey
			got := domainMetrics(rackKey, rackNodes(), trace.DefaultGPUResource, tc.on)
			if diff := cmp.Diff(&tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	if got := domainMetrics("no-such-label", rackNodes(), trace.DefaultGPUResource, nil); got.Domains != 0 {
		t.Errorf("an absent label gives %d domains", got.Domains)
	}
}

func TestGangMetrics(t *testing.T) {
	nodes := map[string]*v1.Node{}
	for _, n := range rackNodes() {
		nodes[n.Name] = n
	}
	tests := []struct {
		name  string
		key   string
		gangs []gangOutcome
		want  GangMetrics
	}{
		{name: "none", want: GangMetrics{BySize: []GangSize{}}},
		{name: "within one rack", key: rackKey, gangs: []gangOutcome{{minCount: 2, nodes: []string{"a1", "a2"}}},
			want: GangMetrics{Gangs: 1, Placed: 1, WithinOneDomain: 1, BySize: []GangSize{{Pods: 2, Placed: 1, Total: 1}}}},
		{name: "across racks", key: rackKey, gangs: []gangOutcome{{minCount: 2, nodes: []string{"a1", "b1"}}},
			want: GangMetrics{Gangs: 1, Placed: 1, AcrossDomains: 1, BySize: []GangSize{{Pods: 2, Placed: 1, Total: 1}}}},
		{name: "a node without the label is across", key: rackKey, gangs: []gangOutcome{{minCount: 2, nodes: []string{"a1", "loose"}}},
			want: GangMetrics{Gangs: 1, Placed: 1, AcrossDomains: 1, BySize: []GangSize{{Pods: 2, Placed: 1, Total: 1}}}},
		{name: "waiting: nothing bound", key: rackKey, gangs: []gangOutcome{{minCount: 2, nodes: []string{"", ""}}},
			want: GangMetrics{Gangs: 1, Waiting: 1, BySize: []GangSize{{Pods: 2, Total: 1}}}},
		{name: "waiting: fewer than minCount bound", key: rackKey, gangs: []gangOutcome{{minCount: 3, nodes: []string{"a1", "a2", ""}}},
			want: GangMetrics{Gangs: 1, Waiting: 1, BySize: []GangSize{{Pods: 3, Total: 1}}}},
		{name: "placed at minCount, one pod unbound", key: rackKey, gangs: []gangOutcome{{minCount: 2, nodes: []string{"b1", "", "b2"}}},
			want: GangMetrics{Gangs: 1, Placed: 1, WithinOneDomain: 1, BySize: []GangSize{{Pods: 3, Placed: 1, Total: 1}}}},
		{name: "without a key, placed is not classified", gangs: []gangOutcome{{minCount: 1, nodes: []string{"a1"}}, {minCount: 2, nodes: []string{"a1", "b1"}}},
			want: GangMetrics{Gangs: 2, Placed: 2, BySize: []GangSize{{Pods: 1, Placed: 1, Total: 1}, {Pods: 2, Placed: 1, Total: 1}}}},
		{name: "sizes in order", key: rackKey, gangs: []gangOutcome{
			{minCount: 4, nodes: []string{"a1", "a1", "a2", "a2"}}, {minCount: 1, nodes: []string{"b1"}}, {minCount: 1, nodes: []string{""}}},
			want: GangMetrics{Gangs: 3, Placed: 2, Waiting: 1, WithinOneDomain: 2, BySize: []GangSize{{Pods: 1, Placed: 1, Total: 2}, {Pods: 4, Placed: 1, Total: 1}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if diff := cmp.Diff(&tc.want, gangMetrics(tc.key, nodes, tc.gangs)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}
