package mlpolicy

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// How a cycle learns which DRA GPUs are in use. The DRA manager's
// allocated state is exact, but gathering it clones the consumed capacity
// of every allocated shared device: at 2000 whole-GPU pods that was ~2.4 ms
// per pod, most of MLPolicy's cost. While no ResourceClaim exists but the
// ones the scheduler makes for DRA-backed extended resources, every GPU in
// use is a whole one taken by an nvidia.com/gpu request, and the node's
// requests (assumed pods included) count them; the state is read only once
// some pod asks devices through a claim of its own.

// isDeviceClaim: the object is a ResourceClaim other than the scheduler's
// extended-resource claims.
func isDeviceClaim(obj interface{}) bool {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	c, ok := obj.(*resourceapi.ResourceClaim)
	return ok && c.Annotations[resourceapi.ExtendedResourceClaimAnnotation] != "true"
}

// watchResourceClaims counts the device claims into pl.deviceClaims, from
// the claim informer the DRA manager shares. A claim the informer has not
// delivered yet is seen as soon as the pod that uses it is scheduled: that
// pod names it (readDRAUse).
func (pl *MLPolicy) watchResourceClaims() error {
	claims := pl.handle.SharedInformerFactory().Resource().V1().ResourceClaims().Informer()
	_, err := claims.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj interface{}) {
			if isDeviceClaim(obj) {
				pl.deviceClaims.Add(1)
			}
		},
		DeleteFunc: func(obj interface{}) {
			if isDeviceClaim(obj) {
				pl.deviceClaims.Add(-1)
			}
		},
	})
	pl.claimsWatched = err == nil
	return err
}

// readDRAUse records in s how this cycle counts the use of DRA GPUs, once
// per cycle: by the nodes' requests while no device claim exists and the
// pod names none, else (or when the claims are not watched) by the DRA
// manager's allocated state.
func (pl *MLPolicy) readDRAUse(logger klog.Logger, s *cycleState, pod *v1.Pod) {
	if s.draRead {
		return
	}
	s.draRead = true
	if pl.gpus.Len() == 0 || pl.handle.SharedDRAManager() == nil {
		return
	}
	if pl.claimsWatched && pl.deviceClaims.Load() <= 0 && len(pod.Spec.ResourceClaims) == 0 {
		s.draByRequests = true
		return
	}
	s.draState = pl.allocatedState(logger)
}

// draShort reports whether the pod asks more whole GPUs than the node's
// DRA devices have free. The DynamicResources Filter would refuse the node
// too, but only after its allocator tried every device, which under
// packing, where many nodes are full, was ~10% of the cycle. Shares are
// left to that Filter: whether one fits depends on the device's capacity.
func (s *cycleState) draShort(nodeInfo fwk.NodeInfo, nc *policy.NodeClass) bool {
	if s.gpus == 0 || s.milliGPU > 0 || !s.draByRequests && s.draState == nil {
		return false
	}
	devices := nc.DRA.Devices
	if s.draByRequests {
		return int64(len(devices))-usedGPUs(s, nodeInfo) < s.gpus
	}
	var free int64
	for i := range devices {
		if usedMilli(&devices[i], s.draState, s.active.Policy.DRA.ShareCapacity) == 0 {
			if free++; free >= s.gpus {
				return false
			}
		}
	}
	return true
}

// allocatedState is the DRA manager's allocated devices and consumed
// capacity, nil when the state cannot be read (the GPUs then count as free:
// the DynamicResources Filter still refuses what does not fit).
func (pl *MLPolicy) allocatedState(logger klog.Logger) *structured.AllocatedState {
	var err error
	for range 3 { // the tracker reports a concurrent modification: try again
		var st *structured.AllocatedState
		if st, err = pl.handle.SharedDRAManager().ResourceClaims().GatherAllocatedState(); err == nil {
			return st
		}
	}
	logger.V(3).Info("Reading the allocated DRA devices failed; GPU devices count as free this cycle", "err", err)
	return nil
}

// draFree fills f's GPUs from the node's DRA devices, as this cycle counts
// their use (readDRAUse).
func draFree(s *cycleState, f *nodeFree, nodeInfo fwk.NodeInfo, g *gpudra.NodeGPUs) {
	if s.draByRequests {
		draSharesByRequests(f, g, usedGPUs(s, nodeInfo))
		return
	}
	draShares(f, g, s.draState, s.active.Policy.DRA.ShareCapacity)
}

// draSharesByRequests fills f's GPUs when the node's pods take used whole
// devices and nothing else: which ones does not matter to the measure.
func draSharesByRequests(f *nodeFree, g *gpudra.NodeGPUs, used int64) {
	n := int64(len(g.Devices))
	f.Shares = fragmentation.Shares{N: uint8(min(n, fragmentation.MaxDevices))}
	for i := 0; i < int(f.Shares.N); i++ {
		if int64(i) >= used {
			f.Shares.Set(i, fragmentation.MilliPerGPU)
		}
	}
	f.GPUs = max(n-used, 0)
}

// draShares fills f's GPUs from the node's DRA devices under st.
func draShares(f *nodeFree, g *gpudra.NodeGPUs, st *structured.AllocatedState, capacity resourceapi.QualifiedName) {
	f.Shares = fragmentation.Shares{N: uint8(min(len(g.Devices), fragmentation.MaxDevices))}
	var untracked int64
	for i := range g.Devices {
		free := int64(fragmentation.MilliPerGPU) - usedMilli(&g.Devices[i], st, capacity)
		if i < fragmentation.MaxDevices {
			f.Shares.Set(i, free)
		} else if free == fragmentation.MilliPerGPU {
			untracked++
		}
	}
	f.GPUs = f.Shares.Whole() + untracked
}

// usedMilli is the thousandths of the device in use.
func usedMilli(d *gpudra.Device, st *structured.AllocatedState, capacity resourceapi.QualifiedName) int64 {
	if st == nil {
		return 0
	}
	if st.AllocatedDevices.Has(d.ID) {
		return fragmentation.MilliPerGPU
	}
	c, ok := st.AggregatedCapacity[d.ID]
	if !ok {
		return 0
	}
	q, ok := c[capacity]
	if !ok || d.MilliShare <= 0 {
		return fragmentation.MilliPerGPU // shared by a capacity we do not count: taken
	}
	return min(q.MilliValue()*fragmentation.MilliPerGPU/d.MilliShare, fragmentation.MilliPerGPU)
}
