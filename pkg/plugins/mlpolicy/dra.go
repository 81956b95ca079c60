package mlpolicy

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/dynamic-resource-allocation/resourceclaim"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
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

func sourceOf(d policy.CompiledDRA) gpudra.Source {
	return gpudra.Source{Driver: d.Driver, ModelAttribute: d.ModelAttribute, ShareCapacity: d.ShareCapacity}
}

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

// claimAsk is what the pod's ResourceClaims ask of the policy's GPU
// DeviceClasses: whole GPUs, and thousandths of one shared GPU. A claim not
// yet known (a template's claim before it is created) asks nothing yet:
// the DynamicResources plugin keeps the pod waiting for it anyway.
func (pl *MLPolicy) claimAsk(logger klog.Logger, pod *v1.Pod, p *policy.Compiled) (whole, milli int64) {
	if len(pod.Spec.ResourceClaims) == 0 || pl.handle.SharedDRAManager() == nil {
		return 0, 0
	}
	claims := pl.handle.SharedDRAManager().ResourceClaims()
	ref := pl.gpus.TypicalMilliShare()
	if ref == 0 {
		// No device seen yet: one GPU is the gpudra model's share of 1.
		ref = fragmentation.MilliPerGPU
	}
	for i := range pod.Spec.ResourceClaims {
		name, _, err := resourceclaim.Name(pod, &pod.Spec.ResourceClaims[i])
		if err != nil || name == nil {
			continue
		}
		claim, err := claims.Get(pod.Namespace, *name)
		if err != nil {
			logger.V(5).Info("Pod's ResourceClaim not known yet", "pod", klog.KObj(pod), "claim", *name)
			continue
		}
		for j := range claim.Spec.Devices.Requests {
			w, m := requestAsk(&claim.Spec.Devices.Requests[j], p.DRA, ref)
			whole += w
			milli += m
		}
	}
	if milli >= fragmentation.MilliPerGPU || whole > 0 && milli > 0 {
		// Shares of several GPUs, or shares beside whole GPUs: counted as
		// whole GPUs, the shape the measure can hold.
		whole += (milli + fragmentation.MilliPerGPU - 1) / fragmentation.MilliPerGPU
		milli = 0
	}
	return whole, milli
}

// requestAsk is one device request's ask of GPU devices: count whole
// devices, or a share of one in thousandths of a device of ref milli-units
// of share capacity. A request with alternatives counts its first.
func requestAsk(r *resourceapi.DeviceRequest, d policy.CompiledDRA, ref int64) (whole, milli int64) {
	ex := r.Exactly
	if ex == nil && len(r.FirstAvailable) > 0 {
		sub := r.FirstAvailable[0]
		ex = &resourceapi.ExactDeviceRequest{DeviceClassName: sub.DeviceClassName, AllocationMode: sub.AllocationMode, Count: sub.Count, Capacity: sub.Capacity}
	}
	if ex == nil || !d.DeviceClasses.Has(ex.DeviceClassName) {
		return 0, 0
	}
	count := ex.Count
	if ex.AllocationMode == resourceapi.DeviceAllocationModeAll || count < 1 {
		count = 1
	}
	if ex.Capacity != nil && ref > 0 {
		if q, ok := ex.Capacity.Requests[d.ShareCapacity]; ok && q.MilliValue() < ref {
			share := max(q.MilliValue()*fragmentation.MilliPerGPU/ref, 1)
			return 0, share * count
		}
	}
	return count, 0
}

// podAsk is the pod's GPU ask under p, extended resources and claims.
func (pl *MLPolicy) podAsk(logger klog.Logger, pod *v1.Pod, p *policy.Compiled) (gpus, milli int64) {
	w, m := pl.claimAsk(logger, pod, p)
	return p.PodGPURequest(pod) + w, m
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
