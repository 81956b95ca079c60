package policy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

const (
	// MaxExpectedShapes bounds the stated shapes: Score loops over them.
	MaxExpectedShapes = 128
	// MaxShapeWeight bounds a stated shape's weight.
	MaxShapeWeight = 1000000
	// MaxShapeGPUs bounds the GPUs of a stated shape.
	MaxShapeGPUs = 1024
)

func validateCPUSpill(p *PlacementPolicy, path *field.Path) field.ErrorList {
	if p.CPUSpill == nil {
		return nil
	}
	var errs field.ErrorList
	if p.ReserveGPUNodes != nil && !*p.ReserveGPUNodes {
		errs = append(errs, field.Invalid(path, "set", "only applies with reserveGPUNodes: true (with it off, CPU pods may use any node already)"))
	}
	kp := path.Child("keepPerFreeGPU")
	errs = append(errs, validateQuantity(p.CPUSpill.KeepPerFreeGPU.CPU, kp.Child("cpu"), false)...)
	errs = append(errs, validateQuantity(p.CPUSpill.KeepPerFreeGPU.Memory, kp.Child("memory"), false)...)
	return errs
}

func validateExpectedShapes(shapes []ExpectedShape, path *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(shapes) > MaxExpectedShapes {
		errs = append(errs, field.TooMany(path, len(shapes), MaxExpectedShapes))
	}
	for i := range shapes {
		s, sp := &shapes[i], path.Index(i)
		if s.GPUs < 0 || s.GPUs > MaxShapeGPUs {
			errs = append(errs, field.Invalid(sp.Child("gpus"), s.GPUs, fmt.Sprintf("must be between 0 and %d, inclusive", MaxShapeGPUs)))
		}
		errs = append(errs, validateShare(s, sp.Child("gpuShare"))...)
		errs = append(errs, validateQuantity(s.CPU, sp.Child("cpu"), true)...)
		errs = append(errs, validateQuantity(s.Memory, sp.Child("memory"), true)...)
		errs = append(errs, validateList(s.GPUModels, sp.Child("gpuModels"), func(p *field.Path, m string) field.ErrorList {
			return invalidEach(p, m, content.IsLabelValue(m))
		})...)
		if s.Weight < 1 || s.Weight > MaxShapeWeight {
			errs = append(errs, field.Invalid(sp.Child("weight"), s.Weight, fmt.Sprintf("must be between 1 and %d, inclusive", MaxShapeWeight)))
		}
	}
	return errs
}

// validateShare checks a shape's gpuShare: a fraction of one GPU, and no
// whole GPUs beside it.
func validateShare(s *ExpectedShape, path *field.Path) field.ErrorList {
	if s.GPUShare == "" {
		return nil
	}
	v, err := resource.ParseQuantity(s.GPUShare)
	if err != nil {
		return field.ErrorList{field.Invalid(path, s.GPUShare, err.Error())}
	}
	if m := v.MilliValue(); m < 1 || m >= fragmentation.MilliPerGPU {
		return field.ErrorList{field.Invalid(path, s.GPUShare, "must be a fraction of one GPU, from 1m to 999m")}
	}
	if s.GPUs != 0 {
		return field.ErrorList{field.Invalid(path, s.GPUShare, "a shape shares one GPU or asks whole gpus, not both: set gpus to 0")}
	}
	return nil
}

// validateQuantity checks a Kubernetes quantity that must not be negative.
func validateQuantity(q string, path *field.Path, required bool) field.ErrorList {
	if q == "" {
		if required {
			return field.ErrorList{field.Required(path, "a quantity such as 8 or 500m (CPU), 64Gi (memory)")}
		}
		return nil
	}
	v, err := resource.ParseQuantity(q)
	if err != nil {
		return field.ErrorList{field.Invalid(path, q, err.Error())}
	}
	if v.Sign() < 0 {
		return field.ErrorList{field.Invalid(path, q, "must not be negative")}
	}
	return nil
}
