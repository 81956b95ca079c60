package policydiff

import (
	"context"
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// Policy is one side of the change: its text and where it came from.
type Policy struct {
	// Source is e.g. "ConfigMap ml-scheduler/ml-scheduler-policy" or a file name.
	Source string
	Text   []byte
}

// Input is a cluster snapshot and the change to judge.
type Input struct {
	// Name labels the snapshot ("cluster", a file name).
	Name    string
	Nodes   []*v1.Node
	Running []*v1.Pod
	// Pending are the unbound pods, oldest first, of every scheduler: only
	// those of the scheduler config's schedulerName are replayed.
	Pending []*v1.Pod
	// DeviceClasses, ResourceSlices and ResourceClaims are the cluster's
	// DRA objects: GPU devices count as their nodes' GPUs and a pod's claims
	// of the draGPUs DeviceClasses as its GPU ask, as the scheduler counts
	// them, in the admission check and in the queue replay (where the
	// allocated claims hold their devices, and the DynamicResources plugin
	// allocates the queue pods' claims).
	DeviceClasses  []*resourceapi.DeviceClass
	ResourceSlices []*resourceapi.ResourceSlice
	ResourceClaims []*resourceapi.ResourceClaim
	// SchedulerConfig is the KubeSchedulerConfiguration both replays use;
	// its first profile must enable MLPolicy.
	SchedulerConfig []byte
	Old, New        Policy
}

// PolicyRef names a compiled side of the change.
type PolicyRef struct {
	Hash   string `json:"hash"`
	Source string `json:"source"`
}

// Report is the change's effect.
type Report struct {
	Snapshot      string    `json:"snapshot"`
	SchedulerName string    `json:"schedulerName"`
	Old           PolicyRef `json:"oldPolicy"`
	New           PolicyRef `json:"newPolicy"`
	Nodes         int       `json:"nodes"`
	// Running counts every bound pod (all schedulers: they take room);
	// Queue the pending pods of SchedulerName replayed.
	Running int `json:"running"`
	Queue   int `json:"queue"`
	// GangPodsSkipped counts pending pods of SchedulerName that belong to a
	// PodGroup: they are not replayed (the replay places single pods; a
	// gang's outcome depends on its PodGroup, which is not in the snapshot).
	GangPodsSkipped int `json:"gangPodsSkipped,omitempty"`
	// NoLongerAdmitted: running pods of SchedulerName the old policy
	// admits where they are and the new one would not (they keep running:
	// a policy change moves no pod, but such a pod would not be placed
	// there again). StillRefused: refused by both.
	NoLongerAdmitted []Refusal `json:"noLongerAdmitted"`
	StillRefused     []Refusal `json:"stillRefused,omitempty"`
	// NewlySchedulable: queue pods the old policy's replay leaves pending
	// and the new one's places; NoLongerSchedulable the other way round.
	NewlySchedulable    []Change `json:"newlySchedulable"`
	NoLongerSchedulable []Change `json:"noLongerSchedulable"`
	// OldMetrics and NewMetrics are the two replays of the queue.
	OldMetrics Metrics `json:"oldMetrics"`
	NewMetrics Metrics `json:"newMetrics"`
}

// Change is a queue pod whose outcome the change turns around.
type Change struct {
	Pod string `json:"pod"`
	// Node is where the replay that places it puts it.
	Node string `json:"node"`
	GPUs int64  `json:"gpus"`
	// Rule is the pod's rule under the new policy.
	Rule string `json:"rule"`
	// Message is the scheduler's message in the replay that leaves it pending.
	Message string `json:"message,omitempty"`
}

// Run judges in.New against in.Old on the snapshot: the admission check of
// the running pods, then the queue replayed through each policy
// (simulator.RunAll, old first).
func Run(ctx context.Context, in Input, opts simulator.Options) (*Report, error) {
	oldP, err := policy.Load(in.Old.Text)
	if err != nil {
		return nil, fmt.Errorf("old policy (%s): %w", in.Old.Source, err)
	}
	newP, err := policy.Load(in.New.Text)
	if err != nil {
		return nil, fmt.Errorf("new policy (%s): %w", in.New.Source, err)
	}
	cfg, err := simulator.LoadSchedulerConfig(in.SchedulerConfig)
	if err != nil {
		return nil, err
	}
	profile := cfg.Profiles[0]
	if !simulator.ProfileEnables(profile, mlpolicy.Name) {
		return nil, errors.New("scheduler configuration: its first profile does not enable " + mlpolicy.Name + ": a policy change would change nothing")
	}
	r := &Report{Snapshot: in.Name, SchedulerName: profile.SchedulerName,
		Old: PolicyRef{Hash: oldP.Hash(), Source: in.Old.Source}, New: PolicyRef{Hash: newP.Hash(), Source: in.New.Source},
		Nodes: len(in.Nodes), Running: len(in.Running)}

	oldRefused := map[string]bool{}
	dra := DRA{Slices: in.ResourceSlices, Claims: in.ResourceClaims}
	for _, ref := range Refusals(oldP, in.Nodes, in.Running, r.SchedulerName, dra) {
		oldRefused[ref.Pod] = true
	}
	r.NoLongerAdmitted = []Refusal{}
	for _, ref := range Refusals(newP, in.Nodes, in.Running, r.SchedulerName, dra) {
		if oldRefused[ref.Pod] {
			r.StillRefused = append(r.StillRefused, ref)
		} else {
			r.NoLongerAdmitted = append(r.NoLongerAdmitted, ref)
		}
	}

	var queue []*v1.Pod
	for _, p := range in.Pending {
		switch {
		case p.Spec.SchedulerName != r.SchedulerName:
		case p.Spec.SchedulingGroup != nil:
			r.GangPodsSkipped++
		default:
			queue = append(queue, p)
		}
	}
	r.Queue = len(queue)
	r.NewlySchedulable, r.NoLongerSchedulable = []Change{}, []Change{}
	if len(queue) == 0 {
		return r, nil
	}
	w := &simulator.Workload{Name: in.Name, Nodes: in.Nodes, Running: outsideGroups(in.Running), Pods: queue,
		DeviceClasses: in.DeviceClasses, ResourceSlices: in.ResourceSlices, ResourceClaims: in.ResourceClaims}
	results, err := simulator.RunAll(ctx, w, []simulator.Configuration{
		{Name: "old policy", SchedulerConfig: in.SchedulerConfig, Policy: in.Old.Text},
		{Name: "new policy", SchedulerConfig: in.SchedulerConfig, Policy: in.New.Text},
	}, opts)
	if err != nil {
		return nil, err
	}
	before, after := results[0], results[1]
	gpuRes := opts.GPUResource
	if gpuRes == "" {
		gpuRes = "nvidia.com/gpu"
	}
	r.OldMetrics = metricsOf(before, in.Nodes, in.Running, gpuRes)
	r.NewMetrics = metricsOf(after, in.Nodes, in.Running, gpuRes)
	for i, p := range queue {
		o, n := before.Placements[i], after.Placements[i]
		c := Change{Pod: p.Namespace + "/" + p.Name, GPUs: n.GPUs, Rule: newP.Match(p).Name}
		switch {
		case o.Node == "" && n.Node != "":
			c.Node, c.Message = n.Node, o.Message
			r.NewlySchedulable = append(r.NewlySchedulable, c)
		case o.Node != "" && n.Node == "":
			c.Node, c.Message = o.Node, n.Message
			r.NoLongerSchedulable = append(r.NoLongerSchedulable, c)
		}
	}
	return r, nil
}

// outsideGroups returns the running pods with spec.schedulingGroup dropped
// (copies where set): a bound gang member takes room like any pod, and the
// replay creates running pods bound, outside any group.
func outsideGroups(pods []*v1.Pod) []*v1.Pod {
	out := make([]*v1.Pod, len(pods))
	for i, p := range pods {
		if p.Spec.SchedulingGroup != nil {
			p = p.DeepCopy()
			p.Spec.SchedulingGroup = nil
		}
		out[i] = p
	}
	return out
}
