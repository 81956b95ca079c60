package policydiff

import (
	"context"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// TestRunDRA: the queue replay places pods that share GPUs through claims,
// and counts what running pods' allocated claims hold. dra-t4 has one GPU
// of which a running pod holds half; a pending 0.6 share fits only on
// dra-a100, which the new policy takes from team-a: it becomes
// unschedulable. Were the running claim's half not counted, the 0.6 share
// would fit dra-t4 under both policies.
func TestRunDRA(t *testing.T) {
	cfg := shippedSchedulerConfig(t)
	in := Input{
		Name:            "dra",
		Nodes:           []*v1.Node{node("dra-a100", "a100", 0), node("dra-t4", "t4", 0)},
		DeviceClasses:   []*resourceapi.DeviceClass{gpudra.DeviceClass()},
		ResourceSlices:  []*resourceapi.ResourceSlice{gpudra.NodeSlice("dra-a100", "A100", 1), gpudra.NodeSlice("dra-t4", "T4", 1)},
		SchedulerConfig: cfg,
		Old:             Policy{Source: "old.yaml", Text: []byte(oldPolicy)},
		New:             Policy{Source: "new.yaml", Text: []byte(newPolicy)},
	}
	share := func(name, nodeName string, milli int64, created int64) *v1.Pod {
		p := pod("team-a", name, nodeName, 0, created)
		c := gpudra.ShareClaim("team-a", name+"-gpu", milli)
		gpudra.UseClaim(p, c.Name)
		if nodeName != "" {
			q := *resource.NewMilliQuantity(milli, resource.DecimalSI)
			c.Status.Allocation = &resourceapi.AllocationResult{Devices: resourceapi.DeviceAllocationResult{
				Results: []resourceapi.DeviceRequestAllocationResult{{
					Request: gpudra.ShareRequestName, Driver: gpudra.Driver, Pool: nodeName, Device: gpudra.DeviceName(0),
					ShareID: ptr.To(types.UID("0a1b2c3d-0000-4000-8000-000000000001")), ConsumedCapacity: map[resourceapi.QualifiedName]resource.Quantity{gpudra.ShareCapacity: q},
				}},
			}}
		}
		in.ResourceClaims = append(in.ResourceClaims, c)
		return p
	}
	in.Running = []*v1.Pod{share("running", "dra-t4", 500, 0)}
	in.Pending = []*v1.Pod{share("big", "", 600, 1), share("small", "", 400, 2)}

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, err := Run(ctx, in, simulator.Options{PodTimeout: 20 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.NoLongerAdmitted) != 0 {
		t.Errorf("no longer admitted %+v, want none: the running share is on t4", r.NoLongerAdmitted)
	}
	if len(r.NoLongerSchedulable) != 1 || r.NoLongerSchedulable[0].Pod != "team-a/big" || r.NoLongerSchedulable[0].Node != "dra-a100" {
		t.Errorf("no longer schedulable %+v, want team-a/big (on dra-a100 under the old policy)", r.NoLongerSchedulable)
	}
	if len(r.NewlySchedulable) != 0 {
		t.Errorf("newly schedulable %+v, want none", r.NewlySchedulable)
	}
	if r.OldMetrics.Placed != 2 || r.NewMetrics.Placed != 1 {
		t.Errorf("placed: old %d, new %d; want 2 and 1", r.OldMetrics.Placed, r.NewMetrics.Placed)
	}
}
