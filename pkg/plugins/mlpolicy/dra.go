package mlpolicy

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// GPUs as DRA devices (pkg/gpudra, docs/dra-gpus.md). A node's GPUs are
// the devices of the policy's draGPUs driver in its ResourceSlices (the
// inventory, fed by the slice informer, reclassifies the node in the index);
// their use is the allocated state of the scheduler's DRA manager, which
// holds every claim allocated or in flight, so the previous pod's share is
// seen by the next cycle. A pod asks GPUs through nvidia.com/gpu (served by
// a DeviceClass's extendedResourceName or a device plugin) or through
// ResourceClaims naming the policy's GPU DeviceClasses: whole devices, or a
// share of one by the draGPUs shareCapacity. The DynamicResources plugin
// still picks the device (first fit); MLPolicy picks the node, modelling
// that first fit (fragmentation.Shares).

// watchResourceSlices feeds the inventory from the ResourceSlice informer.
func (pl *MLPolicy) watchResourceSlices() error {
	slices := pl.handle.SharedInformerFactory().Resource().V1().ResourceSlices().Informer()
	_, err := slices.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { pl.onSlice(obj, false) },
		UpdateFunc: func(_, obj interface{}) { pl.onSlice(obj, false) },
		DeleteFunc: func(obj interface{}) { pl.onSlice(obj, true) },
	})
	return err
}

func (pl *MLPolicy) onSlice(obj interface{}, deleted bool) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	s, ok := obj.(*resourceapi.ResourceSlice)
	if !ok {
		return
	}
	if deleted {
		pl.gpus.Delete(s)
		return
	}
	pl.gpus.Upsert(s)
}

// classify is the node's class under p with its DRA GPUs, for callers
// outside the index (queueing hints, Filter before the index caught up).
func (pl *MLPolicy) classify(p *policy.Compiled, n *v1.Node) policy.NodeClass {
	return p.ClassifyWithDevices(n, pl.gpus.Node(n.Name))
}

// podAsk is the pod's GPU ask under p, extended resources and claims. A
// claim not yet known (a template's claim before it is created) asks
// nothing yet: the DynamicResources plugin keeps the pod waiting for it.
func (pl *MLPolicy) podAsk(logger klog.Logger, pod *v1.Pod, p *policy.Compiled) (gpus, milli int64) {
	var lookup policy.ClaimLookup
	if m := pl.handle.SharedDRAManager(); m != nil && len(pod.Spec.ResourceClaims) > 0 {
		claims := m.ResourceClaims()
		lookup = func(ns, name string) *resourceapi.ResourceClaim {
			c, err := claims.Get(ns, name)
			if err != nil {
				logger.V(5).Info("Pod's ResourceClaim not known yet", "pod", klog.KObj(pod), "claim", name)
				return nil
			}
			return c
		}
	}
	return p.PodGPUAsk(pod, lookup, pl.gpus.TypicalMilliShare())
}

// partialMilli sums the free thousandths of partly used GPUs.
func partialMilli(s *fragmentation.Shares) int64 {
	var sum int64
	for i := 0; i < int(s.N); i++ {
		if v := s.Free[i]; v != fragmentation.MilliPerGPU {
			sum += int64(v)
		}
	}
	return sum
}
