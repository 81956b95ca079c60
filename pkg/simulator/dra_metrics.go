package simulator

import (
	"math"

	resourceapi "k8s.io/api/resource/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// SharingMetrics sum up a replay of DRA GPUs (Result.GPUSharing "dra"),
// fractions counted. GPU amounts are in GPUs, to 0.001; percentages are of
// the cluster's GPUs (Result.ClusterGPUs: the devices of the slices).
type SharingMetrics struct {
	// CapacityAllocated is the GPU capacity allocated at the end, read from
	// the claims' allocations: the share each allocation consumes of its
	// device, an allocation without a consumed share counting one device.
	CapacityAllocated        float64 `json:"gpuCapacityAllocated"`
	CapacityAllocatedPercent float64 `json:"gpuCapacityAllocatedPercent"`
	// Unallocated is the cluster's GPUs minus CapacityAllocated.
	Unallocated float64 `json:"gpusUnallocated"`
	// Demand is what the whole queue asks, fractions counted.
	Demand        float64 `json:"gpuDemand"`
	DemandPercent float64 `json:"gpuDemandPercent"`
	// AllPlacedWhileDemandFit: no GPU pod was reported unschedulable while
	// the demand arrived (it included) was at most the cluster's GPUs.
	AllPlacedWhileDemandFit bool `json:"allGPUPodsPlacedWhileDemandFit"`
	// SharePods ask a fraction of one GPU through a claim.
	SharePods       int `json:"sharePods"`
	SharePodsPlaced int `json:"sharePodsPlaced"`
	// Claims is how many ResourceClaims there are at the end (the
	// workload's, and those the scheduler made for whole-GPU pods), and
	// ClaimsAllocated how many of them have an allocation.
	Claims          int `json:"claims"`
	ClaimsAllocated int `json:"claimsAllocated"`
	// DevicesUsed have an allocation, DevicesShared one consuming less
	// than the whole device.
	DevicesUsed   int `json:"devicesUsed"`
	DevicesShared int `json:"devicesShared"`
	// DevicesOverAllocated lists pool/device of devices whose allocations
	// consume more than the device (a whole allocation beside another one
	// included); BoundPodsMisallocated counts bound GPU pods whose claims'
	// allocations are not what they ask. Both must be empty: they check the
	// scheduler's allocator and this accounting.
	DevicesOverAllocated  []string `json:"devicesOverAllocated,omitempty"`
	BoundPodsMisallocated int      `json:"boundPodsMisallocated"`
}

// deviceUse is what the allocations consume of one device.
type deviceUse struct {
	milli       int64
	allocations int
	shared      bool
}

// claimAllocations reads every claim's allocation of gpudra devices: the
// use of each device (by pool/device) and what each claim got, in
// thousandths of a GPU (by namespace/name; a claim without an allocation
// is absent).
func claimAllocations(claims []resourceapi.ResourceClaim) (devices map[string]*deviceUse, got map[string]int64) {
	devices, got = map[string]*deviceUse{}, map[string]int64{}
	for i := range claims {
		c := &claims[i]
		if c.Status.Allocation == nil {
			continue
		}
		total := int64(0)
		for _, r := range c.Status.Allocation.Devices.Results {
			if r.Driver != gpudra.Driver {
				continue
			}
			milli, shared := int64(1000), false
			if q, ok := r.ConsumedCapacity[gpudra.ShareCapacity]; ok {
				milli = q.MilliValue()
				shared = milli < 1000
			}
			k := r.Pool + "/" + r.Device
			u := devices[k]
			if u == nil {
				u = &deviceUse{}
				devices[k] = u
			}
			u.milli += milli
			u.allocations++
			u.shared = u.shared || shared
			total += milli
		}
		got[groupKey(c.Namespace, c.Name)] = total
	}
	return devices, got
}

// sharingMetrics reads the end state's claims into Metrics.Sharing.
func (r *recorder) sharingMetrics(e endState) {
	devices, got := claimAllocations(e.claims)
	m := r.res.Sharing
	m.Claims, m.ClaimsAllocated = len(e.claims), len(got)
	total := int64(0)
	for _, k := range sortedKeys(keysOf(devices)) {
		u := devices[k]
		total += u.milli
		m.DevicesUsed++
		if u.shared {
			m.DevicesShared++
		}
		if u.milli > 1000 {
			m.DevicesOverAllocated = append(m.DevicesOverAllocated, k)
		}
	}
	m.CapacityAllocated = gpusOfMilli(total)
	m.CapacityAllocatedPercent = r.percent(total)
	m.Unallocated = gpusOfMilli(1000*r.res.ClusterGPUs - total)
	for _, p := range e.pods {
		if p.Spec.NodeName == "" {
			continue
		}
		want := r.gpus.podMilli(p)
		if want == 0 {
			continue
		}
		have := int64(0)
		for _, rc := range p.Spec.ResourceClaims {
			if rc.ResourceClaimName != nil {
				have += got[groupKey(namespaceOf(p), *rc.ResourceClaimName)]
			}
		}
		if s := p.Status.ExtendedResourceClaimStatus; s != nil {
			have += got[groupKey(namespaceOf(p), s.ResourceClaimName)]
		}
		if have != want {
			m.BoundPodsMisallocated++
		}
	}
}

func keysOf[V any](m map[string]V) map[string]bool {
	out := make(map[string]bool, len(m))
	for k := range m {
		out[k] = true
	}
	return out
}

// gpusOfMilli is milli thousandths of a GPU in GPUs.
func gpusOfMilli(milli int64) float64 { return math.Round(float64(milli)) / 1000 }
