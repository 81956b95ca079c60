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
