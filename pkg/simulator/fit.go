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
// With DRA GPUs the GPUs a pod asks, whole or a share of one, are held
// against the node's devices (gpus.nodeGPUs), not its allocatable.
func fitsSomeEmptyNode(p *v1.Pod, nodes []*v1.Node, gpus *gpuCounter) bool {
	req := resourcehelper.PodRequests(p, resourcehelper.PodResourcesOptions{})
	var need int64
	if gpus.sharing {
		need = (gpus.podMilli(p) + 999) / 1000
		delete(req, gpus.res)
	}
	affinity := nodeaffinity.GetRequiredNodeAffinity(p)
	for _, n := range nodes {
		if !covers(n.Status.Allocatable, req) || (need > 0 && gpus.nodeGPUs(n) < need) {
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
