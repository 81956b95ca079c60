package simulator

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// sharePod is a trace pod asking milli thousandths of a GPU of one of models.
func sharePod(name string, milli int64, models ...string) *v1.Pod {
	p := pod(name, "1", 1, models...)
	p.Annotations = map[string]string{trace.AnnotationGPUMilli: itoa(milli)}
	return p
}

func itoa(i int64) string { return resource.NewQuantity(i, resource.DecimalSI).String() }

// draWorkload is 2 nodes of 2 GPUs, models A and B, and pods of 0.5, 0.5
// (A), 0.6 (B), 1 (A) and 0.5 (A) GPU, through trace.ShareGPUs. The model
// affinities force every node; the allocator, taking devices in order,
// puts both halves on a-gpu-0, the whole GPU on gpu-1, and leaves the last
// half nowhere: a-gpu-0 is full and a-gpu-1 taken whole.
func draWorkload(t *testing.T) *Workload {
	t.Helper()
	nodes := []*v1.Node{node("node-a", "16", 2, "A"), node("node-b", "16", 2, "B")}
	pods := []*v1.Pod{
		sharePod("half-1", 500, "A"),
		sharePod("half-2", 500, "A"),
		sharePod("sixty", 600, "B"),
		pod("whole", "1", 1, "A"),
		sharePod("half-3", 500, "A"),
	}
	pods[3].Annotations = map[string]string{trace.AnnotationGPUMilli: "1000"}
	objs, err := trace.ShareGPUs(nodes, pods, trace.Options{GPUSharing: trace.GPUSharingDRA})
	if err != nil {
		t.Fatal(err)
	}
	return &Workload{Name: "dra", Nodes: objs.Nodes, Pods: objs.Pods,
		DeviceClasses: []*resourceapi.DeviceClass{objs.DeviceClass}, ResourceSlices: objs.ResourceSlices, ResourceClaims: objs.ResourceClaims}
}

func TestRunDRA(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w := draWorkload(t)
	// Run, with a hook reading the claims before the API goes away.
	var end endState
	c := Configuration{Name: "stock default"}
	s, err := c.resolve()
	if err != nil {
		t.Fatal(err)
	}
	res, err := runInProcess(ctx, w, c, s, Options{}.withDefaults(), func(e endState) { end = e })
	if err != nil {
		t.Fatal(err)
	}
	claims := end.claims

	var bound []string
	for _, p := range res.Placements {
		bound = append(bound, p.Name+"→"+p.Node)
	}
	if diff := cmp.Diff([]string{"default/half-1→node-a", "default/half-2→node-a", "default/sixty→node-b", "default/whole→node-a", "default/half-3→"}, bound); diff != "" {
		t.Errorf("bindings (-want +got):\n%s", diff)
	}

	// Every claim's allocation: device and consumed share. The whole-GPU
	// pod's claim is the scheduler's, named in the pod's status.
	extended := ""
	for _, p := range end.pods {
		if p.Name == "whole" && p.Status.ExtendedResourceClaimStatus != nil {
			extended = p.Status.ExtendedResourceClaimStatus.ResourceClaimName
		}
	}
	if extended == "" {
		t.Fatal("pod whole has no status.extendedResourceClaimStatus")
	}
	got := map[string]string{}
	for _, c := range claims {
		name := c.Name
		if name == extended {
			name = "whole (" + gpudra.ExtendedResource + ")"
		}
		if c.Status.Allocation == nil {
			got[name] = "unallocated"
			continue
		}
		for _, r := range c.Status.Allocation.Devices.Results {
			share := "-"
			if q, ok := r.ConsumedCapacity[gpudra.ShareCapacity]; ok {
				share = q.String()
			}
			got[name] += r.Driver + " " + r.Pool + "/" + r.Device + " share " + share
		}
		if len(c.Status.ReservedFor) != 1 {
			t.Errorf("claim %s reserved for %v, want its one pod", c.Name, c.Status.ReservedFor)
		}
	}
	d := gpudra.Driver
	want := map[string]string{
		"half-1": d + " node-a/gpu-0 share 500m",
		"half-2": d + " node-a/gpu-0 share 500m",
		"sixty":  d + " node-b/gpu-0 share 600m",
		"whole (" + gpudra.ExtendedResource + ")": d + " node-a/gpu-1 share 1",
		"half-3": "unallocated",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("allocations (-want +got):\n%s", diff)
	}

	wantFailure := &Failure{Arrival: 5, Pod: "default/half-3", GPUs: 0, GPUMilli: 500, AllocatedPercent: 65, DemandPercent: 77.5}
	if diff := cmp.Diff(wantFailure, res.FirstGPUFailure); diff != "" {
		t.Errorf("first GPU failure (-want +got):\n%s", diff)
	}
	wantSharing := &SharingMetrics{
		CapacityAllocated: 2.6, CapacityAllocatedPercent: 65, Unallocated: 1.4,
		Demand: 3.1, DemandPercent: 77.5, AllPlacedWhileDemandFit: false,
		SharePods: 4, SharePodsPlaced: 3, Claims: 5, ClaimsAllocated: 4,
		DevicesUsed: 3, DevicesShared: 2,
	}
	if diff := cmp.Diff(wantSharing, res.Sharing); diff != "" {
		t.Errorf("sharing metrics (-want +got):\n%s", diff)
	}
	if res.GPUSharing != GPUSharingDRA || res.ClusterGPUs != 4 || res.GPUNodes != 2 || res.GPUPods != 5 || res.GPUPodsPlaced != 4 || res.GPUsAllocated != 1 {
		t.Errorf("gpuSharing %q, cluster GPUs %d, GPU nodes %d, GPU pods %d placed %d, whole GPUs allocated %d; want dra, 4, 2, 5, 4, 1",
			res.GPUSharing, res.ClusterGPUs, res.GPUNodes, res.GPUPods, res.GPUPodsPlaced, res.GPUsAllocated)
	}
	// The curve counts fractions: its last point is the end state.
	last := res.Curve[len(res.Curve)-1]
	if last != (CurvePoint{Arrived: 5, DemandPercent: 77.5, AllocatedPercent: 65}) {
		t.Errorf("last curve point %+v, want 5 arrived, 77.5%% asked, 65%% allocated", last)
	}
}

func TestClaimAllocations(t *testing.T) {
	result := func(pool, device string, share string) resourceapi.DeviceRequestAllocationResult {
		r := resourceapi.DeviceRequestAllocationResult{Request: "gpu", Driver: gpudra.Driver, Pool: pool, Device: device}
		if share != "" {
			r.ConsumedCapacity = map[resourceapi.QualifiedName]resource.Quantity{gpudra.ShareCapacity: resource.MustParse(share)}
		}
		return r
	}
	claim := func(name string, results ...resourceapi.DeviceRequestAllocationResult) resourceapi.ResourceClaim {
		c := resourceapi.ResourceClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name}}
		if results != nil {
			c.Status.Allocation = &resourceapi.AllocationResult{Devices: resourceapi.DeviceAllocationResult{Results: results}}
		}
		return c
	}
	other := result("n", "nic-0", "")
	other.Driver = "nic.example.com"
	for _, tc := range []struct {
		name        string
		claims      []resourceapi.ResourceClaim
		wantDevices map[string]deviceUse
		wantClaims  map[string]int64
	}{{
		name:        "shares add up on a device",
		claims:      []resourceapi.ResourceClaim{claim("a", result("n", "gpu-0", "460m")), claim("b", result("n", "gpu-0", "540m"))},
		wantDevices: map[string]deviceUse{"n/gpu-0": {milli: 1000, allocations: 2, shared: true}},
		wantClaims:  map[string]int64{"default/a": 460, "default/b": 540},
	}, {
		name:        "a whole device without a consumed share counts one GPU",
		claims:      []resourceapi.ResourceClaim{claim("w", result("n", "gpu-0", ""), result("n", "gpu-1", "1"))},
		wantDevices: map[string]deviceUse{"n/gpu-0": {milli: 1000, allocations: 1}, "n/gpu-1": {milli: 1000, allocations: 1}},
		wantClaims:  map[string]int64{"default/w": 2000},
	}, {
		name:        "a share beside a whole device is over the device",
		claims:      []resourceapi.ResourceClaim{claim("w", result("n", "gpu-0", "")), claim("s", result("n", "gpu-0", "100m"))},
		wantDevices: map[string]deviceUse{"n/gpu-0": {milli: 1100, allocations: 2, shared: true}},
		wantClaims:  map[string]int64{"default/w": 1000, "default/s": 100},
	}, {
		name:        "unallocated claims and other drivers' devices count nothing",
		claims:      []resourceapi.ResourceClaim{claim("u"), claim("nic", other)},
		wantDevices: map[string]deviceUse{},
		wantClaims:  map[string]int64{"default/nic": 0},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			devices, claims := claimAllocations(tc.claims)
			gotDevices := map[string]deviceUse{}
			for k, u := range devices {
				gotDevices[k] = *u
			}
			if diff := cmp.Diff(tc.wantDevices, gotDevices, cmp.AllowUnexported(deviceUse{})); diff != "" {
				t.Errorf("devices (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.wantClaims, claims); diff != "" {
				t.Errorf("claims (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClaimMilli(t *testing.T) {
	whole := gpudra.ShareClaim("default", "w", 1)
	whole.Spec.Devices.Requests[0].Exactly.Capacity = nil
	whole.Spec.Devices.Requests[0].Exactly.Count = 3
	other := gpudra.ShareClaim("default", "o", 250)
	other.Spec.Devices.Requests[0].Exactly.DeviceClassName = "nic.example.com"
	all := gpudra.ShareClaim("default", "a", 1)
	all.Spec.Devices.Requests[0].Exactly.AllocationMode = resourceapi.DeviceAllocationModeAll
	for _, tc := range []struct {
		name  string
		claim *resourceapi.ResourceClaim
		want  int64
	}{
		{"a share", gpudra.ShareClaim("default", "s", 460), 460},
		{"three whole GPUs", whole, 3000},
		{"another class", other, 0},
		{"all devices: not counted", all, 0},
		{"no exact request", &resourceapi.ResourceClaim{Spec: resourceapi.ResourceClaimSpec{Devices: resourceapi.DeviceClaim{
			Requests: []resourceapi.DeviceRequest{{Name: "x", FirstAvailable: []resourceapi.DeviceSubRequest{{Name: "y", DeviceClassName: gpudra.DeviceClassName, Count: 1}}}}}}}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := claimMilli(tc.claim); got != tc.want {
				t.Errorf("claimMilli = %d, want %d", got, tc.want)
			}
		})
	}
}
