package main

import "fmt"

// The DRA workload (mode dra, make bench-dra): pods/s of GPU pods on
// Dynamic Resource Allocation GPUs (pkg/gpudra's device model), ml-scheduler's
// profile against the stock default profile with the same DRA objects. Built
// like upstream's scheduler_perf dra/consumablecapacity and
// dra/extendedresource suites: createNodes for the GPU and CPU nodes,
// createAny for one ResourceSlice per GPU node, the DeviceClass and the
// sharing pods' ResourceClaimTemplates, then the measured createPods burst.
// Templates: workloads/dra/.

// draGPUNodesPer10 of every 10 nodes are GPU nodes (8 DRA GPUs each), the
// rest CPU-only nodes, as in workloads/nodes/gpu-cluster.yaml.
const (
	draGPUNodesPer10 = 8
	// draShareSizes is the number of claim templates (250m..500m).
	draShareSizes = 6
)

var (
	profDRADefault = Profile{Name: "default", Label: "(a)", Config: "workloads/schedulers/default.yaml", Constraints: none,
		Doc: "default profile (DynamicResources allocates the claims and the DRA-backed nvidia.com/gpu), same nodes, slices and pods"}
	profDRAML = Profile{Name: "ml10", Label: "(b)", Config: "workloads/schedulers/ml-10.yaml", Constraints: none,
		Doc: "ml-scheduler (default plugins + MLPolicy as shipped), 10-rule policy (policy-10-rules.yaml)"}
)

func init() {
	scenarioDoc["mix"] = "per 10 pods 6 sharing pods (a ResourceClaim from a template asking share 250m..500m of one GPU) and 4 whole-GPU pods (nvidia.com/gpu: 1 through the DeviceClass), namespace shared"
	scenarioDoc["whole"] = "whole-GPU pods only (nvidia.com/gpu: 1 through the DeviceClass), namespace shared"
}

// draConfigTemplate is the scheduler_perf config of one DRA cell. The
// DynamicResourceAllocation gate is on by default, but scheduler_perf starts
// the resourceclaim controller (which makes the pods' claims from their
// templates) only when the test case sets it.
const draConfigTemplate = `- name: profile=%[1]s
  schedulerConfigPath: %[2]s
  featureGates:
    DynamicResourceAllocation: true
    DRAConsumableCapacity: true
    DRAExtendedResource: true
  metricsCollectorConfig:
    metrics:
      scheduler_scheduling_attempt_duration_seconds:
      - label: result
        values: [scheduled]
      scheduler_pod_scheduling_sli_duration_seconds:
      scheduler_scheduling_algorithm_duration_seconds:
  workloadTemplate:
  - opcode: createNodes
    countParam: $gpuNodes
    nodeTemplatePath: workloads/dra/gpu-node.yaml
  - opcode: createNodes
    countParam: $cpuNodes
    nodeTemplatePath: workloads/dra/cpu-node.yaml
  - opcode: createAny
    countParam: $gpuNodes
    templatePath: workloads/dra/resourceslice.yaml
  - opcode: createAny
    templatePath: workloads/dra/deviceclass.yaml
  - opcode: createAny
    count: %[3]d
    namespace: shared
    templatePath: workloads/dra/claimtemplate.yaml
  - opcode: createPods
    countParam: $pods
    namespace: shared
    podTemplatePath: workloads/dra/pod.yaml
    templateParams: {pods: %[4]s}
    collectMetrics: true
  workloads:
  - name: nodes=%[5]d
    labels: [mlbench]
    params: {gpuNodes: %[6]d, cpuNodes: %[7]d, pods: %[8]d}
`

func draConfig(c Cell) string {
	gpu := c.Nodes * draGPUNodesPer10 / 10
	return fmt.Sprintf(draConfigTemplate, c.Profile.Name, c.Profile.Config, draShareSizes, c.Scenario, c.Nodes, gpu, c.Nodes-gpu, c.Pods)
}

// draMatrix: 500 and 1000 nodes (400 and 800 GPU nodes, 3200 and 6400
// GPUs), 2000 pods, both scenarios, (a) and (b) interleaved, three
// repetitions.
func draMatrix() *Matrix {
	return &Matrix{DRA: true, Reps: 3, Sizes: []int{500, 1000}, Pods: map[int]int{500: 2000, 1000: 2000},
		Scenarios: []string{"whole", "mix"},
		Profiles:  []Profile{profDRADefault, profDRAML}}
}
