package mlpolicy

import (
	"fmt"
	"math"
	"sort"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	fwk "k8s.io/kube-scheduler/framework"
)

// domains groups a placement's nodes by the value of a topology label.
type domains struct {
	key   string
	nodes map[string][]fwk.NodeInfo
}

func newDomains(key string, nodes []fwk.NodeInfo) *domains {
	d := &domains{key: key, nodes: map[string][]fwk.NodeInfo{}}
	for _, ni := range nodes {
		n := ni.Node()
		if n == nil {
			continue
		}
		if v, ok := n.Labels[key]; ok {
			d.nodes[v] = append(d.nodes[v], ni)
		}
	}
	return d
}

// names are the domains in a stable order, so placements and messages are reproducible.
func (d *domains) names() []string {
	out := make([]string, 0, len(d.nodes))
	for n := range d.nodes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (d *domains) keepOnly(name string) {
	for n := range d.nodes {
		if n != name {
			delete(d.nodes, n)
		}
	}
}

// room is how many pods asking ask the domain's free resources could hold,
// counting resources only (no filters): an upper bound, so a domain with
// less room than a gang needs cannot hold it.
func (d *domains) room(name string, ask *podAsk) int {
	total := 0
	for _, ni := range d.nodes[name] {
		total += fits(ni, ask)
		if total > math.MaxInt32 {
			break
		}
	}
	return total
}

// fits is how many pods asking ask fit the node's free resources.
func fits(ni fwk.NodeInfo, ask *podAsk) int {
	alloc, used := ni.GetAllocatable(), ni.GetRequested()
	n := int64(alloc.GetAllowedPodNumber() - len(ni.GetPods()))
	limit := func(free, asked int64) {
		if asked > 0 {
			n = min(n, free/asked)
		}
	}
	limit(alloc.GetMilliCPU()-used.GetMilliCPU(), ask.milliCPU)
	limit(alloc.GetMemory()-used.GetMemory(), ask.memory)
	if ask.gpus > 0 {
		var free int64
		a, u := alloc.GetScalarResources(), used.GetScalarResources()
		for _, r := range ask.gpuRes {
			free += a[r] - u[r]
		}
		limit(free, ask.gpus)
	}
	return int(max(n, 0))
}

// podAsk is what a pod requests, in the units the scheduler counts.
type podAsk struct {
	milliCPU, memory, gpus int64
	gpuRes                 []v1.ResourceName
}

func podAskOf(p *v1.Pod, gpuRes []v1.ResourceName) podAsk {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	a := podAsk{milliCPU: req.Cpu().MilliValue(), memory: req.Memory().Value(), gpuRes: gpuRes}
	for _, r := range gpuRes {
		if q, ok := req[r]; ok {
			a.gpus += q.Value()
		}
	}
	return a
}

// smallestAsk is, resource by resource, the least any of the pods asks.
func smallestAsk(pods []*v1.Pod, gpuRes []v1.ResourceName) podAsk {
	out := podAsk{gpuRes: gpuRes}
	for i, p := range pods {
		a := podAskOf(p, gpuRes)
		if i == 0 {
			out = a
			continue
		}
		out.milliCPU, out.memory, out.gpus = min(out.milliCPU, a.milliCPU), min(out.memory, a.memory), min(out.gpus, a.gpus)
	}
	return out
}

// largestAsk is, resource by resource, the most any of the pods asks: what
// the waiting message quotes.
func largestAsk(pods []*v1.Pod, gpuRes []v1.ResourceName) podAsk {
	out := podAsk{gpuRes: gpuRes}
	for _, p := range pods {
		a := podAskOf(p, gpuRes)
		out.milliCPU, out.memory, out.gpus = max(out.milliCPU, a.milliCPU), max(out.memory, a.memory), max(out.gpus, a.gpus)
	}
	return out
}

func (a podAsk) String() string {
	cpu := resource.NewMilliQuantity(a.milliCPU, resource.DecimalSI)
	mem := resource.NewQuantity(a.memory, resource.BinarySI)
	if a.gpus > 0 {
		return fmt.Sprintf("%d GPUs (cpu %s, memory %s)", a.gpus, cpu, mem)
	}
	return fmt.Sprintf("cpu %s, memory %s", cpu, mem)
}
