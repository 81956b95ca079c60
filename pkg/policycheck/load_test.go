package policycheck

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		doc  string
		want []want
	}{
		{name: "valid", doc: header + "rules:\n- name: a\n  match: {namespaces: [x]}\n"},
		{name: "field errors, each with its path", doc: header + `
pools:
- name: Big
  nodeSelector: {matchLabels: {a: b}}
rules:
- name: a
  pools: [nope]
  preferred: [{weight: 101, nodeSelector: {}}]
`, want: []want{
			e("pools[0].name", "Invalid value", "Big"),
			e("rules[0].pools[0]", "Not found", "nope"),
			e("rules[0].preferred[0].weight", "between 1 and 100"),
		}},
		{name: "unknown fields and validation errors together, as the scheduler reports them", doc: header + `
rulez: []
rules:
- name: default
  pol: [a]
`, want: []want{
			e("rules[0].pol", "unknown field"), // in the decoder's order: YAML keys sorted
			e("rulez", "unknown field"),
			e("rules[0].name", "reserved"),
		}},
		{name: "duplicate JSON field", doc: `{"apiVersion": "ml-scheduler.io/v1alpha1", "kind": "PlacementPolicy", "rules": [], "rules": []}`,
			want: []want{e("rules", "duplicate field")}},
		{name: "wrong kind and apiVersion", doc: "apiVersion: v1\nkind: ConfigMap\n", want: []want{
			e("apiVersion", `must be "ml-scheduler.io/v1alpha1"`),
			e("kind", `must be "PlacementPolicy"`),
		}},
		{name: "YAML syntax error: the whole document", doc: header + "rules: [\n", want: []want{e("", "parsing policy YAML")}},
		{name: "empty document", doc: "# nothing\n", want: []want{e("", "policy document is empty")}},
		{name: "type error", doc: header + "reserveGPUNodes: maybe\n", want: []want{e("", "reserveGPUNodes", "true or false")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, findings := Load([]byte(tt.doc))
			expectFindings(t, findings, tt.want)
			// Load agrees with the scheduler's policy.Load, whatever the document.
			_, err := policy.Load([]byte(tt.doc))
			if (err == nil) != (c != nil) {
				t.Errorf("compiled %v, but policy.Load error %v", c != nil, err)
			}
		})
	}
}

// TestLoadAgreesOnTestdata runs Load on the policy package's own valid and
// invalid documents: accepted exactly when policy.Load accepts, and every
// rejection has at least one finding.
func TestLoadAgreesOnTestdata(t *testing.T) {
	files, _ := filepath.Glob("../policy/testdata/*.*")
	invalid, _ := filepath.Glob("../policy/testdata/invalid/*")
	files = append(files, invalid...)
	if len(files) < 5 {
		t.Fatalf("found only %d test documents", len(files))
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		_, loadErr := policy.Load(data)
		c, findings := Load(data)
		if (loadErr == nil) != (c != nil) || (loadErr != nil) != (len(findings) > 0) {
			t.Errorf("%s: policy.Load error %v; Load compiled %v, findings %v", f, loadErr, c != nil, findings)
		}
	}
}
