package policycheck

// Report is the outcome of a check as the CLI prints it (-o json|yaml): a
// stable structure for CI pipelines.
type Report struct {
	// Source is the policy file checked.
	Source string `json:"source"`
	// Hash is the policy's hash as the scheduler would report it in force;
	// empty when the scheduler rejects the document.
	Hash string `json:"hash,omitempty"`
	// Accepted says the scheduler would accept the policy (no validation error).
	Accepted bool `json:"accepted"`
	// Cluster says what the cluster checks judged the policy against, or
	// that only the static checks ran.
	Cluster  string    `json:"cluster"`
	Errors   int       `json:"errors"`
	Warnings int       `json:"warnings"`
	Findings []Finding `json:"findings"`
}

// NewReport summarizes a result. Its findings are the result's, errors
// first (otherwise in the order found: by check, then by field).
func NewReport(source, cluster string, r Result) Report {
	rep := Report{Source: source, Cluster: cluster, Accepted: r.Compiled != nil, Findings: []Finding{}}
	for _, sev := range []Severity{SeverityError, SeverityWarning} {
		for _, f := range r.Findings {
			if f.Severity == sev {
				rep.Findings = append(rep.Findings, f)
			}
		}
	}
	if r.Compiled != nil {
		rep.Hash = r.Compiled.Hash()
	}
	rep.Errors, rep.Warnings = Count(r.Findings)
	return rep
}
