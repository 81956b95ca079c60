package schedstatus

import (
	"regexp"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// NoPolicyRule is the Rule of pods pending because no valid policy is loaded.
const NoPolicyRule = "(no policy loaded)"

// noPolicyMessage starts the scheduler's message for such pods
// (mlpolicy.ReasonNoPolicy; a string here to keep the plugin out of the CLI).
const noPolicyMessage = "no valid placement policy is loaded"

// ruleMessage is the part of a PodScheduled=False message MLPolicy writes
// for a pod it cannot place (PreFilter's refusal or PostFilter's
// explanation): "pod matched rule <rule> of policy <hash> (<source>), ...".
var ruleMessage = regexp.MustCompile(`pod matched rule (\S+) of policy (\S+) \(`)

// PendingRule counts the pending pods refused under one rule of one policy.
type PendingRule struct {
	Rule string `json:"rule"`
	// Hash is the policy named in the pods' messages ("" for NoPolicyRule):
	// one other than the policy in force says the pods were last tried
	// under an earlier policy.
	Hash string `json:"policyHash,omitempty"`
	Pods int    `json:"pods"`
	// Examples are the first few pods, namespace/name, oldest first.
	Examples []string `json:"examples"`
}

const maxExamples = 3

// PolicyReason returns the rule and policy hash a pending pod's
// PodScheduled=False condition names, ok false when the pod is not pending
// for a policy reason (not yet tried, or refused by other plugins alone).
func PolicyReason(p *v1.Pod) (rule, hash string, ok bool) {
	for _, c := range p.Status.Conditions {
		if c.Type != v1.PodScheduled || c.Status != v1.ConditionFalse {
			continue
		}
		if m := ruleMessage.FindStringSubmatch(c.Message); m != nil {
			return m[1], m[2], true
		}
		if strings.Contains(c.Message, noPolicyMessage) {
			return NoPolicyRule, "", true
		}
	}
	return "", "", false
}

// GroupPending groups the unbound pods of schedulerName, oldest first, by
// the rule and policy of their policy reason; it returns the groups (most
// pods first, then by rule) and how many of the pods are pending for other
// reasons or not tried yet.
func GroupPending(pods []*v1.Pod, schedulerName string) (groups []PendingRule, other int) {
	sorted := append([]*v1.Pod(nil), pods...)
	sort.SliceStable(sorted, func(i, j int) bool {
		return sorted[i].CreationTimestamp.Before(&sorted[j].CreationTimestamp)
	})
	index := map[[2]string]int{}
	for _, p := range sorted {
		if p.Spec.NodeName != "" || p.Spec.SchedulerName != schedulerName || p.DeletionTimestamp != nil ||
			p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed {
			continue
		}
		rule, hash, ok := PolicyReason(p)
		if !ok {
			other++
			continue
		}
		key := [2]string{rule, hash}
		i, seen := index[key]
		if !seen {
			i = len(groups)
			index[key] = i
			groups = append(groups, PendingRule{Rule: rule, Hash: hash})
		}
		groups[i].Pods++
		if len(groups[i].Examples) < maxExamples {
			groups[i].Examples = append(groups[i].Examples, p.Namespace+"/"+p.Name)
		}
	}
	sort.SliceStable(groups, func(i, j int) bool {
		if groups[i].Pods != groups[j].Pods {
			return groups[i].Pods > groups[j].Pods
		}
		return groups[i].Rule < groups[j].Rule
	})
	return groups, other
}
