package simulator

import (
	"sort"

	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Copies and readings of the workload's objects the driver submits and counts.

// queuePod is a clean copy of a queue pod, served by schedulerName.
func queuePod(p *v1.Pod, schedulerName string) *v1.Pod {
	p = cleanPod(p)
	p.Spec.NodeName = ""
	p.Spec.SchedulerName = schedulerName
	p.Status = v1.PodStatus{}
	return p
}

// cleanPod copies p without what the API server sets.
func cleanPod(p *v1.Pod) *v1.Pod {
	p = p.DeepCopy()
	if p.Namespace == "" {
		p.Namespace = "default"
	}
	p.ResourceVersion, p.UID, p.ManagedFields, p.Generation = "", "", nil, 0
	p.Status.NominatedNodeName = ""
	return p
}

func cleanNode(n *v1.Node) *v1.Node {
	n = n.DeepCopy()
	n.ResourceVersion, n.UID, n.ManagedFields, n.Generation = "", "", nil, 0
	return n
}

func namespaceOf(p *v1.Pod) string {
	if p.Namespace == "" {
		return "default"
	}
	return p.Namespace
}

func keyOf(p *v1.Pod) string { return namespaceOf(p) + "/" + p.Name }

func namespacesOf(pods []*v1.Pod) []string {
	set := map[string]bool{}
	for _, p := range pods {
		set[namespaceOf(p)] = true
	}
	return sortedKeys(set)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func podGPUs(p *v1.Pod, res v1.ResourceName) int64 {
	return gpusOf(resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{}), res)
}

func podCPUMilli(p *v1.Pod) int64 {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	return req.Cpu().MilliValue()
}

func gpusOf(l v1.ResourceList, res v1.ResourceName) int64 {
	q, ok := l[res]
	if !ok {
		return 0
	}
	return q.Value()
}
