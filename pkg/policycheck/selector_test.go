package policycheck

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

func selector(t *testing.T, text string) *metav1.LabelSelector {
	t.Helper()
	if text == "" {
		return nil
	}
	ls := &metav1.LabelSelector{}
	if err := yaml.UnmarshalStrict([]byte(text), ls); err != nil {
		t.Fatalf("selector %q: %v", text, err)
	}
	return ls
}

func TestImplies(t *testing.T) {
	tests := []struct {
		name       string
		sub, super string // does every label set matching sub match super?
		want       bool
	}{
		{"anything implies no selector", `{matchLabels: {a: x}}`, ``, true},
		{"empty selector implies empty", `{}`, `{}`, true},
		{"no selector does not imply a requirement", ``, `{matchLabels: {a: x}}`, false},
		{"same labels", `{matchLabels: {a: x}}`, `{matchLabels: {a: x}}`, true},
		{"more labels imply fewer", `{matchLabels: {a: x, b: v}}`, `{matchLabels: {a: x}}`, true},
		{"fewer labels do not imply more", `{matchLabels: {a: x}}`, `{matchLabels: {a: x, b: v}}`, false},
		{"other value", `{matchLabels: {a: x}}`, `{matchLabels: {a: v}}`, false},
		{"value in a superset", `{matchLabels: {a: x}}`, `{matchExpressions: [{key: a, operator: In, values: [x, v]}]}`, true},
		{"In subset", `{matchExpressions: [{key: a, operator: In, values: [x]}]}`, `{matchExpressions: [{key: a, operator: In, values: [x, v]}]}`, true},
		{"In superset", `{matchExpressions: [{key: a, operator: In, values: [x, v]}]}`, `{matchExpressions: [{key: a, operator: In, values: [x]}]}`, false},
		{"In minus NotIn is a subset", `{matchExpressions: [{key: a, operator: In, values: [x, z]}, {key: a, operator: NotIn, values: [z]}]}`,
			`{matchLabels: {a: x}}`, true},
		{"In implies Exists", `{matchLabels: {a: x}}`, `{matchExpressions: [{key: a, operator: Exists}]}`, true},
		{"Exists does not imply In", `{matchExpressions: [{key: a, operator: Exists}]}`, `{matchLabels: {a: x}}`, false},
		{"NotIn does not imply Exists (absent key)", `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, `{matchExpressions: [{key: a, operator: Exists}]}`, false},
		{"In disjoint implies NotIn", `{matchLabels: {a: v}}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, true},
		{"In overlapping does not imply NotIn", `{matchExpressions: [{key: a, operator: In, values: [x, v]}]}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, false},
		{"NotIn more implies NotIn fewer", `{matchExpressions: [{key: a, operator: NotIn, values: [x, v]}]}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, true},
		{"NotIn fewer does not imply NotIn more", `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x, v]}]}`, false},
		{"DoesNotExist implies NotIn", `{matchExpressions: [{key: a, operator: DoesNotExist}]}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, true},
		{"DoesNotExist implies DoesNotExist", `{matchExpressions: [{key: a, operator: DoesNotExist}]}`, `{matchExpressions: [{key: a, operator: DoesNotExist}]}`, true},
		{"DoesNotExist does not imply Exists", `{matchExpressions: [{key: a, operator: DoesNotExist}]}`, `{matchExpressions: [{key: a, operator: Exists}]}`, false},
		{"NotIn does not imply DoesNotExist", `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, `{matchExpressions: [{key: a, operator: DoesNotExist}]}`, false},
		{"Exists and NotIn imply Exists and NotIn", `{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: NotIn, values: [x, v]}]}`,
			`{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: NotIn, values: [v]}]}`, true},
		{"other key", `{matchLabels: {b: x}}`, `{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sub, err := constraintsOf(selector(t, tt.sub))
			if err != nil {
				t.Fatal(err)
			}
			super, err := constraintsOf(selector(t, tt.super))
			if err != nil {
				t.Fatal(err)
			}
			if got := sub.implies(super); got != tt.want {
				t.Errorf("implies = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestImpliesAgreesWithMatches checks implies against the selectors' own
// Matches over every label set of a small universe: implies may not claim
// what a label set contradicts, and must find what holds for all of them.
func TestImpliesAgreesWithMatches(t *testing.T) {
	sels := []string{``, `{matchLabels: {a: x}}`, `{matchLabels: {a: v}}`,
		`{matchExpressions: [{key: a, operator: In, values: [x, v]}]}`,
		`{matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`,
		`{matchExpressions: [{key: a, operator: NotIn, values: [x, v]}]}`,
		`{matchExpressions: [{key: a, operator: Exists}]}`,
		`{matchExpressions: [{key: a, operator: DoesNotExist}]}`,
		`{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: NotIn, values: [v]}]}`,
		`{matchLabels: {a: x, b: x}}`, `{matchExpressions: [{key: b, operator: Exists}]}`}
	// Values x, v, z or absent for each of keys a and b: 16 label sets,
	// enough to break any of the selectors above (z stands for any other value).
	var universe []labels.Set
	for _, va := range []string{"", "x", "v", "z"} {
		for _, vb := range []string{"", "x", "v", "z"} {
			s := labels.Set{}
			if va != "" {
				s["a"] = va
			}
			if vb != "" {
				s["b"] = vb
			}
			universe = append(universe, s)
		}
	}
	for _, a := range sels {
		for _, b := range sels {
			la, lb := selector(t, a), selector(t, b)
			sa, sb := asSelector(la), asSelector(lb)
			want := true
			for _, s := range universe {
				if sa.Matches(s) && !sb.Matches(s) {
					want = false
				}
			}
			ca, _ := constraintsOf(la)
			cb, _ := constraintsOf(lb)
			if got := ca.implies(cb); got != want {
				t.Errorf("%s implies %s = %v, want %v", a, b, got, want)
			}
		}
	}
}

// asSelector parses a selector as the policy does: nil matches everything.
func asSelector(ls *metav1.LabelSelector) labels.Selector {
	if ls == nil {
		return labels.Everything()
	}
	sel, _ := metav1.LabelSelectorAsSelector(ls)
	return sel
}

func TestContradiction(t *testing.T) {
	tests := []struct {
		sel  string
		want bool
	}{
		{``, false},
		{`{matchLabels: {a: x}}`, false},
		{`{matchLabels: {a: x}, matchExpressions: [{key: a, operator: NotIn, values: [x]}]}`, true},
		{`{matchExpressions: [{key: a, operator: In, values: [x]}, {key: a, operator: In, values: [v]}]}`, true},
		{`{matchExpressions: [{key: a, operator: In, values: [x, v]}, {key: a, operator: In, values: [v]}]}`, false},
		{`{matchExpressions: [{key: a, operator: Exists}, {key: a, operator: DoesNotExist}]}`, true},
		{`{matchLabels: {a: x}, matchExpressions: [{key: a, operator: DoesNotExist}]}`, true},
		{`{matchExpressions: [{key: a, operator: NotIn, values: [x]}, {key: a, operator: DoesNotExist}]}`, false},
	}
	for _, tt := range tests {
		sc, err := constraintsOf(selector(t, tt.sel))
		if err != nil {
			t.Fatal(err)
		}
		if got := sc.contradiction() != ""; got != tt.want {
			t.Errorf("%s: contradiction %q, want one: %v", tt.sel, sc.contradiction(), tt.want)
		}
	}
}
