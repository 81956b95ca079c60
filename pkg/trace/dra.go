package trace

import (
	"fmt"
	"strconv"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// GPUSharing says how a trace's GPUs become Kubernetes objects.
type GPUSharing string

const (
	// GPUSharingWhole (the default, also "") gives GPU nodes the GPU
	// resource in allocatable, and every GPU pod whole GPUs of it: a
	// sharing pod (gpu_milli < 1000) asks one whole GPU.
	GPUSharingWhole GPUSharing = "whole"
	// GPUSharingDRA makes GPUs Dynamic Resource Allocation devices
	// (pkg/gpudra): a GPU node advertises no GPU resource but has one
	// ResourceSlice, a whole-GPU pod keeps asking the GPU resource (the
	// DeviceClass serves it as a DRA-backed extended resource), and a
	// sharing pod asks its gpu_milli through a ResourceClaim of its own.
	GPUSharingDRA GPUSharing = "dra"
)

// GPUSharingModes are the accepted values of Options.GPUSharing, for help texts.
var GPUSharingModes = []GPUSharing{GPUSharingWhole, GPUSharingDRA}

// ParseGPUSharing reads a GPUSharing value ("" is GPUSharingWhole).
func ParseGPUSharing(s string) (GPUSharing, error) {
	switch GPUSharing(s) {
	case "", GPUSharingWhole:
		return GPUSharingWhole, nil
	case GPUSharingDRA:
		return GPUSharingDRA, nil
	}
	return "", fmt.Errorf("GPU sharing %q: want %q or %q", s, GPUSharingWhole, GPUSharingDRA)
}

// Objects are a trace's nodes and pods in a GPU-sharing mode, with the DRA
// objects that mode needs (none in GPUSharingWhole).
type Objects struct {
	Nodes []*v1.Node
	Pods  []*v1.Pod
	// DeviceClass is gpudra.DeviceClass() in GPUSharingDRA, nil otherwise.
	DeviceClass *resourceapi.DeviceClass
	// ResourceSlices has one slice per GPU node, in node order.
	ResourceSlices []*resourceapi.ResourceSlice
	// ResourceClaims has one claim per sharing pod, in pod order, each
	// named after its pod, in its namespace.
	ResourceClaims []*resourceapi.ResourceClaim
}

// ShareGPUs turns nodes and pods read in the whole-GPU way (ReadOpenBNodes,
// ReadOpenBPods with the same Options) into o.GPUSharing's objects. In
// GPUSharingWhole it returns them as they are. In GPUSharingDRA it returns
// copies: a node with the GPU resource in allocatable loses it and gets
// gpudra.NodeSlice with its GPU model label's value as the model; a pod
// whose AnnotationGPUMilli is below 1000 (it asks one GPU) loses its GPU
// request and limit and gets gpudra.ShareClaim, named after it, through
// gpudra.UseClaim; other pods are unchanged. Errors name the object and the
// field.
func ShareGPUs(nodes []*v1.Node, pods []*v1.Pod, o Options) (*Objects, error) {
	o = o.withDefaults()
	mode, err := ParseGPUSharing(string(o.GPUSharing))
	if err != nil {
		return nil, err
	}
	if mode == GPUSharingWhole {
		return &Objects{Nodes: nodes, Pods: pods}, nil
	}
	out := &Objects{DeviceClass: gpudra.DeviceClass()}
	var errs field.ErrorList
	for _, n := range nodes {
		n, slice, err := draNode(n, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Nodes = append(out.Nodes, n)
		if slice != nil {
			out.ResourceSlices = append(out.ResourceSlices, slice)
		}
	}
	for _, p := range pods {
		p, claim, err := draPod(p, o)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out.Pods = append(out.Pods, p)
		if claim != nil {
			out.ResourceClaims = append(out.ResourceClaims, claim)
		}
	}
	if len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return out, nil
}

// draNode is n without the GPU resource and, if it had GPUs, its slice.
func draNode(n *v1.Node, o Options) (*v1.Node, *resourceapi.ResourceSlice, *field.Error) {
	path := field.NewPath("node", n.Name, "status", "allocatable").Key(string(o.GPUResource))
	q, ok := n.Status.Allocatable[o.GPUResource]
	if !ok {
		return n, nil, nil
	}
	gpus, exact := q.AsInt64()
	if !exact || gpus < 0 {
		return nil, nil, field.Invalid(path, q.String(), "a node's GPUs are a whole number, 0 or more")
	}
	n = n.DeepCopy()
	delete(n.Status.Allocatable, o.GPUResource)
	delete(n.Status.Capacity, o.GPUResource)
	if gpus == 0 {
		return n, nil, nil
	}
	return n, gpudra.NodeSlice(n.Name, n.Labels[o.GPUModelLabel], int(gpus)), nil
}

// draPod is p, and its claim if it shares a GPU.
func draPod(p *v1.Pod, o Options) (*v1.Pod, *resourceapi.ResourceClaim, *field.Error) {
	s, ok := p.Annotations[AnnotationGPUMilli]
	if !ok {
		return p, nil, nil
	}
	root := field.NewPath("pod", p.Namespace+"/"+p.Name)
	path := root.Child("metadata", "annotations").Key(AnnotationGPUMilli)
	milli, err := strconv.ParseInt(s, 10, 64)
	if err != nil || milli < 1 || milli > 1000 {
		return nil, nil, field.Invalid(path, s, "thousandths of a GPU: a whole number from 1 to 1000")
	}
	if milli == 1000 {
		return p, nil, nil
	}
	if len(p.Spec.Containers) != 1 {
		return nil, nil, field.Invalid(root.Child("spec", "containers"), len(p.Spec.Containers), "a sharing pod has one container")
	}
	res := p.Spec.Containers[0].Resources
	gpuPath := root.Child("spec", "containers").Index(0).Child("resources", "requests").Key(string(o.GPUResource))
	if q, ok := res.Requests[o.GPUResource]; !ok || q.Value() != 1 || q.MilliValue() != 1000 {
		return nil, nil, field.Invalid(gpuPath, q.String(), fmt.Sprintf("a pod sharing a GPU (%s %d) asks one GPU", AnnotationGPUMilli, milli))
	}
	if len(p.Spec.ResourceClaims) > 0 {
		return nil, nil, field.Invalid(root.Child("spec", "resourceClaims"), len(p.Spec.ResourceClaims), "a trace pod names no claims of its own")
	}
	p = p.DeepCopy()
	c := &p.Spec.Containers[0]
	delete(c.Resources.Requests, o.GPUResource)
	delete(c.Resources.Limits, o.GPUResource)
	if len(c.Resources.Limits) == 0 {
		c.Resources.Limits = nil
	}
	gpudra.UseClaim(p, p.Name)
	return p, gpudra.ShareClaim(p.Namespace, p.Name, milli), nil
}

// LoadOpenB reads an openb node CSV and pod CSV (LoadOpenBNodes,
// LoadOpenBPods) and turns them into o.GPUSharing's objects (ShareGPUs).
func LoadOpenB(nodesPath, podsPath string, o Options) (*Objects, error) {
	nodes, err := LoadOpenBNodes(nodesPath, o)
	if err != nil {
		return nil, err
	}
	pods, err := LoadOpenBPods(podsPath, o)
	if err != nil {
		return nil, err
	}
	return ShareGPUs(nodes, pods, o)
}
