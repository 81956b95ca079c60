package explain

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

func nodeInfo(n *v1.Node, pods ...*v1.Pod) fwk.NodeInfo {
	ni := framework.NewNodeInfo(pods...)
	ni.SetNode(n)
	return ni
}

func TestShortfallOf(t *testing.T) {
	full := node("n", "4", 2, nil)
	full.Status.Allocatable[v1.ResourcePods] = resource.MustParse("1")
	tests := []struct {
		name    string
		pod     *v1.Pod
		ni      fwk.NodeInfo
		want    []Lack
		wantGap float64
	}{
		{"fits", pod("ns", "p", "2", 1, "", nil), nodeInfo(node("n", "4", 2, nil)), nil, 0},
		{"GPUs first, then CPU", pod("ns", "p", "6", 4, "", nil), nodeInfo(node("n", "4", 2, nil)),
			[]Lack{{"nvidia.com/gpu", "2"}, {"cpu", "2"}}, 0.5 + 2.0/6},
		{"what running pods hold", pod("ns", "p", "1", 2, "", nil), nodeInfo(node("n", "4", 2, nil), pod("ns", "q", "3500m", 1, "n", nil)),
			[]Lack{{"nvidia.com/gpu", "1"}, {"cpu", "500m"}}, 0.5 + 0.5},
		{"no GPU at all", pod("ns", "p", "1", 1, "", nil), nodeInfo(node("n", "4", 0, nil)),
			[]Lack{{"nvidia.com/gpu", "1"}}, 1},
		{"pod slots", pod("ns", "p", "1", 0, "", nil), nodeInfo(full, pod("ns", "q", "1", 0, "n", nil)),
			[]Lack{{"pods", "1"}}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := shortfallOf(tt.pod, tt.ni)
			if diff := cmp.Diff(tt.want, got.lacks); diff != "" {
				t.Errorf("lacks (-want +got):\n%s", diff)
			}
			if d := got.gap - tt.wantGap; d > 1e-9 || d < -1e-9 {
				t.Errorf("gap %v, want %v", got.gap, tt.wantGap)
			}
		})
	}
}

func TestNearest(t *testing.T) {
	p := pod("ns", "p", "8", 4, "", nil)
	fit := refusal{plugin: "NodeResourcesFit", reasons: []string{"Insufficient nvidia.com/gpu"}}
	nodes := []fwk.NodeInfo{
		nodeInfo(node("two-short", "4", 2, nil)),    // lacks GPUs and CPU
		nodeInfo(node("gpu-short", "16", 2, nil)),   // lacks 2 GPUs
		nodeInfo(node("gpu-shorter", "16", 3, nil)), // lacks 1 GPU
		nodeInfo(node("tainted", "64", 8, nil)),     // fits, but a taint
		nodeInfo(node("outside", "64", 8, nil)),     // the policy refuses it
	}
	tests := []struct {
		name    string
		refused map[string]refusal
		want    *Nearest
	}{
		{"smallest gap among equal counts", map[string]refusal{"two-short": fit, "gpu-short": fit, "gpu-shorter": fit},
			&Nearest{Node: "gpu-shorter", Lacks: []Lack{{"nvidia.com/gpu", "1"}}}},
		{"fewer lacking resources first", map[string]refusal{"two-short": fit, "gpu-short": fit},
			&Nearest{Node: "gpu-short", Lacks: []Lack{{"nvidia.com/gpu", "2"}}}},
		{"a refusal besides resources comes after any shortfall", map[string]refusal{
			"two-short": fit, "tainted": {plugin: "TaintToleration", reasons: []string{"node(s) had untolerated taint"}}},
			&Nearest{Node: "two-short", Lacks: []Lack{{"nvidia.com/gpu", "2"}, {"cpu", "4"}}}},
		{"only a taint", map[string]refusal{"tainted": {plugin: "TaintToleration", reasons: []string{"node(s) had untolerated taint"}}},
			&Nearest{Node: "tainted", Other: []string{"node(s) had untolerated taint"}}},
		{"the policy's refusals are not candidates", map[string]refusal{
			"outside": {plugin: mlpolicy.Name, reasons: []string{"node(s) not in pool a required by rule r"}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, nearest(p, nodes, tt.refused)); diff != "" {
				t.Errorf("nearest (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCountReasons(t *testing.T) {
	pool := refusal{plugin: mlpolicy.Name, reasons: []string{"node(s) not in pool a required by rule r"}}
	fit := refusal{plugin: "NodeResourcesFit", reasons: []string{"Insufficient cpu", "Insufficient nvidia.com/gpu"}}
	taint := refusal{plugin: "TaintToleration", reasons: []string{"node(s) had untolerated taint"}}
	got := countReasons(map[string]refusal{
		"p1": pool, "p2": pool, "p3": pool, "p4": pool, "f1": fit, "f2": fit, "t1": taint, "t2": taint,
	})
	want := []ReasonCount{
		{Nodes: 4, Reason: "node(s) not in pool a required by rule r", Plugin: mlpolicy.Name, Policy: true, Examples: []string{"p1", "p2", "p3"}},
		{Nodes: 2, Reason: "Insufficient cpu; Insufficient nvidia.com/gpu", Plugin: "NodeResourcesFit", Examples: []string{"f1", "f2"}},
		{Nodes: 2, Reason: "node(s) had untolerated taint", Plugin: "TaintToleration", Examples: []string{"t1", "t2"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("countReasons (-want +got):\n%s", diff)
	}
}

func TestRank(t *testing.T) {
	scores := []fwk.NodePluginScores{
		{Name: "c", TotalScore: 50, Scores: []fwk.PluginScore{{Name: "MLPolicy", Score: 50}}},
		{Name: "a", TotalScore: 90, Scores: []fwk.PluginScore{{Name: "MLPolicy", Score: 90}}},
		{Name: "b", TotalScore: 90, Scores: []fwk.PluginScore{{Name: "MLPolicy", Score: 90}}},
		{Name: "d", TotalScore: 10, Scores: []fwk.PluginScore{{Name: "MLPolicy", Score: 10}}},
	}
	parts := map[string]mlpolicy.ScoreParts{"a": {Node: "a", Packing: i64(90)}}
	tests := []struct {
		name      string
		top       int
		node      string
		wantNodes []string
		wantRanks []int
		wantPlace int
	}{
		{"ties share a rank", 4, "b", []string{"a", "b", "c", "d"}, []int{1, 1, 3, 4}, 1},
		{"top cuts the list, not the rank", 2, "d", []string{"a", "b"}, []int{1, 1}, 4},
		{"a node not scored", 2, "gone", []string{"a", "b"}, []int{1, 1}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, placed := rank(scores, parts, "BinPack", tt.top, tt.node)
			var nodes []string
			var ranks []int
			for _, c := range got {
				nodes, ranks = append(nodes, c.Node), append(ranks, c.Rank)
			}
			if diff := cmp.Diff(tt.wantNodes, nodes); diff != "" {
				t.Errorf("nodes (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRanks, ranks); diff != "" {
				t.Errorf("ranks (-want +got):\n%s", diff)
			}
			if placed != tt.wantPlace {
				t.Errorf("placed rank %d, want %d", placed, tt.wantPlace)
			}
			if diff := cmp.Diff(&MLPolicyParts{Packing: "BinPack", PackingPart: i64(90)}, got[0].MLPolicy); diff != "" {
				t.Errorf("parts of a (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWriteText(t *testing.T) {
	in := true
	tests := []struct {
		name string
		e    *Explanation
		want []string
	}{{
		name: "placed",
		e: &Explanation{Pod: "ns/p", SchedulerName: "ml-scheduler", State: StatePlaced, Node: "a", Rule: "r", PolicyHash: "h1",
			ActivePolicyHash: "h1", PlacedByActivePolicy: &in,
			Simulation: Simulation{Policy: "h1", PolicySource: "ConfigMap x/y", MatchedRule: "r", SchedulerConfig: "c.yaml", Nodes: 3, FeasibleNodes: 2, PlacedRank: 1,
				Candidates: []Candidate{
					{Rank: 1, Node: "a", Total: 600, Scores: []PluginScore{{"TaintToleration", 300}, {"MLPolicy", 300}}, MLPolicy: &MLPolicyParts{Packing: "BinPack", PackingPart: i64(60)}},
					{Rank: 2, Node: "b", Total: 400, Scores: []PluginScore{{"TaintToleration", 300}, {"MLPolicy", 100}}, MLPolicy: &MLPolicyParts{Packing: "BinPack", PackingPart: i64(20)}},
				}}},
		want: []string{
			"State:   placed on node a",
			"Policy:  h1 (annotation ml-scheduler.io/policy-hash): still the policy in force",
			"RANK  NODE  TOTAL  TaintToleration  MLPolicy  MLPOLICY PARTS",
			"1     a     600    300              300       BinPack=60",
			"Node a ranks first (the top candidate).",
		},
	}, {
		name: "pending",
		e: &Explanation{Pod: "ns/p", SchedulerName: "ml-scheduler", State: StatePending, Condition: "0/3 nodes are available",
			Simulation: Simulation{Nodes: 3, SchedulerConfig: "c.yaml",
				Reasons: []ReasonCount{{Nodes: 2, Reason: "node(s) not in pool a required by rule r", Plugin: mlpolicy.Name, Policy: true, Examples: []string{"x", "y"}}},
				Nearest: &Nearest{Node: "z", Lacks: []Lack{{"nvidia.com/gpu", "2"}, {"cpu", "8"}}}}},
		want: []string{
			"Scheduler says:  0/3 nodes are available",
			"2 node(s)      node(s) not in pool a required by rule r [MLPolicy] (x, y)",
			"Nearest:         node z lacks 2 nvidia.com/gpu and 8 cpu",
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := WriteText(&b, tt.e); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("output lacks %q:\n%s", w, b.String())
				}
			}
		})
	}
}
