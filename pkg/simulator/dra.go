package simulator

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/featuregate"
	"k8s.io/kubernetes/pkg/features"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// GPUs as DRA devices. A workload with ResourceSlices is replayed in GPU
// sharing mode: its GPUs are the devices of the gpudra driver's slices (the
// nodes advertise none of their own), a pod asks whole GPUs as the
// extended resource the DeviceClass serves and fractions through a
// ResourceClaim requesting gpudra.ShareCapacity, and the scheduler's
// DynamicResources plugin allocates both. Demand and allocation are then
// counted in thousandths of a GPU.

// GPUSharingDRA names Result.GPUSharing for a replay of DRA GPUs.
const GPUSharingDRA = "dra"

// draGates are the feature gates a replay of DRA GPUs needs: claims by
// consumable capacity, and extended resources served by a DeviceClass.
// Both are on by default in 1.37 (DynamicResourceAllocation is locked on).
var draGates = []featuregate.Feature{features.DRAConsumableCapacity, features.DRAExtendedResource}

func checkDRAGates() error {
	for _, f := range draGates {
		if !utilfeature.DefaultFeatureGate.Enabled(f) {
			return fmt.Errorf("the workload has DRA GPUs but feature gate %s is off", f)
		}
	}
	return nil
}

// gpuCounter counts GPUs of nodes and pods, whole ones of the GPU resource
// and the gpudra driver's devices with the shares claims ask.
type gpuCounter struct {
	res v1.ResourceName
	// sharing: the workload has ResourceSlices.
	sharing bool
	// devices are the gpudra devices of each node.
	devices map[string]int64
	// claimMilli is what each gpudra claim of the workload asks, by
	// namespace/name, in thousandths of a GPU.
	claimMilli map[string]int64
}

func newGPUCounter(w *Workload, res v1.ResourceName) *gpuCounter {
	g := &gpuCounter{res: res, sharing: len(w.ResourceSlices) > 0, devices: map[string]int64{}, claimMilli: map[string]int64{}}
	for _, s := range w.ResourceSlices {
		if s.Spec.Driver == gpudra.Driver && s.Spec.NodeName != nil {
			g.devices[*s.Spec.NodeName] += int64(len(s.Spec.Devices))
		}
	}
	for _, c := range w.ResourceClaims {
		g.claimMilli[groupKey(c.Namespace, c.Name)] = claimMilli(c)
	}
	return g
}

// claimMilli is what c asks of gpudra devices, in thousandths of a GPU: a
// request with a share asks it of each device, one without a whole device.
func claimMilli(c *resourceapi.ResourceClaim) int64 {
	total := int64(0)
	for _, r := range c.Spec.Devices.Requests {
		e := r.Exactly
		if e == nil || e.DeviceClassName != gpudra.DeviceClassName || e.AllocationMode != resourceapi.DeviceAllocationModeExactCount {
			continue
		}
		per := int64(1000)
		if e.Capacity != nil {
			if q, ok := e.Capacity.Requests[gpudra.ShareCapacity]; ok {
				per = q.MilliValue()
			}
		}
		total += e.Count * per
	}
	return total
}

// nodeGPUs is n's GPUs: of the GPU resource, plus its gpudra devices.
func (g *gpuCounter) nodeGPUs(n *v1.Node) int64 {
	return gpusOf(n.Status.Allocatable, g.res) + g.devices[n.Name]
}

// podMilli is what p asks, in thousandths of a GPU: whole GPUs of the
// resource, and the shares of the workload's claims it names.
func (g *gpuCounter) podMilli(p *v1.Pod) int64 {
	return 1000*podGPUs(p, g.res) + g.podShareMilli(p)
}

// podShareMilli is what p asks through the workload's claims.
func (g *gpuCounter) podShareMilli(p *v1.Pod) int64 {
	total := int64(0)
	for _, rc := range p.Spec.ResourceClaims {
		if rc.ResourceClaimName != nil {
			total += g.claimMilli[groupKey(p.Namespace, *rc.ResourceClaimName)]
		}
	}
	return total
}

// claimSchedule places the workload's claims: each queue pod's claims are
// created just before it (by queue index), the others before the replay.
func claimSchedule(w *Workload) (before map[int][]*resourceapi.ResourceClaim, upfront []*resourceapi.ResourceClaim) {
	byKey := map[string]*resourceapi.ResourceClaim{}
	for _, c := range w.ResourceClaims {
		byKey[groupKey(c.Namespace, c.Name)] = c
	}
	before = map[int][]*resourceapi.ResourceClaim{}
	for i, p := range w.Pods {
		for _, rc := range p.Spec.ResourceClaims {
			if rc.ResourceClaimName == nil {
				continue
			}
			k := groupKey(namespaceOf(p), *rc.ResourceClaimName)
			if c := byKey[k]; c != nil {
				before[i] = append(before[i], c)
				delete(byKey, k)
			}
		}
	}
	for _, c := range w.ResourceClaims {
		if byKey[groupKey(c.Namespace, c.Name)] != nil {
			upfront = append(upfront, c)
		}
	}
	return before, upfront
}

// prepareDRA creates the DeviceClasses, the ResourceSlices and the claims
// no queue pod names.
func prepareDRA(ctx context.Context, client kubernetes.Interface, w *Workload) error {
	for _, dc := range w.DeviceClasses {
		dc = dc.DeepCopy()
		dc.ResourceVersion, dc.UID = "", ""
		if _, err := client.ResourceV1().DeviceClasses().Create(ctx, dc, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating DeviceClass %s: %w", dc.Name, err)
		}
	}
	for _, s := range w.ResourceSlices {
		s = s.DeepCopy()
		s.ResourceVersion, s.UID = "", ""
		if _, err := client.ResourceV1().ResourceSlices().Create(ctx, s, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating ResourceSlice %s: %w", s.Name, err)
		}
	}
	_, upfront := claimSchedule(w)
	for _, c := range upfront {
		if err := createClaim(ctx, client, c); err != nil {
			return err
		}
	}
	return nil
}

// createClaim creates c. A claim already allocated (a running pod's, in a
// cluster snapshot) keeps its allocation, written as its status, so the
// scheduler counts the devices it holds as in use; its reservations are
// dropped: they name the snapshot's pod UIDs, which the replay's pods do
// not have.
func createClaim(ctx context.Context, client kubernetes.Interface, c *resourceapi.ResourceClaim) error {
	c = c.DeepCopy()
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	c.ResourceVersion, c.UID = "", ""
	allocation := c.Status.Allocation
	c.Status = resourceapi.ResourceClaimStatus{}
	created, err := client.ResourceV1().ResourceClaims(c.Namespace).Create(ctx, c, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating ResourceClaim %s/%s: %w", c.Namespace, c.Name, err)
	}
	if allocation == nil {
		return nil
	}
	created.Status.Allocation = allocation
	if _, err := client.ResourceV1().ResourceClaims(c.Namespace).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("writing the allocation of ResourceClaim %s/%s: %w", c.Namespace, c.Name, err)
	}
	return nil
}

// TraceWorkload is a trace's objects (pkg/trace: ShareGPUs, LoadOpenB) as a
// workload: its nodes, its pods as the queue, and its DRA objects.
func TraceWorkload(name string, objs *trace.Objects) *Workload {
	w := &Workload{Name: name, Nodes: objs.Nodes, Pods: objs.Pods,
		ResourceSlices: objs.ResourceSlices, ResourceClaims: objs.ResourceClaims}
	if objs.DeviceClass != nil {
		w.DeviceClasses = []*resourceapi.DeviceClass{objs.DeviceClass}
	}
	return w
}
