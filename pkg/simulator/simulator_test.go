package simulator

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

const mlConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  resourceNamespace: ml-scheduler
  resourceName: ml-scheduler
profiles:
- schedulerName: ml-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: MLPolicy
        weight: 5
    filter:
      enabled:
      - name: MLPolicy
  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap: {namespace: ml-scheduler, name: ml-scheduler-policy}
      policyConfigMapKey: policy.yaml
`

const mlPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
reserveGPUNodes: true
default:
  gpuPacking: BinPack
`

func node(name string, cpu string, gpus int64, model string) *v1.Node {
	res := v1.ResourceList{
		v1.ResourceCPU:    resource.MustParse(cpu),
		v1.ResourceMemory: resource.MustParse("64Gi"),
		v1.ResourcePods:   resource.MustParse("110"),
	}
	labels := map[string]string{v1.LabelHostname: name}
	if gpus > 0 {
		res[trace.DefaultGPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
		labels[trace.DefaultGPUModelLabel] = model
	}
	return &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Status: v1.NodeStatus{Capacity: res, Allocatable: res,
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}},
	}
}

func pod(name, cpu string, gpus int64, models ...string) *v1.Pod {
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse(cpu), v1.ResourceMemory: resource.MustParse("1Gi")}
	var limits v1.ResourceList
	if gpus > 0 {
		req[trace.DefaultGPUResource] = *resource.NewQuantity(gpus, resource.DecimalSI)
		limits = v1.ResourceList{trace.DefaultGPUResource: *resource.NewQuantity(gpus, resource.DecimalSI)}
	}
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "pause",
			Resources: v1.ResourceRequirements{Requests: req, Limits: limits}}}},
	}
	if len(models) > 0 {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
			NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchExpressions: []v1.NodeSelectorRequirement{{
				Key: trace.DefaultGPUModelLabel, Operator: v1.NodeSelectorOpIn, Values: models}}}}}}}
	}
	return p
}

// forced is a workload whose every placement is forced: one node fits.
func forced() *Workload {
	return &Workload{
		Name: "forced",
		Nodes: []*v1.Node{
			node("gpu-t4", "4", 2, "T4"),
			node("cpu", "4", 0, ""),
			node("gpu-v100", "8", 8, "V100"),
		},
		Running: []*v1.Pod{func() *v1.Pod { p := pod("already", "1", 1); p.Spec.NodeName = "gpu-t4"; return p }()},
		Pods: []*v1.Pod{
			pod("eight", "8", 8),               // only gpu-v100 has 8 GPUs
			pod("t4", "2", 1, "T4"),            // only gpu-t4 has a T4
			pod("sixteen", "1", 16),            // nowhere
			pod("cpu-big", "3", 0),             // gpu-t4 has 1 CPU left, gpu-v100 none: cpu
			pod("t4-again", "1", 1, "T4"),      // the T4 node's GPUs are taken
			pod("v100", "1", 1, "V100", "A10"), // gpu-v100 is out of CPU
		},
	}
}

func TestRunForcedPlacements(t *testing.T) {
	for _, c := range []Configuration{
		{Name: "stock default"},
		{Name: "ml-scheduler", SchedulerConfig: []byte(mlConfig), Policy: []byte(mlPolicy)},
	} {
		t.Run(c.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var progress []int
			res, err := Run(ctx, forced(), c, Options{CurveEvery: 2, Progress: func(p Progress) { progress = append(progress, p.Done) }})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, p := range res.Placements {
				got = append(got, p.Name+"→"+p.Node)
			}
			want := []string{"default/eight→gpu-v100", "default/t4→gpu-t4", "default/sixteen→", "default/cpu-big→cpu", "default/t4-again→", "default/v100→"}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("placements (-want +got):\n%s", diff)
			}
			if !res.Placements[2].Unschedulable || res.Placements[2].Message == "" || res.Placements[0].Unschedulable {
				t.Errorf("unschedulable flags: %+v", res.Placements)
			}
			wantName := "default-scheduler"
			if c.SchedulerConfig != nil {
				wantName = "ml-scheduler"
			}
			if res.SchedulerName != wantName {
				t.Errorf("schedulerName %q, want %q", res.SchedulerName, wantName)
			}
			m := res.Metrics
			if res.ClusterGPUs != 10 || m.GPUsAllocated != 10 || m.GPUsAllocatedPercent != 100 {
				t.Errorf("GPUs: cluster %d, allocated %d (%.1f%%), want 10, 10, 100%%", res.ClusterGPUs, m.GPUsAllocated, m.GPUsAllocatedPercent)
			}
			wantFail := &Failure{Arrival: 3, Pod: "default/sixteen", GPUs: 16, AllocatedPercent: 100, DemandPercent: 260}
			if diff := cmp.Diff(wantFail, m.FirstGPUFailure); diff != "" {
				t.Errorf("first failure (-want +got):\n%s", diff)
			}
			// sixteen fits no node; t4-again would fit the T4 node, empty.
			wantPlaceable := &Failure{Arrival: 5, Pod: "default/t4-again", GPUs: 1, AllocatedPercent: 100, DemandPercent: 270}
			if diff := cmp.Diff(wantPlaceable, m.FirstPlaceableGPUFailure); diff != "" || m.GPUPodsFittingNoNode != 1 {
				t.Errorf("first placeable failure (-want +got):\n%s; fitting no node: %d, want 1", diff, m.GPUPodsFittingNoNode)
			}
			if m.GPUPods != 5 || m.GPUPodsPlaced != 2 || m.GPUPodsFailed != 3 || m.CPUPods != 1 || m.CPUPodsPlaced != 1 || m.CPUPodsOnGPUNodes != 0 || m.PodsUnschedulable != 3 {
				t.Errorf("metrics: %+v", m)
			}
			if diff := cmp.Diff([]SizeCount{{GPUs: 8, Placed: 1, Total: 1}, {GPUs: 16, Placed: 0, Total: 1}}, m.MultiGPU); diff != "" {
				t.Errorf("multi-GPU (-want +got):\n%s", diff)
			}
			wantCurve := []CurvePoint{{0, 10, 10}, {2, 100, 100}, {4, 260, 100}, {6, 280, 100}}
			if diff := cmp.Diff(wantCurve, res.Curve); diff != "" {
				t.Errorf("curve (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]int{1, 2, 3, 4, 5, 6}, progress); diff != "" {
				t.Errorf("progress (-want +got):\n%s", diff)
			}
		})
	}
}

// The policy keeps a CPU pod off GPU nodes; the stock profile does not.
func TestRunPolicyReservesGPUNodes(t *testing.T) {
	w := &Workload{
		Name:  "reserve",
		Nodes: []*v1.Node{node("gpu", "64", 8, "T4"), node("small-cpu", "2", 0, "")},
		Pods:  []*v1.Pod{pod("cpu-1", "1", 0), pod("cpu-2", "1", 0), pod("cpu-3", "1", 0)},
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	res, err := RunAll(ctx, w, []Configuration{
		{Name: "stock default"},
		{Name: "ml-scheduler", SchedulerConfig: []byte(mlConfig), Policy: []byte(mlPolicy)},
	}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// LeastAllocated prefers the big, empty GPU node.
	if got := res[0].CPUPodsOnGPUNodes; got != 3 {
		t.Errorf("stock default: %d CPU pods on GPU nodes, want 3", got)
	}
	ml := res[1]
	if ml.CPUPodsOnGPUNodes != 0 || ml.CPUPodsPlaced != 2 || !ml.Placements[2].Unschedulable {
		t.Errorf("ml-scheduler: %d CPU pods on GPU nodes, %d placed, pods %+v; want 0, 2, the third unschedulable", ml.CPUPodsOnGPUNodes, ml.CPUPodsPlaced, ml.Placements)
	}
	if !strings.Contains(ml.Placements[2].Message, "reserveGPUNodes is on") {
		t.Errorf("message %q does not give the policy's reason", ml.Placements[2].Message)
	}
}

func TestConfigurationErrors(t *testing.T) {
	tests := []struct {
		name string
		c    Configuration
		want string
	}{
		{"unknown field", Configuration{SchedulerConfig: []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofilez: []\n")},
			`decoding scheduler configuration: strict decoding error: unknown field "profilez"`},
		{"wrong kind", Configuration{SchedulerConfig: []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n")},
			"decoding scheduler configuration: "},
		{"unknown plugin args field", Configuration{SchedulerConfig: []byte(strings.Replace(mlConfig, "policyConfigMapKey:", "policyConfigMapKy:", 1)), Policy: []byte(mlPolicy)},
			`unknown field "policyConfigMapKy"`},
		{"invalid config", Configuration{SchedulerConfig: []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nparallelism: -1\n")},
			"invalid scheduler configuration: parallelism: Invalid value: -1"},
		{"policy without plugin", Configuration{Policy: []byte(mlPolicy)},
			`a placement policy is given but profile "default-scheduler" does not enable the MLPolicy plugin`},
		{"plugin without policy", Configuration{SchedulerConfig: []byte(mlConfig)},
			`profile "ml-scheduler" enables MLPolicy but no placement policy is given`},
		{"bad policy", Configuration{SchedulerConfig: []byte(mlConfig), Policy: []byte(strings.Replace(mlPolicy, "BinPack", "Binpack", 1))},
			`placement policy: `},
		{"unknown plugin", Configuration{SchedulerConfig: []byte(strings.Replace(mlConfig, "- name: MLPolicy\n        weight", "- name: NoSuchPlugin\n        weight", 1)), Policy: []byte(mlPolicy)},
			`NoSuchPlugin`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.c.Name = "bad"
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err := Run(ctx, forced(), tc.c, Options{})
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if !strings.HasPrefix(err.Error(), `configuration "bad": `) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error\n  %s\nwant it to name the configuration and contain\n  %s", err, tc.want)
			}
		})
	}
}

// RunOnCluster drives a scheduler that already runs: here one started on
// the in-memory API before the nodes, the policy and the pods exist, as a
// scheduler process on a fresh cluster would be.
func TestRunOnClusterDrivesARunningScheduler(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := Configuration{Name: "ml-scheduler", SchedulerConfig: []byte(mlConfig), Policy: []byte(mlPolicy)}
	s, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	client := newFakeAPI()
	stop, err := startScheduler(ctx, client, s)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	res, err := RunOnCluster(ctx, client, forced(), c, ClusterOptions{Settle: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, p := range res.Placements {
		got = append(got, p.Name+"→"+p.Node)
	}
	want := []string{"default/eight→gpu-v100", "default/t4→gpu-t4", "default/sixteen→", "default/cpu-big→cpu", "default/t4-again→", "default/v100→"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("placements (-want +got):\n%s", diff)
	}
	if res.Backend != BackendCluster || res.FirstGPUFailure == nil || res.FirstGPUFailure.Arrival != 3 {
		t.Errorf("backend %q, first failure %+v", res.Backend, res.FirstGPUFailure)
	}

	// With nothing serving the pods' schedulerName, the wait ends in a clear error.
	other := Configuration{Name: "nobody", SchedulerConfig: []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: nobody\n")}
	w := forced()
	w.Running = nil
	for _, p := range w.Pods {
		p.Name += "-2"
	}
	w.Nodes = nil
	_, err = RunOnCluster(ctx, client, w, other, ClusterOptions{Settle: time.Millisecond, Options: Options{PodTimeout: 200 * time.Millisecond}})
	wantErr := `configuration "nobody": pod default/eight-2 (#1) was neither bound nor reported unschedulable within 200ms: is a scheduler serving schedulerName "nobody" running?`
	if err == nil || err.Error() != wantErr {
		t.Errorf("error %v, want %s", err, wantErr)
	}
}
