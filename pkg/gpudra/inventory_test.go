package gpudra

import (
	"slices"
	"testing"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/utils/ptr"
)

var ours = Source{Driver: Driver, ModelAttribute: ModelAttribute, ShareCapacity: ShareCapacity}

func TestInventory(t *testing.T) {
	var heard []string
	inv := NewInventory(ours, func(n string) { heard = append(heard, n) })
	expectHeard := func(step string, want ...string) {
		t.Helper()
		if !slices.Equal(heard, want) {
			t.Errorf("%s: nodes reported changed %v, want %v", step, heard, want)
		}
		heard = nil
	}

	inv.Upsert(NodeSlice("n1", "A100", 2))
	g := inv.Node("n1")
	if g == nil || g.Model != "A100" || len(g.Devices) != 2 || g.Devices[1].MilliShare != 1000 || g.Devices[1].ID.Device.String() != "gpu-1" {
		t.Fatalf("n1 = %+v, want 2 A100 devices of share 1000m", g)
	}
	expectHeard("add", "n1")
	if inv.TypicalMilliShare() != 1000 {
		t.Errorf("typical share = %d, want 1000", inv.TypicalMilliShare())
	}

	inv.Upsert(NodeSlice("n1", "A100", 2)) // a resync: same devices
	expectHeard("same slice again")

	other := NodeSlice("n2", "T4", 1)
	other.Spec.Driver = "nic.example.com"
	inv.Upsert(other)
	if inv.Node("n2") != nil {
		t.Errorf("a slice of another driver made n2 a GPU node")
	}
	expectHeard("other driver")

	// A driver republishing under a new pool generation: the old slice's
	// devices no longer count.
	newer := NodeSlice("n1", "A100", 4)
	newer.Name = "n1-new"
	newer.Spec.Pool.Generation = 2
	inv.Upsert(newer)
	if got := len(inv.Node("n1").Devices); got != 4 {
		t.Errorf("after a newer pool generation: %d devices, want 4", got)
	}
	expectHeard("newer generation", "n1")

	inv.SetSource(Source{Driver: "nic.example.com", ModelAttribute: ModelAttribute, ShareCapacity: ShareCapacity})
	if inv.Node("n1") != nil || inv.Node("n2") == nil {
		t.Errorf("after switching driver: n1 %v, n2 %v; want only n2", inv.Node("n1"), inv.Node("n2"))
	}
	if inv.TypicalMilliShare() != 1000 {
		t.Errorf("typical share under the other driver = %d, want 1000", inv.TypicalMilliShare())
	}
	heard = nil

	inv.SetSource(ours)
	heard = nil
	// A slice that moves to another node takes its GPUs along.
	moving := NodeSlice("n3", "L4", 1)
	moving.Name = "moving"
	inv.Upsert(moving)
	moved := moving.DeepCopy()
	moved.Spec.NodeName = ptr.To("n4")
	inv.Upsert(moved)
	if inv.Node("n3") != nil || inv.Node("n4") == nil {
		t.Errorf("after the slice moved: n3 %v, n4 %v; want only n4", inv.Node("n3"), inv.Node("n4"))
	}
	expectHeard("slice moved", "n3", "n4", "n3")
	inv.Delete(moved)
	inv.Delete(newer)
	inv.Delete(NodeSlice("n1", "A100", 2))
	if inv.Node("n1") != nil || inv.Len() != 0 {
		t.Errorf("after deleting n1's slices: %v, %d nodes", inv.Node("n1"), inv.Len())
	}
}

func TestInventoryReadsTheConfiguredCapacity(t *testing.T) {
	s := NodeSlice("n1", "H100", 1)
	s.Spec.Devices[0].Capacity["memory"] = resourceapi.DeviceCapacity{Value: resource.MustParse("80Gi")}
	delete(s.Spec.Devices[0].Attributes, ModelAttribute)
	s.Spec.Devices[0].Attributes["gpu.example.com/product"] = resourceapi.DeviceAttribute{StringValue: ptr.To("H100")}
	inv := NewInventory(Source{Driver: Driver, ModelAttribute: "gpu.example.com/product", ShareCapacity: "memory"}, nil)
	inv.Upsert(s)
	g := inv.Node("n1")
	if g == nil || g.Model != "H100" || g.Devices[0].MilliShare != 80<<30*1000 {
		t.Fatalf("n1 = %+v, want an H100 of 80Gi memory", g)
	}
}
