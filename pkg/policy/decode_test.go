package policy

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"sigs.k8s.io/yaml"
)

const header = "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n"

// fieldErr is the part of a *field.Error the tests assert on.
type fieldErr struct {
	Type  field.ErrorType
	Field string
}

// fieldErrsOf extracts the field errors of an aggregated field.ErrorList.
func fieldErrsOf(t *testing.T, err error) []fieldErr {
	t.Helper()
	var agg utilerrors.Aggregate
	if !errors.As(err, &agg) {
		t.Fatalf("error %q (%T) is not an aggregate of field errors", err, err)
	}
	var out []fieldErr
	for _, e := range agg.Errors() {
		var fe *field.Error
		if !errors.As(e, &fe) {
			t.Fatalf("error %q (%T) is not a *field.Error", e, e)
		}
		out = append(out, fieldErr{fe.Type, fe.Field})
	}
	return out
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr string     // substring of the error; "" means success
		wantFE  []fieldErr // when set, the error must be exactly these field errors
		check   func(*testing.T, *PlacementPolicy)
	}{{
		name: "yaml",
		data: header + "gpuResources: [amd.com/gpu]\nrules:\n- name: a\n  match: {namespaces: [x]}\n  preferred: [{weight: 3, nodeSelector: {}}]\n",
		check: func(t *testing.T, p *PlacementPolicy) {
			if p.APIVersion != APIVersion || p.Kind != Kind || len(p.Rules) != 1 ||
				p.Rules[0].Name != "a" || p.Rules[0].Match.Namespaces[0] != "x" ||
				p.Rules[0].Preferred[0].Weight != 3 || p.Rules[0].Preferred[0].NodeSelector == nil ||
				!reflect.DeepEqual(p.GPUResources, []string{"amd.com/gpu"}) {
				t.Errorf("decoded %+v", p)
			}
		},
	}, {
		name: "json",
		data: `{"apiVersion":"ml-scheduler.io/v1alpha1","kind":"PlacementPolicy","reserveGPUNodes":false,"default":{"gpuPacking":"Spread"}}`,
		check: func(t *testing.T, p *PlacementPolicy) {
			if p.ReserveGPUNodes == nil || *p.ReserveGPUNodes || p.Default == nil || p.Default.GPUPacking != PackingSpread {
				t.Errorf("decoded %+v", p)
			}
		},
	}, {
		name: "yaml flow mapping that is not json",
		data: "{apiVersion: ml-scheduler.io/v1alpha1, kind: PlacementPolicy, gpuModelLabel: example.com/model}",
		check: func(t *testing.T, p *PlacementPolicy) {
			if p.GPUModelLabel != "example.com/model" {
				t.Errorf("decoded %+v", p)
			}
		},
	}, {
		name: "leading document marker and trailing empty document",
		data: "---\n" + header + "---\n",
	}, {
		name:    "unknown top-level field",
		data:    header + "rulez: []\n",
		wantErr: `unknown field "rulez"`,
	}, {
		name:    "unknown nested field",
		data:    header + "rules:\n- name: a\n  pol: [x]\n",
		wantErr: `unknown field "rules[0].pol"`,
	}, {
		name:    "unknown field in a selector",
		data:    header + "pools:\n- name: a\n  nodeSelector: {matchLabel: {a: b}}\n",
		wantErr: `unknown field "pools[0].nodeSelector.matchLabel"`,
	}, {
		name:    "unknown field in json",
		data:    `{"apiVersion":"ml-scheduler.io/v1alpha1","kind":"PlacementPolicy","default":{"gpuPackin":"Spread"}}`,
		wantErr: `unknown field "default.gpuPackin"`,
	}, {
		name:    "field names are case-sensitive",
		data:    header + "GPUResources: [amd.com/gpu]\n",
		wantErr: `unknown field "GPUResources"`,
	}, {
		name:    "several unknown fields are all named",
		data:    header + "a: 1\nrules: [{name: r, b: 2}]\n",
		wantErr: `unknown field "a"; unknown field "rules[0].b"`,
	}, {
		name:    "duplicate key in yaml",
		data:    header + "rules:\n- name: a\n  name: b\n",
		wantErr: `key "name" already set in map`,
	}, {
		name:    "duplicate key in json",
		data:    `{"apiVersion":"ml-scheduler.io/v1alpha1","kind":"PlacementPolicy","default":{"gpuPacking":"Spread","gpuPacking":"BinPack"}}`,
		wantErr: `duplicate field "default.gpuPacking"`,
	}, {
		name:   "wrong apiVersion",
		data:   "apiVersion: v1\nkind: PlacementPolicy\n",
		wantFE: []fieldErr{{field.ErrorTypeInvalid, "apiVersion"}},
	}, {
		name:   "missing apiVersion and wrong kind, unknown fields not reported",
		data:   "kind: ConfigMap\ndata: {a: b}\n",
		wantFE: []fieldErr{{field.ErrorTypeRequired, "apiVersion"}, {field.ErrorTypeInvalid, "kind"}},
	}, {
		name:   "missing kind",
		data:   "apiVersion: ml-scheduler.io/v1alpha1\n",
		wantFE: []fieldErr{{field.ErrorTypeRequired, "kind"}},
	}, {
		name:    "empty",
		data:    "",
		wantErr: ErrEmptyPolicy.Error(),
	}, {
		name:    "only comments and whitespace",
		data:    "# nothing yet\n\n   \n",
		wantErr: ErrEmptyPolicy.Error(),
	}, {
		name:    "null",
		data:    "null",
		wantErr: ErrEmptyPolicy.Error(),
	}, {
		name:    "two documents",
		data:    header + "---\n" + header,
		wantErr: "more than one YAML document",
	}, {
		name:    "a list",
		data:    "- apiVersion: ml-scheduler.io/v1alpha1\n",
		wantErr: "must be a mapping",
	}, {
		name:    "a string",
		data:    "PlacementPolicy",
		wantErr: "not a string",
	}, {
		name:    "yaml syntax error",
		data:    header + "rules: [\n",
		wantErr: "parsing policy YAML",
	}, {
		name:    "wrong type",
		data:    header + "rules: [{name: a, preferred: [{weight: high}]}]\n",
		wantErr: "decoding policy: rules.preferred.weight: got a string, want an integer (int32)",
	}, {
		name:    "wrong type: a string for a list",
		data:    header + "rules: [{name: a, match: {namespaces: research}}]\n",
		wantErr: "rules.match.namespaces: got a string, want a list",
	}, {
		name:    "wrong type: a quoted boolean",
		data:    header + "reserveGPUNodes: 'yes'\n",
		wantErr: "reserveGPUNodes: got a string, want true or false",
	}, {
		name:    "unquoted number as label value",
		data:    header + "pools: [{name: a, nodeSelector: {matchLabels: {gpu.count: 8}}}]\n",
		wantErr: "pools.nodeSelector.matchLabels: got a number, want a string (quote the value",
	}, {
		name:    "alias bomb",
		data:    aliasBomb(),
		wantErr: "excessive aliasing",
	}, {
		name:    "too large",
		data:    header + "#" + strings.Repeat("x", MaxPolicyBytes),
		wantErr: "more than the limit of 1048576 bytes",
	}, {
		name: "exactly at the size limit",
		data: header + "#" + strings.Repeat("x", MaxPolicyBytes-len(header)-1),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Decode([]byte(tt.data))
			switch {
			case tt.wantFE != nil:
				if got := fieldErrsOf(t, err); !reflect.DeepEqual(got, tt.wantFE) {
					t.Fatalf("got field errors %v, want %v (error: %v)", got, tt.wantFE, err)
				}
			case tt.wantErr != "":
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
			case err != nil:
				t.Fatalf("unexpected error: %v", err)
			}
			if err != nil {
				if p != nil {
					t.Errorf("got a policy along with error %v", err)
				}
				return
			}
			if p == nil {
				t.Fatal("no policy and no error")
			}
			if tt.check != nil {
				tt.check(t, p)
			}
		})
	}
}

// aliasBomb is a "billion laughs" document: 10^9 strings once aliases expand.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString(header + "x0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		fmt.Fprintf(&b, "x%d: &a%d [%s]\n", i, i, strings.Repeat(fmt.Sprintf("*a%d, ", i-1), 9)+fmt.Sprintf("*a%d", i-1))
	}
	return b.String()
}

func TestDecodeEmptyIsErrEmptyPolicy(t *testing.T) {
	if _, err := Decode(nil); !errors.Is(err, ErrEmptyPolicy) {
		t.Fatalf("got %v, want ErrEmptyPolicy", err)
	}
}

// TestDecodeSample checks the sample policy decodes to what it says, and that
// its JSON form decodes to the same policy.
func TestDecodeSample(t *testing.T) {
	data := readTestdata(t, "sample-policy.yaml")
	p, err := Decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(p.Pools); got != 4 {
		t.Errorf("pools: got %d, want 4", got)
	}
	if p.Pools[0].Name != "a100" || !reflect.DeepEqual(p.Pools[0].OwnerNamespaces, []string{"research"}) {
		t.Errorf("pools[0]: %+v", p.Pools[0])
	}
	var names []string
	for _, r := range p.Rules {
		names = append(names, r.Name)
	}
	if want := []string{"research-training", "inference", "batch-cpu"}; !reflect.DeepEqual(names, want) {
		t.Errorf("rules: got %v, want %v", names, want)
	}
	r0 := p.Rules[0]
	if r0.GPUPacking != PackingBinPack || r0.Preferred[0].Weight != 20 || r0.Colocate == nil ||
		r0.Colocate.TopologyKey != "topology.kubernetes.io/rack" ||
		r0.Match.PodSelector.MatchLabels["ml-scheduler.io/workload"] != "training" {
		t.Errorf("rules[0]: %+v", r0)
	}
	if p.Default == nil || p.Default.GPUPacking != PackingBinPack {
		t.Errorf("default: %+v", p.Default)
	}

	jsonData, err := yaml.YAMLToJSON(data)
	if err != nil {
		t.Fatal(err)
	}
	pj, err := Decode(jsonData)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, pj) {
		t.Errorf("YAML and JSON forms decode differently:\n%+v\n%+v", p, pj)
	}
}

// loadTestdata runs the Load pipeline this file's package owns:
// Decode, SetDefaults, Validate.
func loadTestdata(data []byte) (*PlacementPolicy, error) {
	p, err := Decode(data)
	if err != nil {
		return nil, err
	}
	SetDefaults(p)
	if errs := Validate(p); len(errs) > 0 {
		return nil, errs.ToAggregate()
	}
	return p, nil
}

// TestTestdataValid: every policy in testdata/ is valid.
func TestTestdataValid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			if _, err := loadTestdata(readTestdata(t, filepath.Base(f))); err != nil {
				t.Errorf("%s: %v", f, err)
			}
		})
	}
}

// TestTestdataInvalid: every policy in testdata/invalid/ fails with the
// error its first line announces ("# want: <substring>").
func TestTestdataInvalid(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data := readTestdata(t, filepath.Join("invalid", filepath.Base(f)))
			first, _, _ := strings.Cut(string(data), "\n")
			want, ok := strings.CutPrefix(first, "# want: ")
			if !ok {
				t.Fatalf("%s: first line must be \"# want: <error substring>\"", f)
			}
			_, err := loadTestdata(data)
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("got error %v, want one containing %q", err, want)
			}
		})
	}
}
