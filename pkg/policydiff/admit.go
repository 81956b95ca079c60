// Package policydiff judges a placement policy change against a cluster
// snapshot before it is made: the running pods the new policy would no
// longer admit where they are (admit.go), and the pending queue replayed
// through the real scheduler under the old and the new policy side by side
// (replay.go).
package policydiff

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Refusal is a running pod the policy would not admit on its node.
type Refusal struct {
	// Pod is namespace/name.
	Pod  string `json:"pod"`
	Node string `json:"node"`
	// Rule is the rule the pod matches under the policy; PlacedRule the
	// rule that placed it (its ml-scheduler.io/rule annotation), if known.
	Rule       string `json:"rule"`
	PlacedRule string `json:"placedRule,omitempty"`
	// Reason is why, in the scheduler's own words.
	Reason string `json:"reason"`
}

// DRA is the cluster's DRA objects Refusals reads: GPUs published as
// devices, and the claims pods ask GPUs through.
type DRA struct {
	Slices []*resourceapi.ResourceSlice
	Claims []*resourceapi.ResourceClaim
}

// Refusals judges each bound pod of schedulerName on its node by p, as
// MLPolicy's Filter would judge a new pod there: Match, Classify (with the
// node's DRA GPUs), Admits. Pods whose node is not among nodes are refused
// with a reason saying so. The order is the pods' order.
func Refusals(p *policy.Compiled, nodes []*v1.Node, running []*v1.Pod, schedulerName string, dra DRA) []Refusal {
	byName := make(map[string]*v1.Node, len(nodes))
	for _, n := range nodes {
		byName[n.Name] = n
	}
	inv := p.DRA.Inventory(dra.Slices)
	claims := policy.ClaimsByName(dra.Claims)
	classes := map[string]policy.NodeClass{}
	var out []Refusal
	for _, pod := range running {
		if pod.Spec.NodeName == "" || pod.Spec.SchedulerName != schedulerName {
			continue
		}
		r := p.Match(pod)
		ref := Refusal{Pod: pod.Namespace + "/" + pod.Name, Node: pod.Spec.NodeName, Rule: r.Name,
			PlacedRule: pod.Annotations[mlpolicy.AnnotationRule]}
		node, ok := byName[pod.Spec.NodeName]
		if !ok {
			ref.Reason = "node not in the snapshot"
			out = append(out, ref)
			continue
		}
		nc, seen := classes[node.Name]
		if !seen {
			nc = p.ClassifyWithDevices(node, inv.Node(node.Name))
			classes[node.Name] = nc
		}
		owned := p.OwnedBy(pod.Namespace)
		gpus, milli := p.PodGPUAsk(pod, claims, inv.TypicalMilliShare())
		if v := p.Admits(r, &nc, gpus > 0 || milli > 0, &owned); v != policy.VerdictOK {
			ref.Reason = Reason(v, r)
			out = append(out, ref)
		}
	}
	return out
}

// Reason words a verdict as MLPolicy's Filter does for one node.
func Reason(v policy.Verdict, r *policy.CompiledRule) string {
	switch v {
	case policy.VerdictNotInPool:
		return fmt.Sprintf("node not in pool %s required by rule %s", orList(r.PoolNames), r.Name)
	case policy.VerdictGPUModel:
		return fmt.Sprintf("node lacks GPU model %s required by rule %s", orList(r.GPUModels), r.Name)
	case policy.VerdictReservedForGPU:
		return single(mlpolicy.ReasonReservedForGPU)
	case policy.VerdictNoGPU:
		return single(mlpolicy.ReasonNoGPU)
	case policy.VerdictOwnedPool:
		return single(mlpolicy.ReasonOwnedPool)
	case policy.VerdictWouldStrand:
		return single(mlpolicy.ReasonWouldStrand)
	}
	return fmt.Sprintf("verdict %d", v)
}

// single turns the scheduler's "node(s) are ..." count wording into one node's.
func single(reason string) string {
	reason = strings.Replace(reason, "node(s) are", "node is", 1)
	return strings.Replace(reason, "node(s) have", "node has", 1)
}

func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return "{" + strings.Join(items, ", ") + "}"
}
