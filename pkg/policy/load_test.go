package policy

import (
	"strings"
	"testing"
)

func TestLoadReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []string
	}{
		{
			name: "unknown field and unknown pool together",
			doc: `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: a
  pools: [a10]
  gpuPackng: Spread
`,
			want: []string{`unknown field "rules[0].gpuPackng"`, `rules[0].pools[0]: Not found: "a10"`},
		},
		{
			name: "unknown field alone",
			doc:  "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrulez: []\n",
			want: []string{`unknown field "rulez"`},
		},
		{
			name: "valid",
			doc:  "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\ndefault: {gpuPacking: BinPack}\n",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load([]byte(tc.doc))
			if len(tc.want) == 0 {
				if err != nil || c == nil {
					t.Fatalf("Load: %v", err)
				}
				if c.Default.Packing != PackingBinPack {
					t.Errorf("default packing %q", c.Default.Packing)
				}
				return
			}
			if err == nil {
				t.Fatal("Load succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestLoadPackingAndWorkload(t *testing.T) {
	c, err := Load([]byte(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
cpuSpill: {keepPerFreeGPU: {cpu: "8"}}
expectedShapes:
- {gpus: 8, cpu: "120", memory: 625Gi, gpuModels: [G3], weight: 1}
- {gpus: 1, cpu: "12", memory: 24Gi, weight: 9}
- {gpuShare: 460m, cpu: "4", memory: 16Gi, weight: 5}
rules:
- name: old-name
  match: {namespaces: [a]}
  gpuPacking: Spread
- name: inherits
  match: {namespaces: [b]}
default: {packing: MinFragmentation}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Rules[0].Packing; got != PackingSpread {
		t.Errorf("gpuPacking: Spread compiled to %q", got)
	}
	if got := c.Rules[1].Packing; got != PackingMinFragmentation {
		t.Errorf("a rule without packing got %q, want the default's MinFragmentation", got)
	}
	if !c.Fragmentation || !c.CPUSpill || c.SpillKeepMilliCPU != 8000 || c.SpillKeepMemory != 0 {
		t.Errorf("Fragmentation=%v CPUSpill=%v keep=%dm/%d, want true true 8000m/0 (memory learned)", c.Fragmentation, c.CPUSpill, c.SpillKeepMilliCPU, c.SpillKeepMemory)
	}
	if c.Expected == nil || len(c.Expected.Shapes) != 3 || c.Expected.Shapes[0].GPUs != 1 || c.Expected.Shapes[0].Weight != 9 {
		t.Fatalf("expected shapes compiled to %+v", c.Expected)
	}
	if sh := c.Expected.Shapes[1]; sh.GPUs != 0 || sh.MilliGPU != 460 || sh.Weight != 5 {
		t.Errorf("the gpuShare shape compiled to %+v, want 460 thousandths of one GPU, weight 5", sh)
	}
}

func TestLoadGang(t *testing.T) {
	c, err := Load([]byte(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: training
  match: {namespaces: [train]}
  gang: {required: true, topologyKey: topology.kubernetes.io/rack}
- name: inference
  match: {namespaces: [serve]}
  gang: {topologyKey: zone, topology: Preferred}
- name: inherits
  match: {namespaces: [other]}
default:
  gang: {topologyKey: block}
`))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rule int
		want CompiledGang
	}{
		{0, CompiledGang{Required: true, TopologyKey: "topology.kubernetes.io/rack", TopologyRequired: true}},
		{1, CompiledGang{TopologyKey: "zone"}},
		{2, CompiledGang{TopologyKey: "block", TopologyRequired: true}},
	} {
		if g := c.Rules[tc.rule].Gang; g == nil || *g != tc.want {
			t.Errorf("rule %s: gang %+v, want %+v", c.Rules[tc.rule].Name, g, tc.want)
		}
	}
}
