package policy

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// Match returns the first rule matching the pod, or the default rule.
func (c *Compiled) Match(pod *v1.Pod) *CompiledRule {
	for _, r := range c.Rules {
		if r.matches(pod) {
			return r
		}
	}
	return c.Default
}

// RuleByIndex returns rule i, where len(Rules) is the default rule.
func (c *Compiled) RuleByIndex(i int) *CompiledRule {
	if i == len(c.Rules) {
		return c.Default
	}
	return c.Rules[i]
}

func (r *CompiledRule) matches(pod *v1.Pod) bool {
	if len(r.namespaces) > 0 {
		found := false
		for _, ns := range r.namespaces {
			if ns == pod.Namespace {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return r.podSelector == nil || r.podSelector.Matches(labels.Set(pod.Labels))
}

// PodGPURequest is the number of GPUs (of any configured GPU resource) the
// pod requests, counted as the scheduler counts requests (init and sidecar
// containers, overhead) by Kubernetes' own helper. That helper builds maps,
// so pods that name no GPU resource at all, most of them, skip it.
func (c *Compiled) PodGPURequest(pod *v1.Pod) int64 {
	if !c.namesGPU(pod) {
		return 0
	}
	reqs := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	var total int64
	for _, res := range c.GPUResources {
		if q, ok := reqs[res]; ok {
			total += q.Value()
		}
	}
	return total
}

// namesGPU reports whether any container requests or limits a GPU resource.
func (c *Compiled) namesGPU(pod *v1.Pod) bool {
	for _, cs := range [][]v1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			for _, res := range c.GPUResources {
				if _, ok := cs[i].Resources.Requests[res]; ok {
					return true
				}
				if _, ok := cs[i].Resources.Limits[res]; ok {
					return true
				}
			}
		}
	}
	return false
}

// NodeClass is what the policy needs to know about a node, computed once per
// node version so Filter only compares bits.
type NodeClass struct {
	Pools PoolSet
	// Preferred holds the Compiled.Preferences the node's labels match.
	Preferred PreferenceSet
	// GPUs is the node's allocatable GPU count over the configured resources.
	GPUs  int64
	Model string
	// ModelBit is Model's bit for fragmentation shapes.
	ModelBit fragmentation.ModelSet
	// DRA holds the node's GPUs published as DRA devices (counted in GPUs),
	// nil when it publishes none.
	DRA *gpudra.NodeGPUs
}

// ClassifyWithDevices is Classify of a node that publishes the DRA GPU
// devices g (nil: none): they count in its GPUs, and where the node has no
// model label, their model attribute is its model.
func (c *Compiled) ClassifyWithDevices(node *v1.Node, g *gpudra.NodeGPUs) NodeClass {
	nc := c.Classify(node)
	if g == nil {
		return nc
	}
	nc.DRA = g
	nc.GPUs += int64(len(g.Devices))
	if nc.Model == "" && g.Model != "" {
		nc.Model = g.Model
		nc.ModelBit = fragmentation.ModelBit(g.Model)
	}
	return nc
}

// Classify computes a node's class under this policy.
func (c *Compiled) Classify(node *v1.Node) NodeClass {
	nc := NodeClass{Model: node.Labels[c.GPUModelLabel]}
	nc.ModelBit = fragmentation.ModelBit(nc.Model)
	set := labels.Set(node.Labels)
	for _, p := range c.Pools {
		if p.Selector.Matches(set) {
			nc.Pools.Add(p.Index)
		}
	}
	for i, sel := range c.Preferences {
		if sel.Matches(set) {
			nc.Preferred.Add(i)
		}
	}
	for _, res := range c.GPUResources {
		if q, ok := node.Status.Allocatable[res]; ok {
			nc.GPUs += q.Value()
		}
	}
	return nc
}

// PreferredWeight sums the weights of r's preferences the node matches; nc
// is the node's class under c, labels its labels (read only for preferences
// past MaxPreferences).
func (r *CompiledRule) PreferredWeight(nc *NodeClass, nodeLabels map[string]string) int64 {
	var w int64
	for _, p := range r.Preferred {
		if p.Index >= 0 {
			if nc.Preferred.Has(p.Index) {
				w += p.Weight
			}
		} else if p.Selector.Matches(labels.Set(nodeLabels)) {
			w += p.Weight
		}
	}
	return w
}

// Verdict is why a node is refused; VerdictOK admits it.
type Verdict uint8

const (
	VerdictOK Verdict = iota
	// VerdictNotInPool: the node is in none of the rule's pools.
	VerdictNotInPool
	// VerdictGPUModel: the node's GPU model is not one the rule allows.
	VerdictGPUModel
	// VerdictReservedForGPU: a pod requesting no GPU on a GPU node.
	VerdictReservedForGPU
	// VerdictNoGPU: a GPU pod on a node without GPUs.
	VerdictNoGPU
	// VerdictOwnedPool: the node is in a pool owned by other namespaces.
	VerdictOwnedPool
	// VerdictWouldStrand: a pod requesting no GPU on a GPU node (cpuSpill)
	// would leave the node's free GPUs without the CPU or memory they need.
	// Admits never returns it: Filter judges it on the node's free resources.
	VerdictWouldStrand
)

// Admits judges a node for a pod matched to rule r. wantsGPU says whether the
// pod requests a GPU; owned is the set of owned pools the pod's namespace
// owns (see OwnedBy). It allocates nothing.
func (c *Compiled) Admits(r *CompiledRule, nc *NodeClass, wantsGPU bool, owned *PoolSet) Verdict {
	if !r.Pools.Empty() && !r.Pools.Intersects(&nc.Pools) {
		return VerdictNotInPool
	}
	if r.gpuModelSet != nil && !r.gpuModelSet.Has(nc.Model) {
		return VerdictGPUModel
	}
	if wantsGPU && nc.GPUs == 0 {
		return VerdictNoGPU
	}
	if !wantsGPU && c.ReserveGPUNodes && nc.GPUs > 0 && !c.CPUSpill {
		return VerdictReservedForGPU
	}
	var restricted PoolSet
	for i := range restricted {
		restricted[i] = nc.Pools[i] & c.OwnedPools[i]
	}
	if !restricted.Empty() && !restricted.Intersects(owned) {
		return VerdictOwnedPool
	}
	return VerdictOK
}

// OwnedBy returns the owned pools whose owners include the namespace.
// It is a map lookup: Compile indexes ownership by namespace.
func (c *Compiled) OwnedBy(namespace string) PoolSet {
	return c.ownedBy[namespace]
}
