package policycheck

import (
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// checkNamespaces reports owner namespaces and rule namespaces that do not
// exist. Both are warnings: a namespace may be created after the policy. A
// pool whose owners all do not exist keeps its nodes from every pod.
func checkNamespaces(c *policy.Compiled, cluster *Cluster) []Finding {
	exists := sets.New(cluster.Namespaces...)
	missing := "namespace does not exist"
	if cluster.NamespacesFromPods {
		missing = "no pod of the snapshot is in this namespace (a snapshot has no Namespace objects: it may exist without pods)"
	}
	src := c.Source()
	var findings []Finding
	for i, pool := range src.Pools {
		path := field.NewPath("pools").Index(i).Child("ownerNamespaces")
		var found int
		for j, ns := range pool.OwnerNamespaces {
			if exists.Has(ns) {
				found++
				continue
			}
			findings = append(findings, warningf(path.Index(j).String(), "%s: %s", ns, missing))
		}
		if found == 0 && len(pool.OwnerNamespaces) > 0 {
			findings = append(findings, warningf(path.String(),
				"none of pool %q's owner namespaces exists: no pod may use its nodes", pool.Name))
		}
	}
	for i, rule := range src.Rules {
		path := field.NewPath("rules").Index(i).Child("match", "namespaces")
		for j, ns := range rule.Match.Namespaces {
			if !exists.Has(ns) {
				findings = append(findings, warningf(path.Index(j).String(), "%s: %s", ns, missing))
			}
		}
	}
	return findings
}
