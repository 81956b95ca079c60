package policycheck

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Static returns the findings that need no cluster: rules whose pod selector
// can match no pod, and rules no pod can reach because earlier rules match
// every pod they match (rules are matched in order, the first match
// decides). Both are warnings: the policy works, the rule is dead.
//
// Shadowing is reported only when it is proven, for any pod: rule j is
// shadowed when, for each namespace j matches, one earlier rule matches that
// namespace too (it names it, or names none) and its pod selector accepts
// every label set j's selector accepts. Selector implication is decided per
// label key, exactly (In, NotIn, Exists, DoesNotExist and matchLabels). Cover
// by several earlier selectors together (tier In [a] then tier In [b] before
// tier In [a, b]) is not attempted: such a rule is not reported.
func Static(c *policy.Compiled) []Finding {
	rules := c.Source().Rules
	type parsed struct {
		sc       selectorConstraints
		matchNot bool // matches no pod at all
	}
	ps := make([]parsed, len(rules))
	var findings []Finding
	for j := range rules {
		path := field.NewPath("rules").Index(j).Child("match")
		sc, err := constraintsOf(rules[j].Match.PodSelector)
		if err != nil { // validated already: Load would have refused it
			findings = append(findings, errorf(path.Child("podSelector").String(), "%v", err))
			ps[j].matchNot = true
			continue
		}
		ps[j].sc = sc
		if why := sc.contradiction(); why != "" {
			ps[j].matchNot = true
			findings = append(findings, warningf(path.Child("podSelector").String(),
				"matches no pod (%s): rule %q is never used", why, rules[j].Name))
			continue
		}
		// coveredBy finds, for one namespace ("" = any), the first earlier
		// rule matching every pod j matches there.
		coveredBy := func(ns string) int {
			for i := 0; i < j; i++ {
				if ps[i].matchNot || !matchesNamespace(rules[i].Match.Namespaces, ns) {
					continue
				}
				if sc.implies(ps[i].sc) {
					return i
				}
			}
			return -1
		}
		var by []string
		if len(rules[j].Match.Namespaces) == 0 {
			if i := coveredBy(""); i >= 0 {
				by = append(by, describeRule(rules, i))
			}
		} else {
			seen := map[int]bool{}
			for _, ns := range rules[j].Match.Namespaces {
				i := coveredBy(ns)
				if i < 0 {
					by = nil
					break
				}
				if !seen[i] {
					seen[i] = true
					by = append(by, describeRule(rules, i))
				}
			}
		}
		if len(by) > 0 {
			findings = append(findings, warningf(path.String(),
				"rule %q is shadowed: every pod it matches is matched first by %s, so no pod reaches it; move it up or narrow the earlier rule",
				rules[j].Name, strings.Join(by, " and ")))
		}
	}
	return findings
}

// matchesNamespace reports whether a rule naming namespaces matches every
// pod of ns; ns "" stands for any namespace, which only a rule naming no
// namespace matches.
func matchesNamespace(namespaces []string, ns string) bool {
	if len(namespaces) == 0 {
		return true
	}
	if ns == "" {
		return false
	}
	for _, n := range namespaces {
		if n == ns {
			return true
		}
	}
	return false
}

func describeRule(rules []policy.Rule, i int) string {
	return fmt.Sprintf("rules[%d] %q", i, rules[i].Name)
}
