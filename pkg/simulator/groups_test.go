package simulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/klog/v2/ktesting"
	"k8s.io/kubernetes/pkg/features"
)

const rackKey = "topology.kubernetes.io/rack"

// twoRacks: racks a and b of two 8-GPU nodes each.
func twoRacks() []*v1.Node {
	var nodes []*v1.Node
	for _, name := range []string{"a1", "a2", "b1", "b2"} {
		n := node(name, "64", 8, "A100")
		n.Labels[rackKey] = name[:1]
		nodes = append(nodes, n)
	}
	return nodes
}

func rackGang(name string, minCount int32) *schedulingv1beta1.PodGroup {
	g := podGroup("default", name, minCount)
	g.Spec.SchedulingConstraints = &schedulingv1beta1.PodGroupSchedulingConstraints{
		Topology: []schedulingv1beta1.TopologyConstraint{{Key: rackKey}}}
	return g
}

// TestRunPodGroups replays, through the stock scheduler, singles and two
// gangs that must each stay within one rack. s1 opens a rack, so g1 (two
// 8-GPU pods; its second pod comes after s2 in the queue, and is created
// with the first) takes the other rack whole. s2 goes beside s1, on the
// emptier node (LeastAllocated), which leaves room for two of g2's three
// 4-GPU pods: g2 waits, all or nothing, where one pod at a time would have
// bound two. s3 lands beside s1 and s2.
func TestRunPodGroups(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	w := &Workload{
		Name:  "groups",
		Nodes: twoRacks(),
		Pods: []*v1.Pod{
			pod("s1", "1", 1),
			gangPod("default", "g1-0", "g1", 8, nil),
			pod("s2", "1", 1),
			gangPod("default", "g1-1", "g1", 8, nil),
			gangPod("default", "g2-0", "g2", 4, nil),
			gangPod("default", "g2-1", "g2", 4, nil),
			gangPod("default", "g2-2", "g2", 4, nil),
			pod("s3", "1", 4),
		},
		PodGroups: []*schedulingv1beta1.PodGroup{rackGang("g1", 2), rackGang("g2", 3)},
	}
	var progress []int
	res, err := Run(ctx, w, Configuration{Name: "stock default"},
		Options{CurveEvery: 2, TopologyKey: rackKey, Progress: func(p Progress) { progress = append(progress, p.Done) }})
	if err != nil {
		t.Fatal(err)
	}
	if utilfeature.DefaultFeatureGate.Enabled(features.GenericWorkload) || utilfeature.DefaultFeatureGate.Enabled(features.TopologyAwareWorkloadScheduling) {
		t.Error("the workload gates are still on after the run")
	}

	rack := func(i int) string { return strings.TrimRight(res.Placements[i].Node, "12") }
	opened := rack(0)
	other := map[string]string{"a": "b", "b": "a"}[opened]
	var got []string
	for i, p := range res.Placements {
		got = append(got, p.Name+"→"+rack(i)+"/"+p.PodGroup)
	}
	want := []string{
		"default/s1→" + opened + "/",
		"default/g1-0→" + other + "/default/g1",
		"default/s2→" + opened + "/",
		"default/g1-1→" + other + "/default/g1",
		"default/g2-0→/default/g2",
		"default/g2-1→/default/g2",
		"default/g2-2→/default/g2",
		"default/s3→" + opened + "/",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placements by rack (-want +got):\n%s", diff)
	}
	if res.Placements[1].Node == res.Placements[3].Node || res.Placements[0].Node == res.Placements[2].Node {
		t.Errorf("g1's pods, or s1 and s2, share a node: %+v", res.Placements)
	}
	for i, p := range res.Placements {
		if wantFailed := i >= 4 && i <= 6; p.Unschedulable != wantFailed {
			t.Errorf("%s: unschedulable %v, want %v (message %q)", p.Name, p.Unschedulable, wantFailed, p.Message)
		}
	}
	if diff := cmp.Diff([]int{1, 3, 4, 7, 8}, progress); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	// Demand after s1, g1, s2, g2, s3: 1, 17, 18, 30, 34 of 32 GPUs.
	wantCurve := []CurvePoint{{0, 0, 0}, {3, 53.13, 53.13}, {4, 56.25, 56.25}, {7, 93.75, 56.25}, {8, 106.25, 68.75}}
	if diff := cmp.Diff(wantCurve, res.Curve); diff != "" {
		t.Errorf("curve (-want +got):\n%s", diff)
	}
	m := res.Metrics
	wantFail := &Failure{Arrival: 5, Pod: "default/g2-0", GPUs: 4, AllocatedPercent: 56.25, DemandPercent: 68.75}
	if diff := cmp.Diff(wantFail, m.FirstGPUFailure); diff != "" {
		t.Errorf("first failure (-want +got):\n%s", diff)
	}
	if m.GPUsAllocated != 22 || m.PodsUnschedulable != 3 {
		t.Errorf("GPUs allocated %d, unschedulable %d; want 22, 3", m.GPUsAllocated, m.PodsUnschedulable)
	}
	wantDomains := &DomainMetrics{TopologyKey: rackKey, Domains: 2, PartlyUsed: 1, Full: 1, FreeGPUsInPartlyUsed: 10}
	if diff := cmp.Diff(wantDomains, m.Domains); diff != "" {
		t.Errorf("domains (-want +got):\n%s", diff)
	}
	wantGangs := &GangMetrics{Gangs: 2, Placed: 1, Waiting: 1, WithinOneDomain: 1, BySize: []GangSize{{Pods: 2, Placed: 1, Total: 1}, {Pods: 3, Total: 1}}}
	if diff := cmp.Diff(wantGangs, m.Gangs); diff != "" {
		t.Errorf("gangs (-want +got):\n%s", diff)
	}
}

func TestReplaySteps(t *testing.T) {
	grouped := func(name, group string) *v1.Pod { return gangPod("default", name, group, 1, nil) }
	running := pod("r", "1", 1)
	running.Spec.NodeName = "a1"
	tests := []struct {
		name    string
		w       Workload
		want    [][]int
		wantErr string
	}{
		{name: "singles", w: Workload{Pods: []*v1.Pod{pod("p0", "1", 0), pod("p1", "1", 0)}}, want: [][]int{{0}, {1}}},
		{name: "a group arrives at its first pod", w: Workload{
			Pods:      []*v1.Pod{pod("p0", "1", 0), grouped("g-0", "g"), pod("p2", "1", 0), grouped("g-1", "g"), grouped("h-0", "h")},
			PodGroups: []*schedulingv1beta1.PodGroup{podGroup("default", "h", 1), podGroup("default", "g", 2)},
		}, want: [][]int{{0}, {1, 3}, {2}, {4}}},
		{name: "unknown group", w: Workload{Pods: []*v1.Pod{grouped("g-0", "g")}},
			wantErr: "pod default/g-0 names PodGroup default/g, which the workload does not have"},
		{name: "group without pods", w: Workload{PodGroups: []*schedulingv1beta1.PodGroup{podGroup("default", "g", 1)}},
			wantErr: "PodGroup default/g has no pods in the queue"},
		{name: "fewer pods than minCount", w: Workload{Pods: []*v1.Pod{grouped("g-0", "g")}, PodGroups: []*schedulingv1beta1.PodGroup{podGroup("default", "g", 2)}},
			wantErr: "PodGroup default/g is a gang of minCount 2 but only 1 queue pods name it"},
		{name: "group listed twice", w: Workload{PodGroups: []*schedulingv1beta1.PodGroup{podGroup("", "g", 1), podGroup("default", "g", 1)}},
			wantErr: "PodGroup default/g is listed twice"},
		{name: "running pod in a group", w: Workload{Running: []*v1.Pod{func() *v1.Pod {
			p := running.DeepCopy()
			p.Spec.SchedulingGroup = grouped("x", "g").Spec.SchedulingGroup
			return p
		}()}},
			wantErr: "running pod default/r names PodGroup g"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := replaySteps(&tc.w)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got [][]int
			for _, s := range steps {
				got = append(got, s.pods)
				if (s.group != nil) != (podGroupName(tc.w.Pods[s.pods[0]]) != "") {
					t.Errorf("step %v: group %v", s.pods, s.group)
				}
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("steps (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGroupSettled(t *testing.T) {
	const b, u, none = "bound", "unschedulable", ""
	tests := []struct {
		name     string
		pods     []string
		minCount int
		want     bool
	}{
		{"nothing yet", []string{none, none}, 2, false},
		{"an attempt one pod short", []string{u, none}, 2, false},
		{"all reported: waiting", []string{u, u}, 2, true},
		{"binding under way", []string{b, none}, 2, false},
		{"binding under way, an earlier report", []string{b, u}, 2, false},
		{"all bound", []string{b, b}, 2, true},
		{"minCount bound, the rest failed alone", []string{b, b, u}, 2, true},
		{"minCount bound, one pending", []string{b, b, none}, 2, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var members []*podState
			for _, s := range tc.pods {
				st := &podState{unschedulable: s == u}
				if s == b {
					st.node = "n"
				}
				members = append(members, st)
			}
			if got, _, _ := groupSettled(members, tc.minCount); got != tc.want {
				t.Errorf("settled = %v, want %v", got, tc.want)
			}
		})
	}
}
