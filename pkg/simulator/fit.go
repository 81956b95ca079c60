package simulator

import (
	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
	"k8s.io/klog/v2"
)

// fitsSomeEmptyNode tells whether some node, with nothing on it, could hold
// p: its allocatable covers every resource p asks, p's node selector and
// required node affinity match it, and p tolerates its NoSchedule and
// NoExecute taints. A pod that fits no node fails under any scheduler, so
// the first failure that tells schedulers apart is the first of the others.
func fitsSomeEmptyNode(p *v1.Pod, nodes []*v1.Node) bool {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	affinity := nodeaffinity.GetRequiredNodeAffinity(p)
	for _, n := range nodes {
		if !covers(n.Status.Allocatable, req) {
			continue
		}
		if ok, err := affinity.Match(n); err != nil || !ok {
			continue
		}
		_, untolerated := corev1helpers.FindMatchingUntoleratedTaint(klog.Background(), n.Spec.Taints, p.Spec.Tolerations,
			func(t *v1.Taint) bool {
				return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
			}, true)
		if untolerated {
			continue
		}
		return true
	}
	return false
}

// covers tells whether alloc has at least req of every resource req names.
func covers(alloc, req v1.ResourceList) bool {
	for name, q := range req {
		if q.IsZero() {
			continue
		}
		a, ok := alloc[name]
		if !ok || a.Cmp(q) < 0 {
			return false
		}
	}
	return true
}
