package policycheck

import "testing"

func TestStatic(t *testing.T) {
	tests := []struct {
		name  string
		rules string
		want  []want
	}{
		{name: "catch-all first shadows everything after it", rules: `
- {name: all, match: {}}
- {name: team, match: {namespaces: [a]}}
- {name: labelled, match: {podSelector: {matchLabels: {w: t}}}}
`, want: []want{
			w("rules[1].match", `rule "team" is shadowed`, `rules[0] "all"`),
			w("rules[2].match", `rule "labelled" is shadowed`, `rules[0] "all"`),
		}},
		{name: "empty podSelector matches every pod too", rules: `
- {name: all, match: {podSelector: {}}}
- {name: team, match: {namespaces: [a], podSelector: {matchLabels: {w: t}}}}
`, want: []want{w("rules[1].match", `rules[0] "all"`)}},
		{name: "superset namespaces and a looser selector", rules: `
- name: broad
  match:
    namespaces: [a, b, c]
    podSelector: {matchExpressions: [{key: w, operator: In, values: [t, i]}]}
- name: narrow
  match:
    namespaces: [b]
    podSelector: {matchLabels: {w: t, extra: "1"}}
`, want: []want{w("rules[1].match", `rule "narrow" is shadowed`, `rules[0] "broad"`)}},
		{name: "namespaces covered by two earlier rules together", rules: `
- {name: a, match: {namespaces: [a]}}
- {name: b, match: {namespaces: [b]}}
- {name: ab, match: {namespaces: [a, b]}}
`, want: []want{w("rules[2].match", `rules[0] "a" and rules[1] "b"`)}},
		{name: "a rule whose selector matches no pod", rules: `
- name: never
  match:
    podSelector:
      matchLabels: {w: t}
      matchExpressions: [{key: w, operator: NotIn, values: [t]}]
- {name: after, match: {podSelector: {matchLabels: {w: t}}}}
`, want: []want{w("rules[0].match.podSelector", "matches no pod", `rule "never" is never used`)}},

		// No false positives.
		{name: "a namespace the earlier rule lacks", rules: `
- {name: a, match: {namespaces: [a]}}
- {name: ab, match: {namespaces: [a, b]}}
`},
		{name: "any namespace after one namespace", rules: `
- {name: a, match: {namespaces: [a]}}
- {name: any, match: {}}
`},
		{name: "earlier selector is narrower", rules: `
- {name: t, match: {podSelector: {matchLabels: {w: t, x: "1"}}}}
- {name: w, match: {podSelector: {matchLabels: {w: t}}}}
`},
		{name: "NotIn after In: pods without the label reach it", rules: `
- {name: in, match: {podSelector: {matchExpressions: [{key: w, operator: In, values: [t]}]}}}
- {name: notin, match: {podSelector: {matchExpressions: [{key: w, operator: NotIn, values: [i]}]}}}
`},
		{name: "selectors covering it only together are not claimed", rules: `
- {name: t, match: {podSelector: {matchLabels: {w: t}}}}
- {name: i, match: {podSelector: {matchLabels: {w: i}}}}
- {name: ti, match: {podSelector: {matchExpressions: [{key: w, operator: In, values: [t, i]}]}}}
`},
		{name: "a rule matching no pod shadows nothing", rules: `
- name: never
  match: {podSelector: {matchExpressions: [{key: w, operator: Exists}, {key: w, operator: DoesNotExist}]}}
- {name: after, match: {}}
`, want: []want{w("rules[0].match.podSelector", "must both exist and not exist")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectFindings(t, Static(compile(t, "rules:"+tt.rules)), tt.want)
		})
	}
}
