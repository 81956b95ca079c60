package policycheck

import "github.com/ml-scheduler/ml-scheduler/pkg/policy"

// Result is the outcome of checking one policy document.
type Result struct {
	// Compiled is the policy as the scheduler would run it; nil when the
	// scheduler rejects the document (Findings then hold why).
	Compiled *policy.Compiled
	Findings []Finding
}

// Check loads a policy document as the scheduler does and, if the scheduler
// accepts it, runs the static checks and, with a cluster, the cluster
// checks. The cluster checks judge a policy the scheduler accepts only.
func Check(data []byte, cluster *Cluster) Result {
	compiled, findings := Load(data)
	if compiled == nil {
		return Result{Findings: findings}
	}
	findings = append(findings, Static(compiled)...)
	if cluster != nil {
		findings = append(findings, AgainstCluster(compiled, cluster)...)
	}
	return Result{Compiled: compiled, Findings: findings}
}
