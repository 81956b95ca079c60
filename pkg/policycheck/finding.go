// Package policycheck judges a placement policy before it is applied: first
// everything the scheduler validates, by the scheduler's own code (policy.Load),
// then semantics the scheduler accepts silently: rules that can never match a
// pod because an earlier rule matches all of its pods (a static check), and,
// against a cluster's nodes, pods and namespaces, selectors that choose no
// node, pools whose overlap breaks their ownership, GPU models no node has,
// owner namespaces that do not exist and rules that confine pending pods to
// nodes with fewer GPUs than the pods ask.
//
// Every problem is a Finding with a severity and the field path of the policy
// it is about, e.g. `pools[1].nodeSelector`.
package policycheck

import (
	"fmt"
	"strings"
)

// Severity is how bad a finding is.
type Severity string

const (
	// SeverityError: the scheduler rejects the policy, or applying it breaks
	// what it says (ownership not kept, pending pods it can never place).
	SeverityError Severity = "Error"
	// SeverityWarning: the policy is accepted but part of it has no effect
	// or rests on something missing from the cluster.
	SeverityWarning Severity = "Warning"
)

// Finding is one problem of the policy.
type Finding struct {
	Severity Severity `json:"severity"`
	// Field is the policy field path the finding is about; empty for the
	// document as a whole (e.g. a YAML syntax error).
	Field   string `json:"field"`
	Message string `json:"message"`
}

// String is the finding's text line: `ERROR pools[0].nodeSelector: message`.
func (f Finding) String() string {
	sev := strings.ToUpper(string(f.Severity))
	if f.Field == "" {
		return sev + " " + f.Message
	}
	return sev + " " + f.Field + ": " + f.Message
}

func errorf(field, format string, args ...any) Finding {
	return Finding{Severity: SeverityError, Field: field, Message: fmt.Sprintf(format, args...)}
}

func warningf(field, format string, args ...any) Finding {
	return Finding{Severity: SeverityWarning, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Count returns the number of errors and of warnings among findings.
func Count(findings []Finding) (errs, warnings int) {
	for _, f := range findings {
		if f.Severity == SeverityError {
			errs++
		} else {
			warnings++
		}
	}
	return errs, warnings
}

// listNames lists up to max names and says how many more there are.
func listNames(names []string, max int) string {
	s := strings.Join(names[:min(max, len(names))], ", ")
	if more := len(names) - max; more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}

// plural returns "1 node" or "3 nodes".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", word)
	}
	return fmt.Sprintf("%d %ss", n, word)
}
