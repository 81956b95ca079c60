package integration

// Gangs under the policy, on the real apiserver with the workload gates on:
// all-or-nothing within one rack, no deadlock between gangs, the waiting
// reasons in policy terms, a scheduler restart midway, and the refusals.

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

const (
	gangNS      = "it-gangs"
	gangMixedNS = "it-gangs-mixed"
	rackLabel   = "topology.kubernetes.io/rack"
)

var gangPolicyYAML = fmt.Sprintf(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- name: gang-nodes
  nodeSelector: {matchLabels: {%q: gangs}}
rules:
- name: training
  match: {namespaces: [%s]}
  pools: [gang-nodes]
  packing: MinFragmentation
  gang: {required: true, topologyKey: %s}
- name: team-a
  match: {namespaces: [%s], podSelector: {matchLabels: {team: a}}}
  pools: [gang-nodes]
- name: team-b
  match: {namespaces: [%s], podSelector: {matchLabels: {team: b}}}
  pools: [gang-nodes]
`, caseLabel, gangNS, rackLabel, gangMixedNS, gangMixedNS)

// TestGangPolicy: two racks of eight 8-GPU nodes.
func TestGangPolicy(t *testing.T) {
	tc := newCase(t, "gangs", gangNS, gangMixedNS)
	var nodes []cluster.NodeSpec
	for r := 1; r <= 2; r++ {
		for i := 0; i < 8; i++ {
			extra := map[string]string{rackLabel: fmt.Sprintf("rack-%d", r)}
			if i == 0 {
				extra["slot"] = fmt.Sprintf("filler-%d", r)
			}
			nodes = append(nodes, gpuNode(fmt.Sprintf("gang-r%d-%d", r, i), "A100", 8, extra))
		}
	}
	tc.nodes(nodes...)
	tc.policy(gangPolicyYAML)
	g := &gangs{tc: tc}

	t.Run("room for 7 in each rack: none of a gang of 8 binds, and it says why", func(t *testing.T) {
		tc := tc.with(t)
		// One GPU taken in each rack: no rack has eight whole 8-GPU nodes.
		for r := 1; r <= 2; r++ {
			name := fmt.Sprintf("filler-%d", r)
			p := cluster.PodSpec{Name: name, Namespace: gangMixedNS, Labels: map[string]string{"team": "a"}, CPU: "1", GPUs: 1}.Pod()
			p.Spec.NodeSelector = map[string]string{"slot": name}
			if _, err := tc.c.CoreV1().Pods(gangMixedNS).Create(tc.ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
			tc.scheduled(gangMixedNS, name)
		}
		names := g.create(t, "big", 8, 8)
		tc.pending(gangNS, names[0], "needs 8 pods × 8 GPUs", "within one "+rackLabel, "has room for 7 of them")
		time.Sleep(2 * time.Second)
		for _, n := range names {
			tc.stillPending(gangNS, n)
		}

		// A filler leaves: rack-1 can hold the gang, which binds whole, there.
		zero := int64(0)
		if err := tc.c.CoreV1().Pods(gangMixedNS).Delete(tc.ctx, "filler-1", metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		racks := g.bound(t, names...)
		if len(racks) != 1 || racks["rack-1"] != 8 {
			t.Fatalf("gang of 8 bound across racks %v, want all 8 in rack-1", racks)
		}
		t.Logf("PROVED: with room for 7 in each rack, no pod of an 8 x 8-GPU gang bound and it said why; %v after a filler left rack-1, all 8 bound there", time.Since(begin).Round(time.Millisecond))
	})

	t.Run("two gangs that together exceed the capacity do not deadlock", func(t *testing.T) {
		// rack-2 has 7 whole nodes left: one gang of 6 fits, two do not.
		x := g.create(t, "x", 6, 8)
		y := g.create(t, "y", 6, 8)
		first, second := x, y
		if !g.firstBound(t, x, y) {
			first, second = y, x
		}
		racks := g.bound(t, first...)
		if racks["rack-2"] != 6 {
			t.Fatalf("first gang bound across %v, want all 6 in rack-2", racks)
		}
		tc.with(t).pending(gangNS, second[0], "needs 6 pods × 8 GPUs", "has room for 1 of them")
		for _, n := range second {
			tc.with(t).stillPending(gangNS, n)
		}
		t.Logf("PROVED: two 6 x 8-GPU gangs for room for 7: one bound whole in rack-2, the other holds no node and waits: %q", strings.TrimSpace(tc.with(t).pending(gangNS, second[0])))
		g.delete(t, "x", "y")
	})

	t.Run("a gang bigger than any rack waits and says so", func(t *testing.T) {
		names := g.create(t, "huge", 9, 8)
		msg := tc.with(t).pending(gangNS, names[0], "needs 9 pods × 8 GPUs", "within one "+rackLabel)
		t.Logf("PROVED: a 9-node gang on racks of 8 waits: %s", msg)
		g.delete(t, "huge")
	})

	t.Run("a gang completes after a scheduler restart midway", func(t *testing.T) {
		g.podGroup(t, "restart", 3)
		g.pods(t, "restart", 0, 2, 8)
		time.Sleep(2 * time.Second)
		stopScheduler()
		tc2 := newCaseScheduler(t)
		g.pods(t, "restart", 2, 3, 8)
		racks := g.bound(t, "restart-0", "restart-1", "restart-2")
		if len(racks) != 1 {
			t.Fatalf("gang bound across racks %v after the restart", racks)
		}
		t.Logf("PROVED: 2 of a 3-pod gang created, scheduler restarted (%s), third created: all 3 bound in %v", tc2, racks)
		g.delete(t, "restart")
	})

	t.Run("a gang across two rules is refused", func(t *testing.T) {
		tc := tc.with(t)
		pg := gangGroup(gangMixedNS, "mixed", 2)
		if _, err := tc.c.SchedulingV1beta1().PodGroups(gangMixedNS).Create(tc.ctx, pg, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, team := range []string{"a", "b"} {
			p := gangPodSpec(gangMixedNS, "mixed-"+team, "mixed", 1)
			p.Labels = map[string]string{"team": team}
			if _, err := tc.c.CoreV1().Pods(gangMixedNS).Create(tc.ctx, p, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		msg := tc.pending(gangMixedNS, "mixed-a", "match different rules", `"team-a"`, `"team-b"`)
		tc.stillPending(gangMixedNS, "mixed-b")
		t.Logf("PROVED: %s", msg)
	})

	t.Run("a lone pod under a gang rule is refused", func(t *testing.T) {
		tc := tc.with(t)
		p := cluster.PodSpec{Name: "lone", Namespace: gangNS, CPU: "1", GPUs: 1}.Pod()
		if _, err := tc.c.CoreV1().Pods(gangNS).Create(tc.ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		t.Logf("PROVED: %s", tc.pending(gangNS, "lone", `rule "training" requires its pods to come as a gang`))
	})
}

// newCaseScheduler starts the shared scheduler again and says how long it took.
func newCaseScheduler(t *testing.T) string {
	begin := time.Now()
	scheduler(t)
	return "ready again in " + time.Since(begin).Round(time.Millisecond).String()
}

// gangs creates and inspects the gang jobs of one case.
type gangs struct{ tc *tcase }

func gangGroup(ns, name string, minCount int32) *schedulingv1beta1.PodGroup {
	return &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: minCount}}},
	}
}

func gangPodSpec(ns, name, group string, gpus int64) *v1.Pod {
	p := cluster.PodSpec{Name: name, Namespace: ns, CPU: "4", Memory: "16Gi", GPUs: gpus}.Pod()
	p.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(group)}
	return p
}

func (g *gangs) podGroup(t *testing.T, name string, minCount int32) {
	t.Helper()
	if _, err := g.tc.c.SchedulingV1beta1().PodGroups(gangNS).Create(g.tc.ctx, gangGroup(gangNS, name, minCount), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// pods creates pods <job>-from … <job>-(to-1) of the job's PodGroup.
func (g *gangs) pods(t *testing.T, job string, from, to int, gpus int64) []string {
	t.Helper()
	var names []string
	for i := from; i < to; i++ {
		name := fmt.Sprintf("%s-%d", job, i)
		if _, err := g.tc.c.CoreV1().Pods(gangNS).Create(context.Background(), gangPodSpec(gangNS, name, job, gpus), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

// create makes a gang job: its PodGroup (minCount = n) and n pods.
func (g *gangs) create(t *testing.T, job string, n int, gpus int64) []string {
	t.Helper()
	g.podGroup(t, job, int32(n))
	return g.pods(t, job, 0, n, gpus)
}

// bound waits for every pod to be bound and counts them per rack.
func (g *gangs) bound(t *testing.T, names ...string) map[string]int {
	t.Helper()
	racks := map[string]int{}
	for _, n := range names {
		p, err := cluster.WaitScheduled(context.Background(), g.tc.c, gangNS, n, scheduleTimeout)
		if err != nil {
			t.Fatalf("pod %s: %v", n, err)
		}
		node, err := g.tc.c.CoreV1().Nodes().Get(context.Background(), p.Spec.NodeName, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		racks[node.Labels[rackLabel]]++
	}
	return racks
}

// firstBound waits until a pod of gang a or of gang b is bound and tells
// which: true for a.
func (g *gangs) firstBound(t *testing.T, a, b []string) bool {
	t.Helper()
	deadline := time.Now().Add(scheduleTimeout)
	for time.Now().Before(deadline) {
		for i, names := range [][]string{a, b} {
			for _, n := range names {
				p, err := g.tc.c.CoreV1().Pods(gangNS).Get(context.Background(), n, metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				if p.Spec.NodeName != "" {
					return i == 0
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatal("neither gang bound")
	return false
}

// delete removes jobs: their pods and PodGroups.
func (g *gangs) delete(t *testing.T, jobs ...string) {
	t.Helper()
	zero := int64(0)
	for _, job := range jobs {
		pods, err := g.tc.c.CoreV1().Pods(gangNS).List(context.Background(), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if strings.HasPrefix(p.Name, job+"-") {
				_ = g.tc.c.CoreV1().Pods(gangNS).Delete(context.Background(), p.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero})
			}
		}
		_ = g.tc.c.SchedulingV1beta1().PodGroups(gangNS).Delete(context.Background(), job, metav1.DeleteOptions{})
	}
}
