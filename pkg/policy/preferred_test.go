package policy

import (
	"fmt"
	"strings"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestPreferredWeight(t *testing.T) {
	c, err := Load([]byte(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: a
  match: {namespaces: [a]}
  preferred:
  - {weight: 10, nodeSelector: {matchLabels: {zone: z1}}}
  - {weight: 5, nodeSelector: {matchExpressions: [{key: fast, operator: Exists}]}}
default:
  preferred:
  - {weight: 7, nodeSelector: {matchLabels: {zone: z1}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Preferences) != 2 {
		t.Fatalf("%d distinct preferred selectors compiled, want 2 (zone=z1 shared by two rules)", len(c.Preferences))
	}
	if a, d := c.Rules[0].Preferred[0].Index, c.Default.Preferred[0].Index; a != d {
		t.Errorf("the same selector got indexes %d and %d", a, d)
	}
	tests := []struct {
		labels      map[string]string
		rule, deflt int64
	}{
		{map[string]string{"zone": "z1", "fast": ""}, 15, 7},
		{map[string]string{"zone": "z1"}, 10, 7},
		{map[string]string{"zone": "z2", "fast": "yes"}, 5, 0},
		{nil, 0, 0},
	}
	for _, tc := range tests {
		n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: tc.labels}}
		nc := c.Classify(n)
		if got := c.Rules[0].PreferredWeight(&nc, n.Labels); got != tc.rule {
			t.Errorf("labels %v: rule a weight %d, want %d", tc.labels, got, tc.rule)
		}
		if got := c.Default.PreferredWeight(&nc, n.Labels); got != tc.deflt {
			t.Errorf("labels %v: default weight %d, want %d", tc.labels, got, tc.deflt)
		}
	}
}

// Preferences past MaxPreferences get no bit and are matched on the labels.
func TestPreferredPastLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules:\n")
	for i := range MaxPreferences + 1 {
		fmt.Fprintf(&b, "- name: r%d\n  match: {namespaces: [n%d]}\n  preferred: [{weight: 1, nodeSelector: {matchLabels: {k%d: v}}}]\n", i, i, i)
	}
	c, err := Load([]byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	last := c.Rules[MaxPreferences]
	if len(c.Preferences) != MaxPreferences || last.Preferred[0].Index != -1 {
		t.Fatalf("%d selectors numbered, last index %d; want %d and -1", len(c.Preferences), last.Preferred[0].Index, MaxPreferences)
	}
	n := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", Labels: map[string]string{fmt.Sprintf("k%d", MaxPreferences): "v", "k0": "v"}}}
	nc := c.Classify(n)
	if got := last.PreferredWeight(&nc, n.Labels); got != 1 {
		t.Errorf("preference past the limit: weight %d, want 1", got)
	}
	if got := c.Rules[0].PreferredWeight(&nc, n.Labels); got != 1 {
		t.Errorf("first preference: weight %d, want 1", got)
	}
	if got := c.Rules[1].PreferredWeight(&nc, n.Labels); got != 0 {
		t.Errorf("unmatched preference: weight %d, want 0", got)
	}
}
