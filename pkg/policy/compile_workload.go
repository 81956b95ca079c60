package policy

import (
	"fmt"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

// compileWorkload compiles cpuSpill and expectedShapes.
func (c *Compiled) compileWorkload(p *PlacementPolicy) error {
	if s := p.CPUSpill; s != nil && c.ReserveGPUNodes {
		c.CPUSpill = true
		var err error
		if c.SpillKeepMilliCPU, err = milliOf(s.KeepPerFreeGPU.CPU); err != nil {
			return fmt.Errorf("cpuSpill.keepPerFreeGPU.cpu: %w", err)
		}
		if c.SpillKeepMemory, err = valueOf(s.KeepPerFreeGPU.Memory); err != nil {
			return fmt.Errorf("cpuSpill.keepPerFreeGPU.memory: %w", err)
		}
	}
	if len(p.ExpectedShapes) == 0 {
		return nil
	}
	shapes := make([]fragmentation.WeightedShape, 0, len(p.ExpectedShapes))
	for i, es := range p.ExpectedShapes {
		cpu, err := milliOf(es.CPU)
		if err != nil {
			return fmt.Errorf("expectedShapes[%d].cpu: %w", i, err)
		}
		mem, err := valueOf(es.Memory)
		if err != nil {
			return fmt.Errorf("expectedShapes[%d].memory: %w", i, err)
		}
		share, err := milliOf(es.GPUShare)
		if err != nil {
			return fmt.Errorf("expectedShapes[%d].gpuShare: %w", i, err)
		}
		shapes = append(shapes, fragmentation.WeightedShape{
			Shape:  fragmentation.Shape{GPUs: es.GPUs, MilliGPU: share, MilliCPU: cpu, Memory: mem, Models: fragmentation.ModelsOf(es.GPUModels)},
			Weight: float64(es.Weight),
		})
	}
	c.Expected = fragmentation.NewWorkload(shapes)
	return nil
}

// milliOf and valueOf read a validated quantity ("" is 0) in milli-units or units.
func milliOf(q string) (int64, error) { return quantityOf(q, (*resource.Quantity).MilliValue) }

func valueOf(q string) (int64, error) { return quantityOf(q, (*resource.Quantity).Value) }

func quantityOf(q string, unit func(*resource.Quantity) int64) (int64, error) {
	if q == "" {
		return 0, nil
	}
	v, err := resource.ParseQuantity(q)
	if err != nil {
		return 0, err
	}
	return unit(&v), nil
}
