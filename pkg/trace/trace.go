// Package trace reads workload inputs for the placement simulator
// (pkg/simulator) and turns them into Node and Pod objects:
//
//   - the Alibaba GPU trace "openb" CSV files (cluster-trace-gpu-v2023):
//     ReadOpenBNodes, ReadOpenBPods;
//   - a cluster snapshot as `kubectl get nodes,pods -o yaml` prints it (a v1
//     List, or multi-document YAML of Node and Pod objects): ReadSnapshot.
//
// Errors name the file, the line and the column or field, and the reason.
package trace

import (
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
)

// Names shared with the rest of the project.
const (
	// DefaultGPUResource is the extended resource a trace GPU becomes.
	DefaultGPUResource v1.ResourceName = "nvidia.com/gpu"
	// DefaultGPUModelLabel is the node label holding the GPU model, the one
	// the placement policy reads by default.
	DefaultGPUModelLabel = "nvidia.com/gpu.product"
	// AnnotationGPUMilli keeps a trace pod's gpu_milli (thousandths of one
	// GPU per GPU asked). Below 1000 the pod shares a GPU: it asks one
	// whole GPU, or, with Options.GPUSharing GPUSharingDRA (ShareGPUs), its
	// share through a ResourceClaim.
	AnnotationGPUMilli = "ml-scheduler.io/gpu-milli"
	// AnnotationTraceQoS keeps the trace's qos column (LS, BE, Burstable,
	// Guaranteed: Alibaba's classes, not Kubernetes QoS).
	AnnotationTraceQoS = "ml-scheduler.io/trace-qos"
	// DefaultNamespace holds the trace's pods.
	DefaultNamespace = "default"
	// DefaultMaxPods is the pods allocatable of a trace node: large enough
	// that the pod count never limits placement.
	DefaultMaxPods = 256
	// PauseImage is the image of every trace pod's one container.
	PauseImage = "registry.k8s.io/pause:3.10"
)

// TraceEpoch is the creationTimestamp of a trace pod with creation_time 0;
// creation_time (seconds) is added to it.
var TraceEpoch = time.Date(2023, time.January, 1, 0, 0, 0, 0, time.UTC)

// Options tune how trace rows become objects. The zero value uses the defaults.
type Options struct {
	// GPUResource is the extended resource of a GPU (default nvidia.com/gpu).
	GPUResource v1.ResourceName
	// GPUModelLabel is the node label carrying the GPU model, and the key of
	// the nodeAffinity a pod's gpu_spec becomes (default nvidia.com/gpu.product).
	GPUModelLabel string
	// Namespace of the pods (default "default").
	Namespace string
	// MaxPods is each node's pods allocatable (default 256).
	MaxPods int64
	// SchedulerName, if set, is put on every pod (the simulator sets it anyway).
	SchedulerName string
	// GPUSharing is how GPUs become objects (ShareGPUs, LoadOpenB): whole
	// GPUs of GPUResource (the default) or DRA devices.
	GPUSharing GPUSharing
}

func (o Options) withDefaults() Options {
	if o.GPUResource == "" {
		o.GPUResource = DefaultGPUResource
	}
	if o.GPUModelLabel == "" {
		o.GPUModelLabel = DefaultGPUModelLabel
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.MaxPods == 0 {
		o.MaxPods = DefaultMaxPods
	}
	return o
}

// Error is a problem in an input file, located as precisely as known.
type Error struct {
	File string
	// Line is 1-based; 0 if unknown.
	Line int
	// Column is the 1-based CSV column; 0 if not a CSV field.
	Column int
	// Field is the column name or the object field.
	Field string
	// Reason says what is wrong.
	Reason string
}

func (e *Error) Error() string {
	s := e.File
	if e.Line > 0 {
		s += fmt.Sprintf(":%d", e.Line)
	}
	switch {
	case e.Column > 0 && e.Field != "":
		s += fmt.Sprintf(": column %d (%s)", e.Column, e.Field)
	case e.Column > 0:
		s += fmt.Sprintf(": column %d", e.Column)
	case e.Field != "":
		s += ": " + e.Field
	}
	return s + ": " + e.Reason
}
