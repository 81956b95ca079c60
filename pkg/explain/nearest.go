package explain

import (
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework/plugins/names"
)

// shortfall is what a node lacks for the pod, with how far it is off.
type shortfall struct {
	lacks []Lack
	// gap sums, over the lacking resources, the missing share of the
	// pod's request (each in (0, 1]).
	gap float64
}

// shortfallOf compares the pod's requests with what the node has free
// (allocatable minus what its pods request), resource by resource as
// NodeResourcesFit does, plus one pod slot.
func shortfallOf(pod *v1.Pod, ni fwk.NodeInfo) shortfall {
	req := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	alloc, used := ni.GetAllocatable(), ni.GetRequested()
	var s shortfall
	add := func(name v1.ResourceName, want, free int64, q func(int64) *resource.Quantity) {
		if want <= 0 || want <= free {
			return
		}
		missing := want - max(free, 0)
		s.lacks = append(s.lacks, Lack{Resource: string(name), Amount: q(missing).String()})
		s.gap += float64(missing) / float64(want)
	}
	decimal := func(v int64) *resource.Quantity { return resource.NewQuantity(v, resource.DecimalSI) }
	binary := func(v int64) *resource.Quantity { return resource.NewQuantity(v, resource.BinarySI) }
	milli := func(v int64) *resource.Quantity { return resource.NewMilliQuantity(v, resource.DecimalSI) }
	// Extended resources (GPUs) first: they are what ML pods wait for.
	scalars := make([]v1.ResourceName, 0, len(req))
	for name := range req {
		switch name {
		case v1.ResourceCPU, v1.ResourceMemory, v1.ResourceEphemeralStorage, v1.ResourcePods:
		default:
			scalars = append(scalars, name)
		}
	}
	sort.Slice(scalars, func(i, j int) bool { return scalars[i] < scalars[j] })
	for _, name := range scalars {
		q := req[name]
		add(name, q.Value(), alloc.GetScalarResources()[name]-used.GetScalarResources()[name], decimal)
	}
	cpu, mem, eph := req[v1.ResourceCPU], req[v1.ResourceMemory], req[v1.ResourceEphemeralStorage]
	add(v1.ResourceCPU, cpu.MilliValue(), alloc.GetMilliCPU()-used.GetMilliCPU(), milli)
	add(v1.ResourceMemory, mem.Value(), alloc.GetMemory()-used.GetMemory(), binary)
	add(v1.ResourceEphemeralStorage, eph.Value(), alloc.GetEphemeralStorage()-used.GetEphemeralStorage(), binary)
	add(v1.ResourcePods, 1, int64(alloc.GetAllowedPodNumber()-len(ni.GetPods())), decimal)
	return s
}

// nearest picks, among the nodes refused other than by the policy, the
// one closest to fitting: no refusal besides resources first, then the
// fewest lacking resources, then the smallest gap, then by name. It
// returns nil when the policy refuses every node.
func nearest(pod *v1.Pod, nodes []fwk.NodeInfo, refused map[string]refusal) *Nearest {
	type cand struct {
		name  string
		short shortfall
		other []string
	}
	var best *cand
	better := func(a, b *cand) bool {
		if (len(a.other) > 0) != (len(b.other) > 0) {
			return len(a.other) == 0
		}
		if len(a.short.lacks) != len(b.short.lacks) {
			return len(a.short.lacks) < len(b.short.lacks)
		}
		if a.short.gap != b.short.gap {
			return a.short.gap < b.short.gap
		}
		return a.name < b.name
	}
	for _, ni := range nodes {
		name := ni.Node().Name
		r, ok := refused[name]
		if !ok || r.policy() {
			continue
		}
		c := &cand{name: name, short: shortfallOf(pod, ni)}
		if r.plugin != names.NodeResourcesFit {
			c.other = r.reasons
		}
		if len(c.short.lacks) == 0 && len(c.other) == 0 {
			// Refused by resources the comparison above does not see
			// (e.g. reserved by a nominated pod): keep what the plugin said.
			c.other = r.reasons
		}
		if best == nil || better(c, best) {
			best = c
		}
	}
	if best == nil {
		return nil
	}
	return &Nearest{Node: best.name, Lacks: best.short.lacks, Other: best.other}
}
