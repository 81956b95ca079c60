package explain

import (
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/livecluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// maxExamples bounds the node names listed per reason.
const maxExamples = 3

// refusal is why one node cannot take the pod.
type refusal struct {
	plugin  string
	reasons []string
}

func (r refusal) policy() bool { return r.plugin == mlpolicy.Name }

// policyJudge judges nodes by the placement policy alone, for when PreFilter
// refused the pod outright and no Filter ran.
type policyJudge struct {
	policy   *policy.Compiled
	rule     *policy.CompiledRule
	wantsGPU bool
	owned    policy.PoolSet
	// gpus holds the nodes' DRA GPU devices.
	gpus *gpudra.Inventory
}

// newPolicyJudge judges pod under p, with the cluster's DRA GPUs and the
// pod's GPU claims counted as the scheduler counts them.
func newPolicyJudge(p *policy.Compiled, pod *v1.Pod, cluster *livecluster.State) *policyJudge {
	j := &policyJudge{policy: p, rule: p.Match(pod), owned: p.OwnedBy(pod.Namespace)}
	var claims policy.ClaimLookup
	var slices []*resourceapi.ResourceSlice
	if cluster != nil {
		slices, claims = cluster.ResourceSlices, policy.ClaimsByName(cluster.ResourceClaims)
	}
	j.gpus = p.DRA.Inventory(slices)
	gpus, milli := p.PodGPUAsk(pod, claims, j.gpus.TypicalMilliShare())
	j.wantsGPU = gpus > 0 || milli > 0
	return j
}

// refusal is the policy's refusal of node in MLPolicy's Filter words, or
// false when the policy admits it.
func (j *policyJudge) refusal(node *v1.Node) (refusal, bool) {
	nc := j.policy.ClassifyWithDevices(node, j.gpus.Node(node.Name))
	v := j.policy.Admits(j.rule, &nc, j.wantsGPU, &j.owned)
	if v == policy.VerdictOK {
		return refusal{}, false
	}
	return refusal{plugin: mlpolicy.Name, reasons: []string{mlpolicy.VerdictReason(j.policy, j.rule, v)}}, true
}

// refusals is each infeasible node's refusal. When PreFilter refused the
// pod, every node gets that refusal, except that a refusal by MLPolicy is
// told per node by the policy (judge; nil without a policy).
func refusals(res *cycleResult, judge *policyJudge) map[string]refusal {
	out := map[string]refusal{}
	if st := res.preFilter; st != nil {
		whole := refusalOf(st)
		for _, ni := range res.nodeInfos {
			node := ni.Node()
			if judge != nil && whole.policy() {
				if r, refused := judge.refusal(node); refused {
					out[node.Name] = r
					continue
				}
			}
			out[node.Name] = whole
		}
		return out
	}
	for name, st := range res.filter {
		out[name] = refusalOf(st)
	}
	return out
}

func refusalOf(st *fwk.Status) refusal {
	reasons := st.Reasons()
	if len(reasons) == 0 {
		reasons = []string{st.Code().String()}
	}
	return refusal{plugin: st.Plugin(), reasons: reasons}
}

// countReasons groups the refused nodes by their reasons, most nodes first
// (then policy refusals first, then by reason).
func countReasons(refused map[string]refusal) []ReasonCount {
	byKey := map[string]*ReasonCount{}
	names := make([]string, 0, len(refused))
	for n := range refused {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		r := refused[n]
		reason := strings.Join(r.reasons, "; ")
		key := r.plugin + "\x00" + reason
		c, ok := byKey[key]
		if !ok {
			c = &ReasonCount{Reason: reason, Plugin: r.plugin, Policy: r.policy()}
			byKey[key] = c
		}
		c.Nodes++
		if len(c.Examples) < maxExamples {
			c.Examples = append(c.Examples, n)
		}
	}
	out := make([]ReasonCount, 0, len(byKey))
	for _, c := range byKey {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Nodes != b.Nodes {
			return a.Nodes > b.Nodes
		}
		if a.Policy != b.Policy {
			return a.Policy
		}
		return a.Reason < b.Reason
	})
	return out
}
