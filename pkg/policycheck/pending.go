package policycheck

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// shortfall is what one rule leaves out of reach: the pending pods it
// matches that ask more GPUs than any node it admits them to has.
type shortfall struct {
	ref placementRef
	// blocked: pods some node outside the rule's reach could hold;
	// tooBig: pods no node of the cluster has the GPUs for.
	blocked, tooBig []podNeed
}

type podNeed struct {
	pod *v1.Pod
	// gpus the pod asks; admitted: the most GPUs of a node the rule admits
	// it to; elsewhere: a node outside them with at least gpus ("" none).
	gpus, admitted int64
	// milli: the pod shares one GPU, asking these thousandths of it.
	milli     int64
	elsewhere string
	why       string
}

// checkPending reports rules that confine pending pods (by pool or GPU
// model) to nodes with fewer GPUs than the pods ask: an error when a node
// the rule keeps them from has enough (the policy is what keeps them
// pending), a warning when no node of the cluster has that many.
func checkPending(cl *classified, cluster *Cluster) []Finding {
	c := cl.c
	byRule := map[int]*shortfall{}
	refs := placements(c)
	claims := policy.ClaimsByName(cluster.ResourceClaims)
	for _, pod := range cluster.Pending {
		if cluster.SchedulerName != "" && pod.Spec.SchedulerName != cluster.SchedulerName {
			continue
		}
		gpus, milli := c.PodGPUAsk(pod, claims, cl.inv.TypicalMilliShare())
		if milli > 0 {
			gpus = 1 // a share of one GPU needs a node with one
		}
		rule := c.Match(pod)
		if gpus == 0 || !rule.Confines() {
			continue
		}
		need := podNeed{pod: pod, gpus: gpus, milli: milli}
		owned := c.OwnedBy(pod.Namespace)
		for n := range cl.nodes {
			nc := &cl.classes[n]
			switch v := c.Admits(rule, nc, true, &owned); {
			case v == policy.VerdictOK:
				need.admitted = max(need.admitted, nc.GPUs)
			case nc.GPUs >= gpus && (need.elsewhere == "" || need.why == whyOwned && v != policy.VerdictOwnedPool):
				// Prefer a node the rule itself keeps the pod from.
				need.elsewhere, need.why = cl.nodes[n].Name, refusal(v, nc)
			}
		}
		if need.admitted >= gpus {
			continue
		}
		s := byRule[rule.Index]
		if s == nil {
			s = &shortfall{ref: refFor(refs, rule)}
			byRule[rule.Index] = s
		}
		if need.elsewhere != "" {
			s.blocked = append(s.blocked, need)
		} else {
			s.tooBig = append(s.tooBig, need)
		}
	}
	var findings []Finding
	for i := 0; i <= len(c.Rules); i++ {
		s := byRule[i]
		if s == nil {
			continue
		}
		if len(s.blocked) > 0 {
			top := largest(s.blocked)
			findings = append(findings, errorf(s.ref.confinedPath(), "%s; node %s has %d GPUs, but %s%s",
				describeNeed(s.ref, top), top.elsewhere, gpusOf(cl, top.elsewhere), top.why, others(s.blocked)))
		}
		if len(s.tooBig) > 0 {
			top := largest(s.tooBig)
			findings = append(findings, warningf(s.ref.confinedPath(), "%s; no node of the cluster has that many GPUs either%s",
				describeNeed(s.ref, top), others(s.tooBig)))
		}
	}
	return findings
}

func refFor(refs []placementRef, rule *policy.CompiledRule) placementRef {
	for _, r := range refs {
		if r.rule == rule {
			return r
		}
	}
	// Only the default may lack a source placement, and then it confines
	// nothing: not reached, but named sensibly all the same.
	return placementRef{path: field.NewPath("default"), what: "the default placement", pl: &policy.Placement{}, rule: rule}
}

func largest(needs []podNeed) podNeed {
	top := needs[0]
	for _, n := range needs[1:] {
		if n.gpus > top.gpus {
			top = n
		}
	}
	return top
}

func describeNeed(ref placementRef, n podNeed) string {
	where := confinement(ref.rule)
	asks := fmt.Sprintf("%d GPUs", n.gpus)
	if n.milli > 0 {
		asks = fmt.Sprintf("%g of one GPU through a ResourceClaim", float64(n.milli)/1000)
	}
	if n.admitted == 0 {
		return fmt.Sprintf("pending pod %s/%s asks %s, but %s admits it to no GPU node (%s)",
			n.pod.Namespace, n.pod.Name, asks, ref.what, where)
	}
	return fmt.Sprintf("pending pod %s/%s asks %s, but the nodes %s admits it to have at most %d (%s)",
		n.pod.Namespace, n.pod.Name, asks, ref.what, n.admitted, where)
}

// confinement describes a rule's pools and GPU models.
func confinement(r *policy.CompiledRule) string {
	var parts []string
	if len(r.PoolNames) > 0 {
		parts = append(parts, "pools ["+strings.Join(r.PoolNames, ", ")+"]")
	}
	if len(r.GPUModels) > 0 {
		parts = append(parts, "GPU models ["+strings.Join(r.GPUModels, ", ")+"]")
	}
	return strings.Join(parts, ", ")
}

func others(needs []podNeed) string {
	if len(needs) == 1 {
		return ""
	}
	return fmt.Sprintf("; in all %d pending pods of the rule ask more GPUs than any node it admits them to has", len(needs))
}

const whyOwned = "it is in a pool owned by other namespaces"

// refusal says why the policy keeps a pod off a node.
func refusal(v policy.Verdict, nc *policy.NodeClass) string {
	switch v {
	case policy.VerdictNotInPool:
		return "it is in none of the rule's pools"
	case policy.VerdictGPUModel:
		return fmt.Sprintf("its GPU model %q is not one the rule allows", nc.Model)
	case policy.VerdictOwnedPool:
		return whyOwned
	}
	return "the policy refuses it"
}

func gpusOf(cl *classified, node string) int64 {
	for n := range cl.nodes {
		if cl.nodes[n].Name == node {
			return cl.classes[n].GPUs
		}
	}
	return 0
}
