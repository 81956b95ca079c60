package policydiff

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

const (
	oldPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: a100, nodeSelector: {matchLabels: {pool: a100}}}
- {name: t4, nodeSelector: {matchLabels: {pool: t4}}}
rules:
- name: train
  match: {namespaces: [team-a]}
  pools: [a100, t4]
`
	// team-a may only use the t4 pool now, and team-b's pool is owned.
	newPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: a100, nodeSelector: {matchLabels: {pool: a100}}, ownerNamespaces: [team-b]}
- {name: t4, nodeSelector: {matchLabels: {pool: t4}}}
rules:
- name: train
  match: {namespaces: [team-a]}
  pools: [t4]
- name: cpu-only
  match: {namespaces: [team-c]}
  gpuModels: [T4]
`
)

func node(name, pool string, gpus int64) *v1.Node {
	alloc := v1.ResourceList{v1.ResourceCPU: resource.MustParse("32"), v1.ResourceMemory: resource.MustParse("128Gi"),
		v1.ResourcePods: resource.MustParse("110")}
	labels := map[string]string{"pool": pool, "kubernetes.io/hostname": name}
	if gpus > 0 {
		alloc["nvidia.com/gpu"] = *resource.NewQuantity(gpus, resource.DecimalSI)
		labels["nvidia.com/gpu.product"] = map[string]string{"a100": "A100", "t4": "T4"}[pool]
	}
	return &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: v1.NodeStatus{Capacity: alloc, Allocatable: alloc, Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}}}
}

func pod(ns, name, nodeName string, gpus int64, created int64) *v1.Pod {
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1"), v1.ResourceMemory: resource.MustParse("1Gi")}
	if gpus > 0 {
		req["nvidia.com/gpu"] = *resource.NewQuantity(gpus, resource.DecimalSI)
	}
	return &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.Unix(created, 0)},
		Spec: v1.PodSpec{SchedulerName: "ml-scheduler", NodeName: nodeName,
			Containers: []v1.Container{{Name: "c", Image: "x", Resources: v1.ResourceRequirements{Requests: req, Limits: req}}}}}
}

func mustLoad(t *testing.T, text string) *policy.Compiled {
	t.Helper()
	p, err := policy.Load([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRefusals(t *testing.T) {
	nodes := []*v1.Node{node("a100-0", "a100", 8), node("t4-0", "t4", 4), node("cpu-0", "cpu", 0),
		node("dra-t4", "dra", 0), node("dra-a100", "dra", 0)}
	// dra-*: GPUs published as DRA devices; share pods ask through claims.
	dra := DRA{Slices: []*resourceapi.ResourceSlice{gpudra.NodeSlice("dra-t4", "T4", 2), gpudra.NodeSlice("dra-a100", "A100", 2)}}
	sharePod := func(name, nodeName string) *v1.Pod {
		p := pod("team-c", name, nodeName, 0, 0)
		c := gpudra.ShareClaim("team-c", name+"-gpu", 250)
		gpudra.UseClaim(p, c.Name)
		dra.Claims = append(dra.Claims, c)
		return p
	}
	other := pod("team-a", "stock", "a100-0", 1, 0)
	other.Spec.SchedulerName = "default-scheduler"
	tests := []struct {
		name   string
		policy string
		pod    *v1.Pod
		want   string // "" admitted
	}{
		{"admitted", newPolicy, pod("team-a", "on-t4", "t4-0", 1, 0), ""},
		{"not in pool", newPolicy, pod("team-a", "on-a100", "a100-0", 1, 0), "node not in pool t4 required by rule train"},
		{"owned pool", newPolicy, pod("team-x", "on-a100", "a100-0", 1, 0), "node is in a pool owned by other namespaces"},
		{"gpu model", newPolicy, pod("team-c", "on-a100", "a100-0", 1, 0), "node lacks GPU model T4 required by rule cpu-only"},
		{"no gpu", newPolicy, pod("team-x", "gpu-on-cpu", "cpu-0", 1, 0), "node has no GPU"},
		{"node gone", newPolicy, pod("team-a", "lost", "gone-0", 1, 0), "node not in the snapshot"},
		{"other scheduler", newPolicy, other, ""},
		{"old admits", oldPolicy, pod("team-a", "on-a100", "a100-0", 1, 0), ""},
		{"a share pod on a DRA GPU of its model", newPolicy, sharePod("share-t4", "dra-t4"), ""},
		{"a share pod on a DRA GPU of another model", newPolicy, sharePod("share-a100", "dra-a100"), "node lacks GPU model T4 required by rule cpu-only"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Refusals(mustLoad(t, tc.policy), nodes, []*v1.Pod{tc.pod}, "ml-scheduler", dra)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Errorf("refused: %+v", got)
			case tc.want != "" && (len(got) != 1 || got[0].Reason != tc.want || got[0].Node != tc.pod.Spec.NodeName):
				t.Errorf("got %+v, want one refusal %q", got, tc.want)
			}
		})
	}
}

func TestRun(t *testing.T) {
	cfg := shippedSchedulerConfig(t)
	in := Input{
		Name:  "test",
		Nodes: []*v1.Node{node("a100-0", "a100", 8), node("t4-0", "t4", 4)},
		Running: []*v1.Pod{
			pod("team-a", "run-a100", "a100-0", 2, 0), // no longer admitted: train is t4 only
			pod("team-a", "run-t4", "t4-0", 2, 0),
			inGroup(pod("team-b", "gang-0", "t4-0", 1, 0)), // a bound gang member: takes room
		},
		Pending: []*v1.Pod{
			// 4 GPUs: the old policy places it on a100-0 (6 free); the
			// new one confines it to t4-0, which has 2 free.
			pod("team-a", "big", "", 4, 1),
			// The default rule under both: both place it.
			pod("team-b", "b", "", 2, 2),
			// A pending gang member: not replayed, counted.
			inGroup(pod("team-b", "gang-1", "", 1, 3)),
		},
		SchedulerConfig: cfg,
		Old:             Policy{Source: "old.yaml", Text: []byte(oldPolicy)},
		New:             Policy{Source: "new.yaml", Text: []byte(newPolicy)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, in, simulator.Options{PodTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.NoLongerAdmitted) != 1 || r.NoLongerAdmitted[0].Pod != "team-a/run-a100" {
		t.Errorf("no longer admitted %+v, want team-a/run-a100", r.NoLongerAdmitted)
	}
	if len(r.NoLongerSchedulable) != 1 || r.NoLongerSchedulable[0].Pod != "team-a/big" || len(r.NewlySchedulable) != 0 {
		t.Errorf("no longer schedulable %+v, newly %+v; want team-a/big only", r.NoLongerSchedulable, r.NewlySchedulable)
	}
	if r.GangPodsSkipped != 1 || r.Queue != 2 {
		t.Errorf("queue %d, gang pods skipped %d; want 2 replayed and team-b/gang-1 skipped", r.Queue, r.GangPodsSkipped)
	}
	if r.OldMetrics.Placed != 2 || r.NewMetrics.Placed != 1 || r.OldMetrics.GPUsAllocated != 11 || r.NewMetrics.GPUsAllocated != 7 {
		t.Errorf("metrics old %+v new %+v", r.OldMetrics, r.NewMetrics)
	}
	if r.NewMetrics.FirstGPUFailure == nil || r.NewMetrics.FirstGPUFailure.Pod != "team-a/big" || r.OldMetrics.FirstGPUFailure != nil {
		t.Errorf("first failure old %+v new %+v", r.OldMetrics.FirstGPUFailure, r.NewMetrics.FirstGPUFailure)
	}
	var b strings.Builder
	if err := WriteText(&b, r); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", b.String())
	for _, want := range []string{"no longer admit where they are: 1", "team-a/run-a100", "node not in pool t4 required by rule train", "pods placed", "2/2", "1/2"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

// inGroup puts the pod in PodGroup "gang" of its namespace.
func inGroup(p *v1.Pod) *v1.Pod {
	name := "gang"
	p.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: &name}
	return p
}

// shippedSchedulerConfig skips replays in -short and reads the shipped
// KubeSchedulerConfiguration.
func shippedSchedulerConfig(t *testing.T) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("replays through the scheduler")
	}
	cfg, err := os.ReadFile("../../manifests/base/scheduler-config.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}
