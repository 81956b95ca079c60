package policy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

func TestRequestAsk(t *testing.T) {
	d := DefaultDRA()
	q := func(s string) *resourceapi.CapacityRequirements {
		return &resourceapi.CapacityRequirements{Requests: map[resourceapi.QualifiedName]resource.Quantity{gpudra.ShareCapacity: resource.MustParse(s)}}
	}
	for _, tc := range []struct {
		name         string
		req          resourceapi.DeviceRequest
		ref          int64
		whole, milli int64
	}{
		{"share of a one-unit GPU", resourceapi.DeviceRequest{Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: gpudra.DeviceClassName, Count: 1, Capacity: q("460m")}}, 1000, 0, 460},
		{"share of an 80-unit GPU", resourceapi.DeviceRequest{Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: gpudra.DeviceClassName, Count: 1, Capacity: q("20")}}, 80000, 0, 250},
		{"no capacity request: whole devices", resourceapi.DeviceRequest{Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: gpudra.DeviceClassName, Count: 2}}, 1000, 2, 0},
		{"a request of the whole capacity is a whole GPU", resourceapi.DeviceRequest{Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: gpudra.DeviceClassName, Count: 1, Capacity: q("1")}}, 1000, 1, 0},
		{"another class is no GPU", resourceapi.DeviceRequest{Exactly: &resourceapi.ExactDeviceRequest{DeviceClassName: "nic.example.com", Count: 1}}, 1000, 0, 0},
		{"first of the alternatives", resourceapi.DeviceRequest{FirstAvailable: []resourceapi.DeviceSubRequest{{DeviceClassName: gpudra.DeviceClassName, Count: 1, Capacity: q("250m")}}}, 1000, 0, 250},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, m := RequestAsk(&tc.req, d, tc.ref)
			if w != tc.whole || m != tc.milli {
				t.Errorf("requestAsk = %d whole, %d milli; want %d, %d", w, m, tc.whole, tc.milli)
			}
		})
	}
}

// TestPodGPUAsk: a pod's claims of the policy's DeviceClasses add to its
// extended-resource GPUs; a share beside whole GPUs, or shares of more than
// one GPU, count as whole GPUs; an unknown claim asks nothing.
func TestPodGPUAsk(t *testing.T) {
	c, err := Load([]byte("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"))
	if err != nil {
		t.Fatal(err)
	}
	whole := gpudra.ShareClaim("ml", "whole", 0)
	whole.Spec.Devices.Requests[0].Exactly.Capacity = nil
	whole.Spec.Devices.Requests[0].Exactly.Count = 2
	claims := ClaimsByName([]*resourceapi.ResourceClaim{
		gpudra.ShareClaim("ml", "quarter", 250), gpudra.ShareClaim("ml", "big", 800), whole,
	})
	for _, tc := range []struct {
		name        string
		claims      []string
		extended    string
		gpus, milli int64
	}{
		{"one share", []string{"quarter"}, "", 0, 250},
		{"whole devices through a claim", []string{"whole"}, "", 2, 0},
		{"a share beside whole GPUs is whole", []string{"whole", "quarter"}, "", 3, 0},
		{"shares of more than one GPU", []string{"quarter", "big"}, "", 2, 0},
		{"an unknown claim asks nothing", []string{"missing"}, "", 0, 0},
		{"extended resource and a claim", []string{"whole"}, "1", 3, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "p"}, Spec: v1.PodSpec{Containers: []v1.Container{{Name: "c"}}}}
			if tc.extended != "" {
				pod.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resource.MustParse(tc.extended)}
				pod.Spec.Containers[0].Resources.Requests = pod.Spec.Containers[0].Resources.Limits
			}
			for _, n := range tc.claims {
				gpudra.UseClaim(pod, n)
			}
			gpus, milli := c.PodGPUAsk(pod, claims, 0)
			if gpus != tc.gpus || milli != tc.milli {
				t.Errorf("PodGPUAsk = %d GPUs, %d milli; want %d, %d", gpus, milli, tc.gpus, tc.milli)
			}
		})
	}
}
