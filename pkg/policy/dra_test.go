package policy

import (
	"strings"
	"testing"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

func TestDRAGPUsValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		yaml string
		// want: substrings of the error, each naming the field; none: valid.
		want []string
	}{
		{"unset: the defaults", ``, nil},
		{"NVIDIA's driver", "draGPUs: {driver: gpu.nvidia.com, deviceClasses: [gpu.nvidia.com], modelAttribute: productName, shareCapacity: memory}", nil},
		{"a domain-qualified attribute", "draGPUs: {modelAttribute: gpu.example.com/model}", nil},
		{"driver not a DNS subdomain", "draGPUs: {driver: GPU_Driver}", []string{"draGPUs.driver: Invalid value: \"GPU_Driver\""}},
		{"driver too long", "draGPUs: {driver: " + strings.Repeat("a", 64) + "}", []string{"draGPUs.driver: Too long"}},
		{"bad device class", "draGPUs: {deviceClasses: [ok.example.com, Bad Class]}", []string{"draGPUs.deviceClasses[1]: Invalid value: \"Bad Class\""}},
		{"attribute not an identifier", "draGPUs: {modelAttribute: product-name}", []string{"draGPUs.modelAttribute: Invalid value: \"product-name\""}},
		{"capacity with a bad domain", "draGPUs: {shareCapacity: Bad_Domain/share}", []string{"draGPUs.shareCapacity: Invalid value: \"Bad_Domain/share\""}},
		{"unknown field", "draGPUs: {drivr: x}", []string{"unknown field \"draGPUs.drivr\""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load([]byte("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n" + tc.yaml + "\n"))
			if len(tc.want) == 0 {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Load accepted the policy; want an error containing %q", tc.want)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestDRAGPUsDefaults(t *testing.T) {
	unset, err := Load([]byte("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"))
	if err != nil {
		t.Fatal(err)
	}
	partial, err := Load([]byte("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\ndraGPUs: {driver: gpu.nvidia.com, deviceClasses: [gpu.nvidia.com]}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if d := unset.DRA; d.Driver != gpudra.Driver || !d.DeviceClasses.Has(gpudra.DeviceClassName) || d.ModelAttribute != gpudra.ModelAttribute || d.ShareCapacity != gpudra.ShareCapacity {
		t.Errorf("unset draGPUs compiled to %+v, want the gpudra model", d)
	}
	if d := partial.DRA; d.Driver != "gpu.nvidia.com" || d.DeviceClasses.Has(gpudra.DeviceClassName) || d.ModelAttribute != gpudra.ModelAttribute || d.ShareCapacity != gpudra.ShareCapacity {
		t.Errorf("partial draGPUs compiled to %+v, want NVIDIA's driver and class, the rest defaulted", d)
	}
	if unset.Source().DRAGPUs != nil {
		t.Errorf("an unset draGPUs was written into the policy (its hash would change)")
	}
}
