package policy

import (
	"reflect"
	"testing"
)

func boolPtr(b bool) *bool { return &b }

func TestSetDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   *PlacementPolicy
		want *PlacementPolicy
	}{{
		name: "empty policy gets every default",
		in:   &PlacementPolicy{APIVersion: APIVersion, Kind: Kind},
		want: &PlacementPolicy{
			APIVersion:      APIVersion,
			Kind:            Kind,
			GPUResources:    []string{DefaultGPUResource},
			GPUModelLabel:   DefaultGPUModelLabel,
			ReserveGPUNodes: boolPtr(true),
		},
	}, {
		name: "empty gpuResources list is defaulted",
		in:   &PlacementPolicy{GPUResources: []string{}},
		want: &PlacementPolicy{
			GPUResources:    []string{DefaultGPUResource},
			GPUModelLabel:   DefaultGPUModelLabel,
			ReserveGPUNodes: boolPtr(true),
		},
	}, {
		name: "set values are kept, reserveGPUNodes false included",
		in: &PlacementPolicy{
			GPUResources:    []string{"amd.com/gpu"},
			GPUModelLabel:   "example.com/gpu-model",
			ReserveGPUNodes: boolPtr(false),
		},
		want: &PlacementPolicy{
			GPUResources:    []string{"amd.com/gpu"},
			GPUModelLabel:   "example.com/gpu-model",
			ReserveGPUNodes: boolPtr(false),
		},
	}, {
		name: "rules, pools and the default placement are left alone",
		in: &PlacementPolicy{
			Pools: []Pool{{Name: "a"}},
			Rules: []Rule{{Name: "r"}},
		},
		want: &PlacementPolicy{
			GPUResources:    []string{DefaultGPUResource},
			GPUModelLabel:   DefaultGPUModelLabel,
			ReserveGPUNodes: boolPtr(true),
			Pools:           []Pool{{Name: "a"}},
			Rules:           []Rule{{Name: "r"}},
		},
	}, {
		name: "a default placement without gpuPacking stays without",
		in:   &PlacementPolicy{Default: &Placement{Pools: []string{"a"}}},
		want: &PlacementPolicy{
			GPUResources:    []string{DefaultGPUResource},
			GPUModelLabel:   DefaultGPUModelLabel,
			ReserveGPUNodes: boolPtr(true),
			Default:         &Placement{Pools: []string{"a"}},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			SetDefaults(tt.in)
			if !reflect.DeepEqual(tt.in, tt.want) {
				t.Fatalf("got %+v\nwant %+v", tt.in, tt.want)
			}
			SetDefaults(tt.in)
			if !reflect.DeepEqual(tt.in, tt.want) {
				t.Fatalf("not idempotent: second call gave %+v", tt.in)
			}
		})
	}
}

func TestSetDefaultsNil(t *testing.T) {
	SetDefaults(nil) // must not panic
}

// TestSetDefaultsDecoded: a decoded minimal document defaults like a literal.
func TestSetDefaultsDecoded(t *testing.T) {
	p, err := Decode(readTestdata(t, "minimal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	SetDefaults(p)
	if !reflect.DeepEqual(p.GPUResources, []string{DefaultGPUResource}) ||
		p.GPUModelLabel != DefaultGPUModelLabel || p.ReserveGPUNodes == nil || !*p.ReserveGPUNodes ||
		p.Default != nil || p.Rules != nil || p.Pools != nil {
		t.Fatalf("got %+v", p)
	}
}
