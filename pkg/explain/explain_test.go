package explain

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/ml-scheduler/ml-scheduler/manifests"
	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

const gpu = v1.ResourceName("nvidia.com/gpu")

func node(name string, cpu string, gpus int64, labels map[string]string) *v1.Node {
	alloc := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(cpu),
		v1.ResourceMemory: resource.MustParse("128Gi"),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	if gpus > 0 {
		alloc[gpu] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status:     v1.NodeStatus{Allocatable: alloc, Capacity: alloc},
	}
}

func pod(ns, name, cpu string, gpus int64, onNode string, labels map[string]string) *v1.Pod {
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu)}
	if gpus > 0 {
		req[gpu] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID(ns + "-" + name), Labels: labels},
		Spec: v1.PodSpec{
			SchedulerName: "ml-scheduler",
			NodeName:      onNode,
			Containers:    []v1.Container{{Name: "c", Resources: v1.ResourceRequirements{Requests: req, Limits: req}}},
		},
	}
}

const testPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: research, nodeSelector: {matchLabels: {pool: research}}}
- {name: empty, nodeSelector: {matchLabels: {pool: nowhere}}}
rules:
- name: research-training
  match: {namespaces: [research]}
  pools: [research]
  gpuPacking: BinPack
  preferred:
  - {weight: 1, nodeSelector: {matchLabels: {fast: "true"}}}
  colocate: {jobLabel: job, topologyKey: rack}
- name: nowhere
  match: {namespaces: [lost]}
  pools: [empty]
default: {}
`

// cluster: two research GPU nodes in two racks, a research CPU node and a
// GPU node outside the pool. gpu-1 runs 2 of 4 GPUs (job a's first pod).
func testCluster(t *testing.T, extra ...*v1.Pod) *livecluster.State {
	t.Helper()
	return testClusterWith(t, testPolicy, extra...)
}

func testClusterWith(t *testing.T, text string, extra ...*v1.Pod) *livecluster.State {
	t.Helper()
	p, err := policy.Load([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	s := &livecluster.State{
		Snapshot: trace.Snapshot{
			Nodes: []*v1.Node{
				node("gpu-1", "32", 4, map[string]string{"pool": "research", "rack": "r1"}),
				node("gpu-2", "32", 4, map[string]string{"pool": "research", "rack": "r2", "fast": "true"}),
				node("cpu-1", "32", 0, map[string]string{"pool": "research", "rack": "r1"}),
				node("other-1", "64", 8, nil),
			},
			Running: []*v1.Pod{pod("research", "a-0", "4", 2, "gpu-1", map[string]string{"job": "a"})},
		},
		Policy: []byte(text), PolicyFound: true, PolicyRef: "ml-scheduler/ml-scheduler-policy", PolicyKey: "policy.yaml",
		ActiveHash: p.Hash(),
	}
	for _, x := range extra {
		if x.Spec.NodeName != "" {
			s.Running = append(s.Running, x)
		} else {
			s.Pending = append(s.Pending, x)
		}
	}
	return s
}

func i64(v int64) *int64 { return &v }

// TestExplain re-runs hand-built pods through the shipped profile.
func TestExplain(t *testing.T) {
	cfg, err := LoadConfig("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	hash := mustHash(t, testPolicy)
	placed := pod("research", "a-1", "4", 2, "gpu-1", map[string]string{"job": "a"})
	placed.Annotations = map[string]string{mlpolicy.AnnotationRule: "research-training", mlpolicy.AnnotationPolicyHash: hash}
	stale := placed.DeepCopy()
	stale.Annotations[mlpolicy.AnnotationPolicyHash] = "0123456789abcdef"
	member := pod("research", "member", "1", 1, "", nil)
	group := "train-gang"
	member.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: &group}
	big := pod("research", "big", "40", 6, "", nil)
	big.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Message: "0/4 nodes are available: ..."}}
	tests := []struct {
		name        string
		pod         *v1.Pod
		wantState   string
		wantInForce *bool
		wantTop     []string
		wantRank    int
		wantParts   *MLPolicyParts // of the first candidate
		wantReasons map[string]int
		wantNearest *Nearest
		wantNote    string
	}{{
		name: "placed: job colocation and BinPack keep it on gpu-1", pod: placed, wantState: StatePlaced,
		wantInForce: ptr(true), wantTop: []string{"gpu-1", "gpu-2"}, wantRank: 1,
		// BinPack on gpu-1 after the pod: GPUs 4/4, CPU 8/32, memory 0
		// weighted 5:1:1 = (500+25+0)/7 = 75; gpu-1 is not a fast node
		// (preference 0); job a runs in rack r1 (colocation 100).
		wantParts: &MLPolicyParts{Packing: "BinPack", PackingPart: i64(75), Preference: i64(0), Colocation: i64(100)},
		wantReasons: map[string]int{
			"node(s) have no GPU": 1,
			"node(s) not in pool research required by rule research-training": 1,
		},
		wantNote: "scores are of the cluster now",
	}, {
		name: "placed by a policy no longer in force", pod: stale, wantState: StatePlaced,
		wantInForce: ptr(false), wantTop: []string{"gpu-1", "gpu-2"}, wantRank: 1,
		wantParts: &MLPolicyParts{Packing: "BinPack", PackingPart: i64(75), Preference: i64(0), Colocation: i64(100)},
		wantReasons: map[string]int{
			"node(s) have no GPU": 1,
			"node(s) not in pool research required by rule research-training": 1,
		},
	}, {
		name: "pending: more GPUs and CPU than any pool node", pod: big, wantState: StatePending,
		wantReasons: map[string]int{
			"Insufficient cpu; Insufficient nvidia.com/gpu":                   2,
			"node(s) have no GPU":                                             1,
			"node(s) not in pool research required by rule research-training": 1,
		},
		// gpu-2 is empty (lacks 2 GPUs, 8 CPU); gpu-1 runs a-0 (lacks 4 GPUs, 12 CPU).
		wantNearest: &Nearest{Node: "gpu-2", Lacks: []Lack{{"nvidia.com/gpu", "2"}, {"cpu", "8"}}},
	}, {
		name: "pending: the rule's pool has no node (PreFilter refuses)", pod: pod("lost", "p", "1", 1, "", nil), wantState: StatePending,
		wantReasons: map[string]int{"node(s) not in pool empty required by rule nowhere": 4},
		wantNote:    "no node is admitted by the policy",
	}, {
		name: "pending but it fits now", pod: pod("research", "small", "1", 1, "", nil), wantState: StatePending,
		// No job label: no colocation part. The preference for the fast
		// gpu-2 (100) outweighs BinPack's pull to gpu-1: on gpu-2 GPUs 1/4,
		// CPU 1/32: (125+3)/7 = 18; MLPolicy (18+100)/2 = 59 against gpu-1's
		// ((375+15)/7 + 0)/2 = 27.
		wantTop: []string{"gpu-2", "gpu-1"}, wantRank: 0,
		wantParts: &MLPolicyParts{Packing: "BinPack", PackingPart: i64(18), Preference: i64(100)},
		wantReasons: map[string]int{
			"node(s) have no GPU": 1,
			"node(s) not in pool research required by rule research-training": 1,
		},
		wantNote: "the pod fits now (2 feasible node(s), best gpu-2)",
	}, {
		name: "a PodGroup member is judged alone, and says so", pod: member, wantState: StatePending,
		wantTop: []string{"gpu-2", "gpu-1"}, wantRank: 0,
		wantReasons: map[string]int{
			"node(s) have no GPU": 1,
			"node(s) not in pool research required by rule research-training": 1,
		},
		wantNote: "the pod belongs to PodGroup train-gang",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			e, err := Explain(ctx, Input{Config: cfg, Cluster: testCluster(t, tt.pod), Pod: tt.pod})
			if err != nil {
				t.Fatal(err)
			}
			sim := e.Simulation
			if e.State != tt.wantState || sim.Policy != hash || sim.Nodes != 4 {
				t.Errorf("state %q, policy %q, nodes %d: want %q, %q, 4", e.State, sim.Policy, sim.Nodes, tt.wantState, hash)
			}
			if diff := cmp.Diff(tt.wantInForce, e.PlacedByActivePolicy); diff != "" {
				t.Errorf("placedByActivePolicy (-want +got):\n%s", diff)
			}
			var top []string
			for _, c := range sim.Candidates {
				top = append(top, c.Node)
			}
			if diff := cmp.Diff(tt.wantTop, top); diff != "" {
				t.Errorf("candidates (-want +got):\n%s", diff)
			}
			if sim.PlacedRank != tt.wantRank {
				t.Errorf("placed rank %d, want %d", sim.PlacedRank, tt.wantRank)
			}
			if tt.wantParts != nil {
				if diff := cmp.Diff(tt.wantParts, sim.Candidates[0].MLPolicy); diff != "" {
					t.Errorf("MLPolicy parts of %s (-want +got):\n%s", top[0], diff)
				}
			}
			got := map[string]int{}
			for _, r := range sim.Reasons {
				got[r.Reason] = r.Nodes
			}
			if diff := cmp.Diff(tt.wantReasons, got); diff != "" {
				t.Errorf("reasons (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNearest, sim.Nearest); diff != "" {
				t.Errorf("nearest (-want +got):\n%s", diff)
			}
			if tt.wantNote != "" && !strings.Contains(strings.Join(sim.Notes, "\n"), tt.wantNote) {
				t.Errorf("notes %q lack %q", sim.Notes, tt.wantNote)
			}
			for _, c := range sim.Candidates {
				var sum int64
				for _, s := range c.Scores {
					sum += s.Score
				}
				if sum != c.Total {
					t.Errorf("%s: plugin scores sum to %d, total %d", c.Node, sum, c.Total)
				}
				if c.MLPolicy != nil {
					// The parts are the plugin's score: its weighted score is
					// the shipped weight 5 times their mean.
					var parts, n int64
					for _, p := range []*int64{c.MLPolicy.PackingPart, c.MLPolicy.Preference, c.MLPolicy.Colocation} {
						if p != nil {
							parts, n = parts+*p, n+1
						}
					}
					if got := scoreOf(c, mlpolicy.Name); got != 5*(parts/n) {
						t.Errorf("%s: MLPolicy scored %d, parts %+v give 5 x %d", c.Node, got, c.MLPolicy, parts/n)
					}
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func mustHash(t *testing.T, text string) string {
	t.Helper()
	p, err := policy.Load([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p.Hash()
}

func TestExplainErrors(t *testing.T) {
	cfg, err := LoadConfig("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	other := pod("research", "p", "1", 0, "", nil)
	other.Spec.SchedulerName = "default-scheduler"
	noPolicy := testCluster(t)
	noPolicy.Policy, noPolicy.PolicyFound = nil, false
	tests := []struct {
		name    string
		in      Input
		wantErr string
	}{
		{"pod of another scheduler", Input{Config: cfg, Cluster: testCluster(t), Pod: other},
			`spec.schedulerName is "default-scheduler", but the scheduler configuration (../../manifests/base/scheduler-config.yaml) serves only ["ml-scheduler"]`},
		{"no policy in the ConfigMap", Input{Config: cfg, Cluster: noPolicy, Pod: pod("research", "p", "1", 0, "", nil)},
			"policy ConfigMap ml-scheduler/ml-scheduler-policy has no key policy.yaml (give --policy FILE)"},
		{"invalid --policy", Input{Config: cfg, Cluster: testCluster(t), Pod: pod("research", "p", "1", 0, "", nil), Policy: []byte("kind: Nope\n"), PolicySource: "file x.yaml"},
			"placement policy (file x.yaml):"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Explain(context.Background(), tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestLoadConfigBuiltin(t *testing.T) {
	// Without --config: the shipped configuration built into the binary,
	// whatever the working directory (the test's has no manifests/base).
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	i, err := cfg.Profile("ml-scheduler")
	if err != nil {
		t.Fatal(err)
	}
	args, err := cfg.MLPolicyArgs(i)
	if err != nil || args == nil {
		t.Fatalf("MLPolicy args %v, %v: want the defaults", args, err)
	}
	if got := fmt.Sprintf("%s/%s", args.PolicyConfigMapNamespace, args.PolicyConfigMapName); got != "ml-scheduler/ml-scheduler-policy" || cfg.Source != manifests.SchedulerConfigSource {
		t.Errorf("policy ConfigMap %s, source %q: want ml-scheduler/ml-scheduler-policy, %s", got, cfg.Source, manifests.SchedulerConfigSource)
	}
	// As shipped: NodeResourcesFit scoring off.
	if !slices.ContainsFunc(cfg.Profiles[i].Plugins.Score.Disabled, func(pc schedconfig.Plugin) bool { return pc.Name == "NodeResourcesFit" }) {
		t.Errorf("built-in config %s does not disable NodeResourcesFit scoring as the shipped profile does", cfg.Source)
	}
	if _, err := LoadConfig("no-such-file.yaml"); err == nil || !strings.Contains(err.Error(), "no-such-file.yaml") {
		t.Errorf("missing --config file: error %v, want one naming it", err)
	}
}

func scoreOf(c Candidate, plugin string) int64 {
	for _, s := range c.Scores {
		if s.Plugin == plugin {
			return s.Score
		}
	}
	return -1
}

// TestExplainMinFragmentation: the MinFragmentation part is rescaled over
// the scored nodes as NormalizeScore does (the best node gets 100), and the
// plugin's weighted score is still its weight times the part.
func TestExplainMinFragmentation(t *testing.T) {
	cfg, err := LoadConfig("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: research, nodeSelector: {matchLabels: {pool: research}}}
rules:
- name: frag
  match: {namespaces: [research]}
  pools: [research]
  packing: MinFragmentation
`
	p := pod("research", "one-gpu", "1", 1, "", nil)
	e, err := Explain(context.Background(), Input{Config: cfg, Cluster: testClusterWith(t, text, p), Pod: p})
	if err != nil {
		t.Fatal(err)
	}
	c := e.Simulation.Candidates
	if len(c) != 2 || c[0].MLPolicy == nil || c[0].MLPolicy.Packing != "MinFragmentation" || c[0].MLPolicy.PackingPart == nil {
		t.Fatalf("candidates %+v: want 2 with a MinFragmentation part", c)
	}
	if got := *c[0].MLPolicy.PackingPart; got != 100 {
		t.Errorf("best node's MinFragmentation part %d, want 100 (rescaled over the scored nodes)", got)
	}
	for _, x := range c {
		if got, want := scoreOf(x, mlpolicy.Name), 5**x.MLPolicy.PackingPart; got != want {
			t.Errorf("%s: MLPolicy scored %d, want 5 x part = %d", x.Node, got, want)
		}
	}
}
