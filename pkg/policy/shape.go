package policy

import (
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

// PodShape is what the pod asks for, as the fragmentation measure sees it:
// CPU and memory requests (counted as the scheduler counts them), GPUs over
// the configured GPU resources, and the GPU models the pod accepts through
// its own nodeSelector or required node affinity on the model label.
func (c *Compiled) PodShape(pod *v1.Pod) fragmentation.Shape {
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	s := fragmentation.Shape{Models: c.podModels(pod)}
	if q, ok := reqs[v1.ResourceCPU]; ok {
		s.MilliCPU = q.MilliValue()
	}
	if q, ok := reqs[v1.ResourceMemory]; ok {
		s.Memory = q.Value()
	}
	for _, res := range c.GPUResources {
		if q, ok := reqs[res]; ok {
			s.GPUs += q.Value()
		}
	}
	return s
}

// podModels is the set of GPU models the pod's own constraints accept.
// Only requirements on the model label count; a term that says nothing of
// it accepts every model, and terms are ORed as the scheduler ORs them.
func (c *Compiled) podModels(pod *v1.Pod) fragmentation.ModelSet {
	models := fragmentation.AnyModel
	if m, ok := pod.Spec.NodeSelector[c.GPUModelLabel]; ok {
		models = fragmentation.ModelBit(m)
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return models
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return models
	}
	var union fragmentation.ModelSet
	for _, t := range terms {
		union |= c.termModels(t)
	}
	return models & union
}

func (c *Compiled) termModels(t v1.NodeSelectorTerm) fragmentation.ModelSet {
	set := fragmentation.AnyModel
	for _, r := range t.MatchExpressions {
		if r.Key != c.GPUModelLabel {
			continue
		}
		switch r.Operator {
		case v1.NodeSelectorOpIn:
			set &= fragmentation.ModelsOf(r.Values)
		case v1.NodeSelectorOpNotIn:
			set &^= fragmentation.ModelsOf(r.Values)
		case v1.NodeSelectorOpDoesNotExist:
			set &= fragmentation.ModelBit("")
		case v1.NodeSelectorOpExists:
			set &^= fragmentation.ModelBit("")
		}
	}
	return set
}
