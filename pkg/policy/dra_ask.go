package policy

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/resourceclaim"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

// ClaimLookup finds a ResourceClaim by namespace and name; nil: not known
// (yet), and then it asks nothing.
type ClaimLookup func(namespace, name string) *resourceapi.ResourceClaim

// PodClaimAsk is what the pod's ResourceClaims ask of the policy's GPU
// DeviceClasses: whole GPUs, and thousandths of one shared GPU. ref is the
// share capacity of one GPU in milli-units (gpudra.Inventory's
// TypicalMilliShare; 0: the model's share of 1). Shares of several GPUs,
// or shares beside whole GPUs, count as whole GPUs, the shape the
// fragmentation measure can hold.
func (c *Compiled) PodClaimAsk(pod *v1.Pod, lookup ClaimLookup, ref int64) (whole, milli int64) {
	if len(pod.Spec.ResourceClaims) == 0 || lookup == nil {
		return 0, 0
	}
	if ref == 0 {
		ref = fragmentation.MilliPerGPU
	}
	for i := range pod.Spec.ResourceClaims {
		name, _, err := resourceclaim.Name(pod, &pod.Spec.ResourceClaims[i])
		if err != nil || name == nil {
			continue
		}
		claim := lookup(pod.Namespace, *name)
		if claim == nil {
			continue
		}
		for j := range claim.Spec.Devices.Requests {
			w, m := RequestAsk(&claim.Spec.Devices.Requests[j], c.DRA, ref)
			whole += w
			milli += m
		}
	}
	if milli >= fragmentation.MilliPerGPU || whole > 0 && milli > 0 {
		whole += (milli + fragmentation.MilliPerGPU - 1) / fragmentation.MilliPerGPU
		milli = 0
	}
	return whole, milli
}

// RequestAsk is one device request's ask of GPU devices: count whole
// devices, or a share of one in thousandths of a device of ref milli-units
// of share capacity. A request with alternatives counts its first.
func RequestAsk(r *resourceapi.DeviceRequest, d CompiledDRA, ref int64) (whole, milli int64) {
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

// PodGPUAsk is the pod's whole GPUs (extended resources and claims) and
// share of one GPU under the policy.
func (c *Compiled) PodGPUAsk(pod *v1.Pod, lookup ClaimLookup, ref int64) (gpus, milli int64) {
	w, m := c.PodClaimAsk(pod, lookup, ref)
	return c.PodGPURequest(pod) + w, m
}

// ClaimsByName is a ClaimLookup over a list of claims (a snapshot).
func ClaimsByName(claims []*resourceapi.ResourceClaim) ClaimLookup {
	if len(claims) == 0 {
		return nil
	}
	m := make(map[string]*resourceapi.ResourceClaim, len(claims))
	for _, c := range claims {
		m[c.Namespace+"/"+c.Name] = c
	}
	return func(ns, name string) *resourceapi.ResourceClaim { return m[ns+"/"+name] }
}
