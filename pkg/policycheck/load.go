package policycheck

import (
	"errors"
	"regexp"

	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Load runs the scheduler's own entry point, policy.Load (what the policy
// watcher runs on every ConfigMap change), on a policy document. If the
// scheduler would accept it, Load returns the compiled policy and no
// finding. If not, it returns nil and the scheduler's errors, one finding
// each with its field path: the same steps Load runs (Decode, SetDefaults,
// Validate, Compile) are run again one by one to get them as a list.
func Load(data []byte) (*policy.Compiled, []Finding) {
	compiled, err := policy.Load(data)
	if err == nil {
		return compiled, nil
	}
	findings := explain(data)
	if len(findings) == 0 { // cannot happen while the steps are Load's; never hide the rejection
		findings = []Finding{errorf("", "%v", err)}
	}
	return nil, findings
}

// explain returns the errors of a document policy.Load rejects, each with
// its field path where the policy package gives one.
func explain(data []byte) []Finding {
	p, err := policy.Decode(data)
	var findings []Finding
	var strict *policy.StrictDecodingError
	switch {
	case errors.As(err, &strict):
		for _, msg := range strict.Messages {
			findings = append(findings, strictFinding(msg))
		}
		p = strict.Partial
	case err != nil:
		return fromError(err)
	}
	policy.SetDefaults(p)
	if errs := policy.Validate(p); len(errs) > 0 {
		return append(findings, fromFieldErrors(errs)...)
	}
	if len(findings) > 0 {
		return findings
	}
	if _, err := policy.Compile(p); err != nil {
		return []Finding{errorf("", "%v", err)}
	}
	return nil
}

// strictFieldRE matches the strict decoder's messages, e.g.
// `unknown field "rules[0].pol"`.
var strictFieldRE = regexp.MustCompile(`^(unknown|duplicate) field "(.*)"$`)

func strictFinding(msg string) Finding {
	m := strictFieldRE.FindStringSubmatch(msg)
	if m == nil {
		return errorf("", "decoding policy: %s", msg)
	}
	if m[1] == "unknown" {
		return errorf(m[2], "unknown field: a PlacementPolicy (%s) has no such field", policy.APIVersion)
	}
	return errorf(m[2], "duplicate field: set it once")
}

// fromError splits an aggregate of field errors (Decode's apiVersion and
// kind check); any other error is one finding for the whole document.
func fromError(err error) []Finding {
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		var list field.ErrorList
		for _, e := range agg.Errors() {
			var fe *field.Error
			if !errors.As(e, &fe) {
				return []Finding{errorf("", "%v", err)}
			}
			list = append(list, fe)
		}
		return fromFieldErrors(list)
	}
	return []Finding{errorf("", "%v", err)}
}

func fromFieldErrors(errs field.ErrorList) []Finding {
	findings := make([]Finding, 0, len(errs))
	for _, e := range errs {
		findings = append(findings, errorf(e.Field, "%s", e.ErrorBody()))
	}
	return findings
}
