// Package simulator replays a workload through the real scheduler and
// reports placement quality.
//
// Run builds kube-scheduler in-process exactly as the ml-scheduler binary
// does (the configuration decoded, defaulted and validated by kube-scheduler's
// own code, scheduler.New with its profiles and the MLPolicy plugin
// registered out of tree) on an in-memory API (client-go's fake clientset, no
// apiserver), then creates the workload's pods one at a time in arrival
// order, each after the previous one is bound or reported unschedulable.
// A pod group (PodGroup, scheduling.k8s.io/v1beta1) arrives whole: its
// PodGroup and all its pods together, then the driver waits for all of
// them (see Workload.PodGroups).
// RunOnCluster replays the same way against a real apiserver where a
// scheduler process already runs, so the two can be compared.
package simulator

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// Workload is what is replayed.
type Workload struct {
	Name  string
	Nodes []*v1.Node
	// Running pods have spec.nodeName set: they are bound before the replay.
	Running []*v1.Pod
	// Pods are the queue, in arrival order.
	Pods []*v1.Pod
	// PodGroups are the groups queue pods name in
	// spec.schedulingGroup.podGroupName (same namespace). A group arrives
	// at its first pod's place in the queue: its PodGroup and all its pods
	// are created together, and the next arrival waits until the group
	// settles: each pod bound or reported unschedulable, and none or at
	// least minCount of them bound. Every PodGroup needs queue pods
	// (a gang at least minCount); running pods name none. An in-process
	// run of a workload with PodGroups turns the feature gates
	// GenericWorkload and TopologyAwareWorkloadScheduling on for its
	// duration (process-wide: such runs are serialised with every other
	// in-process run). RunOnCluster needs them on the cluster's
	// kube-apiserver (and scheduling.k8s.io/v1beta1 served) and scheduler.
	PodGroups []*schedulingv1beta1.PodGroup
	// DeviceClasses and ResourceSlices are created before the scheduler
	// starts. A workload with ResourceSlices is replayed with GPUs as DRA
	// devices (see gpuCounter; pkg/trace.ShareGPUs builds such workloads):
	// its GPUs are the gpudra driver's devices, and the Result has
	// GPUSharing "dra" and Metrics.Sharing.
	DeviceClasses  []*resourceapi.DeviceClass
	ResourceSlices []*resourceapi.ResourceSlice
	// ResourceClaims are each created just before the first queue pod
	// naming it in spec.resourceClaims (resourceClaimName), or before the
	// replay if no queue pod names it. An allocated claim keeps its
	// allocation (what running pods hold), not its reservations.
	ResourceClaims []*resourceapi.ResourceClaim
}

// Configuration is one scheduler setup to replay the workload through.
type Configuration struct {
	// Name labels the results, e.g. "stock default".
	Name string
	// SchedulerConfig is a KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)
	// YAML; empty means kube-scheduler's defaults. Pods are given the first
	// profile's schedulerName. leaderElection and clientConnection are ignored.
	SchedulerConfig []byte
	// Policy is an optional placement policy YAML, put into the ConfigMap the
	// profile's MLPolicy args name before the scheduler starts.
	Policy []byte
}

// Options tune a replay. The zero value is fine.
type Options struct {
	// Progress, if set, is called after each replayed pod (from the replay
	// goroutine; keep it quick). NewProgressBar gives a text bar.
	Progress func(Progress)
	// PodTimeout bounds the wait for one pod to be bound or reported
	// unschedulable, or for one pod group to settle (default 30s).
	PodTimeout time.Duration
	// CurveEvery samples the allocation curve every that many pods (default 20).
	CurveEvery int
	// GPUResource is the extended resource counted as GPUs (default nvidia.com/gpu).
	GPUResource v1.ResourceName
	// GPUModelLabel is the node label reported as a node's GPU model
	// (default nvidia.com/gpu.product).
	GPUModelLabel string
	// TopologyKey is the node label whose values are the domains (racks,
	// e.g. topology.kubernetes.io/rack) that Metrics.Domains counts as
	// empty, partly used or full, and that Metrics.Gangs says whether each
	// gang was placed within. Empty: no domain metrics.
	TopologyKey string
	// Log receives the scheduler's contextual logs; the zero value drops them.
	// (klog's global logger, used by client-go, is the caller's to configure.)
	Log logr.Logger
}

func (o Options) withDefaults() Options {
	if o.PodTimeout == 0 {
		o.PodTimeout = 30 * time.Second
	}
	if o.CurveEvery <= 0 {
		o.CurveEvery = 20
	}
	if o.GPUResource == "" {
		o.GPUResource = trace.DefaultGPUResource
	}
	if o.GPUModelLabel == "" {
		o.GPUModelLabel = trace.DefaultGPUModelLabel
	}
	return o
}

// Progress is reported after each pod, or each pod group.
type Progress struct {
	Workload, Configuration string
	// Done pods of Total replayed; Unschedulable of them at their first attempt.
	Done, Total, Unschedulable int
	Elapsed                    time.Duration
}

// Run replays w through c's scheduler, in-process on an in-memory API.
func Run(ctx context.Context, w *Workload, c Configuration, opts Options) (*Result, error) {
	if _, err := replaySteps(w); err != nil {
		return nil, fmt.Errorf("workload %q: %w", w.Name, err)
	}
	if len(w.ResourceSlices) > 0 {
		if err := checkDRAGates(); err != nil {
			return nil, fmt.Errorf("workload %q: %w", w.Name, err)
		}
	}
	// Before resolve: defaulting the configuration reads the gates.
	release, err := withWorkloadGates(klog.NewContext(ctx, opts.Log), len(w.PodGroups) > 0)
	if err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	defer release()
	s, err := c.resolve()
	if err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	res, err := runInProcess(ctx, w, c, s, opts.withDefaults(), nil)
	if err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	return res, nil
}

// RunAll runs each configuration in turn (one at a time: the scheduler
// uses all cores it gets) and returns their results in order.
func RunAll(ctx context.Context, w *Workload, cs []Configuration, opts Options) ([]*Result, error) {
	var out []*Result
	for _, c := range cs {
		r, err := Run(ctx, w, c, opts)
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}
