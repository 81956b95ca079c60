// Package gpudra is ml-scheduler's model of GPUs as Dynamic Resource
// Allocation devices: the DeviceClass, the per-node ResourceSlices a DRA GPU
// driver publishes, and the ResourceClaims of pods that share a GPU by
// capacity. No driver runs here: tests, the demo, the simulator and the trace
// replay publish these objects themselves, the way kwok stands in for
// kubelets. docs/dra-gpus.md maps the model onto NVIDIA's DRA driver.
//
// The model, one device per GPU:
//   - driver Driver, pool and slice named after the node, one slice per node;
//   - attributes ModelAttribute (the GPU model, as NVIDIA's productName) and
//     IndexAttribute;
//   - one consumable capacity, ShareCapacity, of value 1 (one GPU), on a
//     device with allowMultipleAllocations: a sharing pod's claim requests
//     e.g. share: 460m; a request without a capacity entry consumes the whole
//     device, so a whole-GPU pod never lands on a GPU someone shares;
//   - a DeviceClass that selects the driver's devices and serves the
//     extended resource nvidia.com/gpu (DRA-backed extended resources), so
//     whole-GPU pods keep asking nvidia.com/gpu: N, and nodes advertise no
//     nvidia.com/gpu of their own.
package gpudra

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const (
	// Driver is the DRA driver name the published devices carry.
	Driver = "gpu.ml-scheduler.io"
	// DeviceClassName names the DeviceClass selecting the driver's GPUs.
	DeviceClassName = "gpu.ml-scheduler.io"
	// ModelAttribute holds the GPU model (NVIDIA's driver calls it productName).
	ModelAttribute resourceapi.QualifiedName = "productName"
	// IndexAttribute is the GPU's index on its node.
	IndexAttribute resourceapi.QualifiedName = "index"
	// ShareCapacity is the consumable capacity a sharing pod requests; one
	// GPU has ShareCapacity 1.
	ShareCapacity resourceapi.QualifiedName = "share"
	// ExtendedResource is the extended resource the DeviceClass serves.
	ExtendedResource = "nvidia.com/gpu"
	// ShareRequestName names the one request of a share claim.
	ShareRequestName = "gpu"
)

// DeviceClass is the class of the driver's GPUs, serving ExtendedResource.
func DeviceClass() *resourceapi.DeviceClass {
	return &resourceapi.DeviceClass{
		ObjectMeta: metav1.ObjectMeta{Name: DeviceClassName},
		Spec: resourceapi.DeviceClassSpec{
			Selectors: []resourceapi.DeviceSelector{{
				CEL: &resourceapi.CELDeviceSelector{Expression: fmt.Sprintf("device.driver == %q", Driver)},
			}},
			ExtendedResourceName: ptr.To(ExtendedResource),
		},
	}
}

// SliceName is the name of the ResourceSlice NodeSlice builds for a node.
func SliceName(nodeName string) string { return nodeName + "-" + Driver }

// DeviceName names the i-th GPU of a node.
func DeviceName(i int) string { return fmt.Sprintf("gpu-%d", i) }

// NodeSlice is the ResourceSlice a driver publishes for a node with gpus
// GPUs of model, each a shareable device of ShareCapacity 1.
func NodeSlice(nodeName, model string, gpus int) *resourceapi.ResourceSlice {
	devices := make([]resourceapi.Device, gpus)
	for i := range devices {
		devices[i] = resourceapi.Device{
			Name:                     DeviceName(i),
			AllowMultipleAllocations: ptr.To(true),
			Attributes: map[resourceapi.QualifiedName]resourceapi.DeviceAttribute{
				ModelAttribute: {StringValue: ptr.To(model)},
				IndexAttribute: {IntValue: ptr.To(int64(i))},
			},
			Capacity: map[resourceapi.QualifiedName]resourceapi.DeviceCapacity{
				ShareCapacity: {Value: resource.MustParse("1")},
			},
		}
	}
	return &resourceapi.ResourceSlice{
		ObjectMeta: metav1.ObjectMeta{Name: SliceName(nodeName)},
		Spec: resourceapi.ResourceSliceSpec{
			Driver:   Driver,
			NodeName: ptr.To(nodeName),
			Pool:     resourceapi.ResourcePool{Name: nodeName, Generation: 1, ResourceSliceCount: 1},
			Devices:  devices,
		},
	}
}

// ShareClaim is the claim of a pod that shares one GPU: milli thousandths
// of it (1..999).
func ShareClaim(namespace, name string, milli int64) *resourceapi.ResourceClaim {
	return &resourceapi.ResourceClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{
				Name: ShareRequestName,
				Exactly: &resourceapi.ExactDeviceRequest{
					DeviceClassName: DeviceClassName,
					AllocationMode:  resourceapi.DeviceAllocationModeExactCount,
					Count:           1,
					Capacity: &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{
						ShareCapacity: *resource.NewMilliQuantity(milli, resource.DecimalSI),
					}},
				},
			}},
		}},
	}
}

// UseClaim makes pod use the claim named claimName (an existing
// ResourceClaim) in all its containers, under the pod-level name "gpu".
func UseClaim(pod *v1.Pod, claimName string) {
	pod.Spec.ResourceClaims = append(pod.Spec.ResourceClaims, v1.PodResourceClaim{
		Name: ShareRequestName, ResourceClaimName: ptr.To(claimName),
	})
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Resources.Claims = append(c.Resources.Claims, v1.ResourceClaim{Name: ShareRequestName})
	}
}
