package policy

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// samplePolicy is testdata/sample-policy.yaml, decoded and defaulted: pools
// a100, l4, t4, cpu; rules research-training, inference, batch-cpu.
func samplePolicy(t *testing.T) *PlacementPolicy {
	t.Helper()
	p, err := Decode(readTestdata(t, "sample-policy.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	SetDefaults(p)
	return p
}

func expr(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func TestValidate(t *testing.T) {
	const (
		required     = field.ErrorTypeRequired
		invalid      = field.ErrorTypeInvalid
		duplicate    = field.ErrorTypeDuplicate
		notFound     = field.ErrorTypeNotFound
		notSupported = field.ErrorTypeNotSupported
		forbidden    = field.ErrorTypeForbidden
		tooMany      = field.ErrorTypeTooMany
	)
	tests := []struct {
		name   string
		mutate func(p *PlacementPolicy)
		want   []fieldErr
	}{
		{"sample is valid", func(*PlacementPolicy) {}, nil},

		// gpuResources
		{"no gpu resources", func(p *PlacementPolicy) { p.GPUResources = nil },
			[]fieldErr{{required, "gpuResources"}}},
		{"gpu resource not a qualified name", func(p *PlacementPolicy) { p.GPUResources[1] = "amd.com/gpu/x" },
			[]fieldErr{{invalid, "gpuResources[1]"}}},
		{"gpu resource is cpu", func(p *PlacementPolicy) { p.GPUResources[1] = "cpu" },
			[]fieldErr{{invalid, "gpuResources[1]"}}},
		{"gpu resource is memory", func(p *PlacementPolicy) { p.GPUResources[0] = "memory" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource is ephemeral-storage", func(p *PlacementPolicy) { p.GPUResources[0] = "ephemeral-storage" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource is pods", func(p *PlacementPolicy) { p.GPUResources[0] = "pods" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource without domain", func(p *PlacementPolicy) { p.GPUResources[0] = "gpu" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource is a quota name", func(p *PlacementPolicy) { p.GPUResources[0] = "requests.nvidia.com/gpu" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource in kubernetes.io", func(p *PlacementPolicy) { p.GPUResources[0] = "example.kubernetes.io/gpu" },
			[]fieldErr{{invalid, "gpuResources[0]"}}},
		{"gpu resource empty", func(p *PlacementPolicy) { p.GPUResources[0] = "" },
			[]fieldErr{{required, "gpuResources[0]"}}},
		{"gpu resource duplicate", func(p *PlacementPolicy) { p.GPUResources[1] = p.GPUResources[0] },
			[]fieldErr{{duplicate, "gpuResources[1]"}}},

		// gpuModelLabel
		{"gpu model label invalid", func(p *PlacementPolicy) { p.GPUModelLabel = "gpu model" },
			[]fieldErr{{invalid, "gpuModelLabel"}}},
		{"gpu model label empty", func(p *PlacementPolicy) { p.GPUModelLabel = "" },
			[]fieldErr{{required, "gpuModelLabel"}}},

		// pools
		{"pool without name", func(p *PlacementPolicy) { p.Pools[3].Name = ""; p.Rules[2].Pools = nil },
			[]fieldErr{{required, "pools[3].name"}}},
		{"pool name not a DNS label", func(p *PlacementPolicy) { p.Pools[3].Name = "CPU_nodes"; p.Rules[2].Pools = []string{"CPU_nodes"} },
			[]fieldErr{{invalid, "pools[3].name"}}},
		{"pool name duplicate", func(p *PlacementPolicy) { p.Pools[2].Name = "l4" },
			[]fieldErr{{duplicate, "pools[2].name"}, {notFound, "rules[1].pools[1]"}}},
		{"pool without node selector", func(p *PlacementPolicy) { p.Pools[0].NodeSelector = nil },
			[]fieldErr{{required, "pools[0].nodeSelector"}}},
		{"pool selecting every node is allowed", func(p *PlacementPolicy) { p.Pools[0].NodeSelector = &metav1.LabelSelector{} },
			nil},
		{"pool selector with bad label key", func(p *PlacementPolicy) {
			p.Pools[1].NodeSelector.MatchLabels = map[string]string{"bad key": "x"}
		}, []fieldErr{{invalid, "pools[1].nodeSelector.matchLabels"}}},
		{"pool selector with bad label value", func(p *PlacementPolicy) {
			p.Pools[1].NodeSelector.MatchLabels = map[string]string{"k": "NVIDIA L4"}
		}, []fieldErr{{invalid, "pools[1].nodeSelector.matchLabels"}}},
		{"pool selector with unknown operator", func(p *PlacementPolicy) { p.Pools[2].NodeSelector.MatchExpressions[0].Operator = "Inn" },
			[]fieldErr{{notSupported, "pools[2].nodeSelector.matchExpressions[0].operator"}}},
		{"pool selector without operator", func(p *PlacementPolicy) { p.Pools[2].NodeSelector.MatchExpressions[1].Operator = "" },
			[]fieldErr{{required, "pools[2].nodeSelector.matchExpressions[1].operator"}}},
		{"pool selector In without values", func(p *PlacementPolicy) { p.Pools[2].NodeSelector.MatchExpressions[0].Values = nil },
			[]fieldErr{{required, "pools[2].nodeSelector.matchExpressions[0].values"}}},
		{"pool selector Exists with values", func(p *PlacementPolicy) {
			p.Pools[2].NodeSelector.MatchExpressions[1].Values = []string{"x"}
		}, []fieldErr{{forbidden, "pools[2].nodeSelector.matchExpressions[1].values"}}},
		{"pool selector bad value", func(p *PlacementPolicy) { p.Pools[2].NodeSelector.MatchExpressions[0].Values[0] = "Tesla T4" },
			[]fieldErr{{invalid, "pools[2].nodeSelector.matchExpressions[0].values[0]"}}},
		{"pool selector bad key", func(p *PlacementPolicy) { p.Pools[2].NodeSelector.MatchExpressions[0].Key = "nvidia.com/" },
			// as the API server says it: "name part must be non-empty", "name part must consist of..."
			[]fieldErr{{invalid, "pools[2].nodeSelector.matchExpressions[0].key"}, {invalid, "pools[2].nodeSelector.matchExpressions[0].key"}}},
		{"owner namespace invalid", func(p *PlacementPolicy) { p.Pools[0].OwnerNamespaces = []string{"Research"} },
			[]fieldErr{{invalid, "pools[0].ownerNamespaces[0]"}}},
		{"owner namespace empty", func(p *PlacementPolicy) { p.Pools[0].OwnerNamespaces = []string{"research", ""} },
			[]fieldErr{{required, "pools[0].ownerNamespaces[1]"}}},
		{"owner namespace duplicate", func(p *PlacementPolicy) { p.Pools[0].OwnerNamespaces = []string{"research", "research"} },
			[]fieldErr{{duplicate, "pools[0].ownerNamespaces[1]"}}},
		{"too many pools", func(p *PlacementPolicy) {
			for i := len(p.Pools); i <= MaxPools; i++ {
				p.Pools = append(p.Pools, Pool{Name: fmt.Sprintf("p%d", i), NodeSelector: &metav1.LabelSelector{}})
			}
		}, []fieldErr{{tooMany, "pools"}}},

		// rules
		{"rule without name", func(p *PlacementPolicy) { p.Rules[1].Name = "" },
			[]fieldErr{{required, "rules[1].name"}}},
		{"rule name not a DNS label", func(p *PlacementPolicy) { p.Rules[1].Name = "Inference" },
			[]fieldErr{{invalid, "rules[1].name"}}},
		{"rule named default", func(p *PlacementPolicy) { p.Rules[1].Name = DefaultRuleName },
			[]fieldErr{{invalid, "rules[1].name"}}},
		{"rule name duplicate", func(p *PlacementPolicy) { p.Rules[2].Name = "inference" },
			[]fieldErr{{duplicate, "rules[2].name"}}},
		{"rule namespace invalid", func(p *PlacementPolicy) { p.Rules[2].Match.Namespaces[1] = "etl_jobs" },
			[]fieldErr{{invalid, "rules[2].match.namespaces[1]"}}},
		{"rule namespace duplicate", func(p *PlacementPolicy) { p.Rules[2].Match.Namespaces[1] = "batch" },
			[]fieldErr{{duplicate, "rules[2].match.namespaces[1]"}}},
		{"rule namespace empty", func(p *PlacementPolicy) { p.Rules[2].Match.Namespaces[0] = "" },
			[]fieldErr{{required, "rules[2].match.namespaces[0]"}}},
		{"rule pod selector with unknown operator", func(p *PlacementPolicy) {
			p.Rules[2].Match.PodSelector.MatchExpressions[0].Operator = "Inn"
		}, []fieldErr{{notSupported, "rules[2].match.podSelector.matchExpressions[0].operator"}}},
		{"rule pod selector with bad label", func(p *PlacementPolicy) {
			p.Rules[0].Match.PodSelector.MatchLabels["-workload"] = "x"
		}, []fieldErr{{invalid, "rules[0].match.podSelector.matchLabels"}}},
		{"rule without match matches every pod", func(p *PlacementPolicy) { p.Rules[1].Match = Match{} }, nil},

		// placement, in a rule
		{"unknown pool", func(p *PlacementPolicy) { p.Rules[1].Pools[0] = "a10" },
			[]fieldErr{{notFound, "rules[1].pools[0]"}}},
		{"pool reference empty", func(p *PlacementPolicy) { p.Rules[1].Pools[0] = "" },
			[]fieldErr{{required, "rules[1].pools[0]"}}},
		{"pool reference duplicate", func(p *PlacementPolicy) { p.Rules[1].Pools[1] = "l4" },
			[]fieldErr{{duplicate, "rules[1].pools[1]"}}},
		{"gpu model empty", func(p *PlacementPolicy) { p.Rules[1].GPUModels[1] = "" },
			[]fieldErr{{required, "rules[1].gpuModels[1]"}}},
		{"gpu model not a label value", func(p *PlacementPolicy) { p.Rules[1].GPUModels[1] = "Tesla T4" },
			[]fieldErr{{invalid, "rules[1].gpuModels[1]"}}},
		{"gpu model duplicate", func(p *PlacementPolicy) { p.Rules[1].GPUModels[1] = "NVIDIA-L4" },
			[]fieldErr{{duplicate, "rules[1].gpuModels[1]"}}},
		{"gpu packing unknown", func(p *PlacementPolicy) { p.Rules[0].GPUPacking = "binpack" },
			[]fieldErr{{notSupported, "rules[0].gpuPacking"}}},
		{"preferred weight zero", func(p *PlacementPolicy) { p.Rules[0].Preferred[1].Weight = 0 },
			[]fieldErr{{invalid, "rules[0].preferred[1].weight"}}},
		{"preferred weight above 100", func(p *PlacementPolicy) { p.Rules[0].Preferred[0].Weight = 101 },
			[]fieldErr{{invalid, "rules[0].preferred[0].weight"}}},
		{"preferred weight 1 and 100 are fine", func(p *PlacementPolicy) {
			p.Rules[0].Preferred[0].Weight, p.Rules[0].Preferred[1].Weight = 1, 100
		}, nil},
		{"preferred without selector", func(p *PlacementPolicy) { p.Rules[1].Preferred[0].NodeSelector = nil },
			[]fieldErr{{required, "rules[1].preferred[0].nodeSelector"}}},
		{"preferred with bad selector", func(p *PlacementPolicy) {
			p.Rules[0].Preferred[1].NodeSelector.MatchExpressions = []metav1.LabelSelectorRequirement{expr("zone", "in", "a")}
		}, []fieldErr{{notSupported, "rules[0].preferred[1].nodeSelector.matchExpressions[0].operator"}}},
		{"gang required alone", func(p *PlacementPolicy) { p.Rules[0].Gang = &GangPolicy{Required: true} }, nil},
		{"gang in one rack", func(p *PlacementPolicy) {
			p.Rules[0].Gang = &GangPolicy{TopologyKey: "topology.kubernetes.io/rack", Topology: GangTopologyPreferred}
		}, nil},
		{"gang topology without key", func(p *PlacementPolicy) { p.Rules[0].Gang = &GangPolicy{Topology: GangTopologyRequired} },
			[]fieldErr{{required, "rules[0].gang.topologyKey"}}},
		{"gang topology unknown", func(p *PlacementPolicy) { p.Rules[1].Gang = &GangPolicy{TopologyKey: "rack", Topology: "Strict"} },
			[]fieldErr{{notSupported, "rules[1].gang.topology"}}},
		{"gang topology key invalid", func(p *PlacementPolicy) { p.Default.Gang = &GangPolicy{TopologyKey: "-rack"} },
			[]fieldErr{{invalid, "default.gang.topologyKey"}}},
		{"colocate without job label", func(p *PlacementPolicy) { p.Rules[0].Colocate.JobLabel = "" },
			[]fieldErr{{required, "rules[0].colocate.jobLabel"}}},
		{"colocate job label invalid", func(p *PlacementPolicy) { p.Rules[0].Colocate.JobLabel = "job name" },
			[]fieldErr{{invalid, "rules[0].colocate.jobLabel"}}},
		{"colocate without topology key", func(p *PlacementPolicy) { p.Rules[2].Colocate.TopologyKey = "" },
			[]fieldErr{{required, "rules[2].colocate.topologyKey"}}},
		{"colocate topology key invalid", func(p *PlacementPolicy) { p.Rules[2].Colocate.TopologyKey = "-rack" },
			[]fieldErr{{invalid, "rules[2].colocate.topologyKey"}}},
		{"too many rules", func(p *PlacementPolicy) {
			for i := len(p.Rules); i <= MaxRules; i++ {
				p.Rules = append(p.Rules, Rule{Name: fmt.Sprintf("r%d", i)})
			}
		}, []fieldErr{{tooMany, "rules"}}},

		// placement, as the default
		{"default with unknown pool", func(p *PlacementPolicy) { p.Default.Pools = []string{"cpu", "gpu"} },
			[]fieldErr{{notFound, "default.pools[1]"}}},
		{"default with unknown packing", func(p *PlacementPolicy) { p.Default.GPUPacking = "Pack" },
			[]fieldErr{{notSupported, "default.gpuPacking"}}},
		{"default with bad preference and colocation", func(p *PlacementPolicy) {
			p.Default.Preferred = []PreferredNodes{{Weight: -1, NodeSelector: &metav1.LabelSelector{}}}
			p.Default.Colocate = &Colocation{JobLabel: "job"}
		}, []fieldErr{{invalid, "default.preferred[0].weight"}, {required, "default.colocate.topologyKey"}}},
		{"no default", func(p *PlacementPolicy) { p.Default = nil }, nil},

		// packing, cpuSpill, expectedShapes
		{"packing unknown", func(p *PlacementPolicy) { p.Rules[0].GPUPacking = ""; p.Rules[0].Packing = "MinFrag" },
			[]fieldErr{{notSupported, "rules[0].packing"}}},
		{"packing and its former name disagree", func(p *PlacementPolicy) {
			p.Rules[0].Packing = PackingMinFragmentation
			p.Rules[0].GPUPacking = PackingBinPack
		}, []fieldErr{{invalid, "rules[0].gpuPacking"}}},
		{"packing and its former name agree", func(p *PlacementPolicy) {
			p.Rules[0].Packing = PackingBinPack
			p.Rules[0].GPUPacking = PackingBinPack
		}, nil},
		{"MinFragmentation", func(p *PlacementPolicy) { p.Default.GPUPacking = ""; p.Default.Packing = PackingMinFragmentation }, nil},
		{"cpuSpill without reservation", func(p *PlacementPolicy) {
			off := false
			p.ReserveGPUNodes = &off
			p.CPUSpill = &CPUSpill{}
		}, []fieldErr{{invalid, "cpuSpill"}}},
		{"cpuSpill bad keep", func(p *PlacementPolicy) {
			p.CPUSpill = &CPUSpill{KeepPerFreeGPU: ResourceAmounts{CPU: "eight", Memory: "-1Gi"}}
		}, []fieldErr{{invalid, "cpuSpill.keepPerFreeGPU.cpu"}, {invalid, "cpuSpill.keepPerFreeGPU.memory"}}},
		{"cpuSpill learned keep", func(p *PlacementPolicy) { p.CPUSpill = &CPUSpill{} }, nil},
		{"expected shapes", func(p *PlacementPolicy) {
			p.ExpectedShapes = []ExpectedShape{
				{GPUs: 8, CPU: "120", Memory: "625Gi", GPUModels: []string{"G3"}, Weight: 1},
				{GPUs: -1, CPU: "", Memory: "lots", GPUModels: []string{"G3", "G3"}, Weight: 0},
			}
		}, []fieldErr{
			{invalid, "expectedShapes[1].gpus"},
			{required, "expectedShapes[1].cpu"},
			{invalid, "expectedShapes[1].memory"},
			{duplicate, "expectedShapes[1].gpuModels[1]"},
			{invalid, "expectedShapes[1].weight"},
		}},
		{"expected shapes sharing a GPU", func(p *PlacementPolicy) {
			p.ExpectedShapes = []ExpectedShape{
				{GPUShare: "460m", CPU: "4", Memory: "16Gi", Weight: 3},
				{GPUShare: "1", CPU: "4", Memory: "16Gi", Weight: 1},
				{GPUs: 1, GPUShare: "500m", CPU: "4", Memory: "16Gi", Weight: 1},
				{GPUShare: "half", CPU: "4", Memory: "16Gi", Weight: 1},
			}
		}, []fieldErr{
			{invalid, "expectedShapes[1].gpuShare"},
			{invalid, "expectedShapes[2].gpuShare"},
			{invalid, "expectedShapes[3].gpuShare"},
		}},

		{"errors accumulate in document order", func(p *PlacementPolicy) {
			p.GPUResources = []string{"cpu"}
			p.Pools[1].Name = ""
			p.Rules[0].Name = "default"
			p.Rules[1].Pools = []string{"l4"} // l4 is now undefined
			p.Default.GPUPacking = "Fill"
		}, []fieldErr{
			{invalid, "gpuResources[0]"},
			{required, "pools[1].name"},
			{invalid, "rules[0].name"},
			{notFound, "rules[1].pools[0]"},
			{notSupported, "default.gpuPacking"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := samplePolicy(t)
			tt.mutate(p)
			errs := Validate(p)
			var got []fieldErr
			for _, e := range errs {
				got = append(got, fieldErr{e.Type, e.Field})
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v\nwant %v\nerrors: %v", got, tt.want, errs.ToAggregate())
			}
		})
	}
}

// TestValidateMessages pins the wording an admin reads for common mistakes.
func TestValidateMessages(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(p *PlacementPolicy)
		want   string
	}{
		{"unknown pool", func(p *PlacementPolicy) { p.Rules[1].Pools[0] = "a10" },
			`rules[1].pools[0]: Not found: "a10": defined pools: "a100", "l4", "t4", "cpu"`},
		{"unknown pool with no pools", func(p *PlacementPolicy) { p.Pools = nil; p.Rules = p.Rules[:0]; p.Default.Pools = []string{"a100"} },
			`default.pools[0]: Not found: "a100": no pools are defined`},
		{"unknown operator", func(p *PlacementPolicy) { p.Rules[2].Match.PodSelector.MatchExpressions[0].Operator = "Inn" },
			`rules[2].match.podSelector.matchExpressions[0].operator: Unsupported value: "Inn": supported values: "In", "NotIn", "Exists", "DoesNotExist"`},
		{"gpu packing", func(p *PlacementPolicy) { p.Rules[0].GPUPacking = "binpack" },
			`rules[0].gpuPacking: Unsupported value: "binpack": supported values: "BinPack", "Spread", "MinFragmentation"`},
		{"cpu as gpu", func(p *PlacementPolicy) { p.GPUResources = []string{"cpu"} },
			`gpuResources[0]: Invalid value: "cpu": is a standard resource, not a GPU; name an extended resource such as nvidia.com/gpu`},
		{"weight", func(p *PlacementPolicy) { p.Rules[0].Preferred[0].Weight = 0 },
			`rules[0].preferred[0].weight: Invalid value: 0: must be between 1 and 100, inclusive`},
		{"reserved name", func(p *PlacementPolicy) { p.Rules[0].Name = "default" },
			"rules[0].name: Invalid value: \"default\": is reserved for the default placement; configure it under `default`"},
		{"too many rules", func(p *PlacementPolicy) {
			for i := len(p.Rules); i <= MaxRules; i++ {
				p.Rules = append(p.Rules, Rule{Name: fmt.Sprintf("r%d", i)})
			}
		}, `rules: Too many: 1001: must have at most 1000 items`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := samplePolicy(t)
			tt.mutate(p)
			errs := Validate(p)
			if len(errs) != 1 || errs[0].Error() != tt.want {
				t.Fatalf("got %v\nwant [%s]", errs.ToAggregate(), tt.want)
			}
		})
	}
}

func TestValidateManyPoolsListedBriefly(t *testing.T) {
	p := samplePolicy(t)
	for i := 0; i < 20; i++ {
		p.Pools = append(p.Pools, Pool{Name: fmt.Sprintf("extra-%d", i), NodeSelector: &metav1.LabelSelector{}})
	}
	p.Default.Pools = []string{"nope"}
	errs := Validate(p)
	if len(errs) != 1 || !strings.HasSuffix(errs[0].Error(), `"extra-5" and 14 more`) {
		t.Fatalf("got %v", errs.ToAggregate())
	}
}

func TestValidateNil(t *testing.T) {
	if errs := Validate(nil); len(errs) != 1 || errs[0].Type != field.ErrorTypeRequired {
		t.Fatalf("got %v", errs)
	}
}

// TestValidateProgrammatic: a policy built in code, defaulted, is valid
// without apiVersion and kind (Decode checks those).
func TestValidateProgrammatic(t *testing.T) {
	p := &PlacementPolicy{
		Pools: []Pool{{Name: "gpu", NodeSelector: &metav1.LabelSelector{
			MatchExpressions: []metav1.LabelSelectorRequirement{expr("nvidia.com/gpu.present", metav1.LabelSelectorOpExists)},
		}}},
		Rules:   []Rule{{Name: "all-gpu", Placement: Placement{Pools: []string{"gpu"}, GPUPacking: PackingSpread}}},
		Default: &Placement{},
	}
	SetDefaults(p)
	if errs := Validate(p); len(errs) > 0 {
		t.Fatal(errs.ToAggregate())
	}
}
