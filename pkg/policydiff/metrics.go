package policydiff

import (
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// Metrics sum up one replay of the queue on top of the running pods.
type Metrics struct {
	Pods   int `json:"pods"`
	Placed int `json:"placed"`
	// Unschedulable were reported unschedulable at their first attempt.
	Unschedulable        int     `json:"unschedulableAtFirstAttempt"`
	ClusterGPUs          int64   `json:"clusterGPUs"`
	GPUsAllocated        int64   `json:"gpusAllocated"`
	GPUsAllocatedPercent float64 `json:"gpusAllocatedPercent"`
	// FirstGPUFailure and FirstPlaceableGPUFailure as the simulator reports them.
	FirstGPUFailure          *simulator.Failure `json:"firstGPUFailure,omitempty"`
	FirstPlaceableGPUFailure *simulator.Failure `json:"firstPlaceableGPUFailure,omitempty"`
	// Fragmentation at the end: GPU nodes partly used (some but not all
	// GPUs allocated) and the free GPUs they hold.
	PartlyUsedGPUNodes   int   `json:"partlyUsedGPUNodes"`
	FreeGPUsOnPartlyUsed int64 `json:"freeGPUsOnPartlyUsedNodes"`
	// Domains is the simulator's per-topology-domain count (Options.TopologyKey).
	Domains *simulator.DomainMetrics `json:"domains,omitempty"`
}

func metricsOf(res *simulator.Result, nodes []*v1.Node, running []*v1.Pod, gpuRes v1.ResourceName) Metrics {
	m := Metrics{Pods: res.Pods, Unschedulable: res.PodsUnschedulable, ClusterGPUs: res.ClusterGPUs,
		GPUsAllocated: res.GPUsAllocated, GPUsAllocatedPercent: res.GPUsAllocatedPercent,
		FirstGPUFailure: res.FirstGPUFailure, FirstPlaceableGPUFailure: res.FirstPlaceableGPUFailure, Domains: res.Domains}
	used := map[string]int64{}
	for _, p := range running {
		used[p.Spec.NodeName] += gpusOf(resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}), gpuRes)
	}
	for _, pl := range res.Placements {
		if pl.Node != "" {
			m.Placed++
			used[pl.Node] += pl.GPUs
		}
	}
	for _, n := range nodes {
		total := gpusOf(n.Status.Allocatable, gpuRes)
		if u := used[n.Name]; total > 0 && u > 0 && u < total {
			m.PartlyUsedGPUNodes++
			m.FreeGPUsOnPartlyUsed += total - u
		}
	}
	return m
}

func gpusOf(l v1.ResourceList, res v1.ResourceName) int64 {
	if q, ok := l[res]; ok {
		return q.Value()
	}
	return 0
}
