package policy

import (
	"fmt"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// DRAGPUs says which Dynamic Resource Allocation devices are GPUs, for
// nodes whose GPUs a DRA driver publishes in ResourceSlices instead of a
// device plugin's extended resource. Every field defaults to ml-scheduler's
// own device model (pkg/gpudra, docs/dra-gpus.md); for NVIDIA's DRA driver
// an admin sets driver and deviceClasses to gpu.nvidia.com and
// shareCapacity to the capacity its shared GPUs are consumed by.
type DRAGPUs struct {
	// Driver publishes the GPU devices. Default: gpu.ml-scheduler.io.
	Driver string `json:"driver,omitempty"`
	// DeviceClasses a pod's ResourceClaim names to ask for a GPU or a share
	// of one. Default: [gpu.ml-scheduler.io].
	DeviceClasses []string `json:"deviceClasses,omitempty"`
	// ModelAttribute is the device attribute holding the GPU model, read by
	// gpuModels where the node has no gpuModelLabel. Default: productName.
	ModelAttribute string `json:"modelAttribute,omitempty"`
	// ShareCapacity is the consumable capacity a sharing pod requests; the
	// share of a GPU it takes is its request over the device's capacity.
	// Default: share.
	ShareCapacity string `json:"shareCapacity,omitempty"`
}

// CompiledDRA is DRAGPUs in the form the plugin reads.
type CompiledDRA struct {
	Driver         string
	DeviceClasses  sets.Set[string]
	ModelAttribute resourceapi.QualifiedName
	ShareCapacity  resourceapi.QualifiedName
}

// Source is the device source of these GPUs, for a gpudra.Inventory.
func (d CompiledDRA) Source() gpudra.Source {
	return gpudra.Source{Driver: d.Driver, ModelAttribute: d.ModelAttribute, ShareCapacity: d.ShareCapacity}
}

// Inventory is the GPU devices of the slices (a snapshot's), as the
// scheduler's inventory holds them.
func (d CompiledDRA) Inventory(slices []*resourceapi.ResourceSlice) *gpudra.Inventory {
	inv := gpudra.NewInventory(d.Source(), nil)
	for _, s := range slices {
		inv.Upsert(s)
	}
	return inv
}

// setDRADefaults fills the fields a set draGPUs leaves out; an unset
// draGPUs stays unset (Compile reads it as every default), so policies
// that say nothing of DRA keep their hash.
func setDRADefaults(p *PlacementPolicy) {
	d := p.DRAGPUs
	if d == nil {
		return
	}
	if d.Driver == "" {
		d.Driver = gpudra.Driver
	}
	if len(d.DeviceClasses) == 0 {
		d.DeviceClasses = []string{gpudra.DeviceClassName}
	}
	if d.ModelAttribute == "" {
		d.ModelAttribute = string(gpudra.ModelAttribute)
	}
	if d.ShareCapacity == "" {
		d.ShareCapacity = string(gpudra.ShareCapacity)
	}
}

// driverNameMaxLength is the DRA API's bound on a driver name.
const driverNameMaxLength = 63

func validateDRAGPUs(d *DRAGPUs, path *field.Path) field.ErrorList {
	if d == nil {
		return nil
	}
	var errs field.ErrorList
	if msgs := validation.IsDNS1123Subdomain(d.Driver); len(msgs) > 0 {
		errs = append(errs, invalidEach(path.Child("driver"), d.Driver, msgs)...)
	} else if len(d.Driver) > driverNameMaxLength {
		errs = append(errs, field.TooLong(path.Child("driver"), d.Driver, driverNameMaxLength))
	}
	if len(d.DeviceClasses) == 0 {
		errs = append(errs, field.Required(path.Child("deviceClasses"), "at least one DeviceClass name, e.g. "+gpudra.DeviceClassName))
	}
	errs = append(errs, validateList(d.DeviceClasses, path.Child("deviceClasses"), func(p *field.Path, c string) field.ErrorList {
		if msgs := validation.IsDNS1123Subdomain(c); len(msgs) > 0 {
			return invalidEach(p, c, msgs)
		}
		return nil
	})...)
	errs = append(errs, validateQualifiedName(d.ModelAttribute, path.Child("modelAttribute"))...)
	errs = append(errs, validateQualifiedName(d.ShareCapacity, path.Child("shareCapacity"))...)
	return errs
}

// validateQualifiedName checks a DRA attribute or capacity name: a C
// identifier of at most 32 characters, optionally after a DNS subdomain
// and a slash.
func validateQualifiedName(name string, path *field.Path) field.ErrorList {
	if name == "" {
		return field.ErrorList{field.Required(path, "a device attribute or capacity name")}
	}
	domain, id := "", name
	for i := len(name) - 1; i >= 0; i-- {
		if name[i] == '/' {
			domain, id = name[:i], name[i+1:]
			break
		}
	}
	var errs field.ErrorList
	if domain != "" || id != name {
		if msgs := validation.IsDNS1123Subdomain(domain); len(msgs) > 0 {
			errs = append(errs, invalidEach(path, name, msgs)...)
		}
	}
	if msgs := validation.IsCIdentifier(id); len(msgs) > 0 {
		errs = append(errs, invalidEach(path, name, msgs)...)
	} else if len(id) > 32 {
		errs = append(errs, field.Invalid(path, name, fmt.Sprintf("the name after the domain must be at most 32 characters, got %d", len(id))))
	}
	return errs
}

// DefaultDRA is the compiled draGPUs of a policy that sets none.
func DefaultDRA() CompiledDRA { return compileDRA(nil) }

func compileDRA(d *DRAGPUs) CompiledDRA {
	if d == nil {
		d = &DRAGPUs{}
	} else {
		c := *d
		c.DeviceClasses = append([]string(nil), d.DeviceClasses...)
		d = &c
	}
	setDRADefaults(&PlacementPolicy{DRAGPUs: d})
	return CompiledDRA{
		Driver:         d.Driver,
		DeviceClasses:  sets.New(d.DeviceClasses...),
		ModelAttribute: resourceapi.QualifiedName(d.ModelAttribute),
		ShareCapacity:  resourceapi.QualifiedName(d.ShareCapacity),
	}
}
