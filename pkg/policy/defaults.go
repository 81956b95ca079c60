package policy

// SetDefaults fills in the fields a policy may leave unset:
//
//   - gpuResources: [nvidia.com/gpu] (DefaultGPUResource)
//   - gpuModelLabel: nvidia.com/gpu.product (DefaultGPUModelLabel)
//   - reserveGPUNodes: true
//   - draGPUs, when set: what it leaves out, driver and deviceClasses
//     gpu.ml-scheduler.io, modelAttribute productName, shareCapacity share
//     (pkg/gpudra); unset, Compile reads it as all of those
//
// Nothing else is defaulted: an unset packing uses the default's (Compile),
// and a nil default placement puts no constraint on pods matching no rule.
// SetDefaults is idempotent; it does nothing on a nil policy.
func SetDefaults(p *PlacementPolicy) {
	if p == nil {
		return
	}
	if len(p.GPUResources) == 0 {
		p.GPUResources = []string{DefaultGPUResource}
	}
	if p.GPUModelLabel == "" {
		p.GPUModelLabel = DefaultGPUModelLabel
	}
	if p.ReserveGPUNodes == nil {
		reserve := true
		p.ReserveGPUNodes = &reserve
	}
	setDRADefaults(p)
}
