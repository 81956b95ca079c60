package mlpolicy

import (
	"fmt"
	"strings"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// Reasons that do not depend on the rule. They are stable strings: the
// scheduler counts nodes per reason in "0/N nodes are available: …".
const (
	ReasonReservedForGPU = "node(s) are reserved for GPU workloads"
	ReasonNoGPU          = "node(s) have no GPU"
	ReasonOwnedPool      = "node(s) are in a pool owned by other namespaces"
	ReasonNoPolicy       = "no valid placement policy is loaded"
	ReasonWouldStrand    = "node(s) are reserved for GPU workloads: the pod would leave their free GPUs too little CPU or memory"
	ReasonDRAGPUsInUse   = "node(s) have fewer free whole GPU devices than the pod asks through nvidia.com/gpu or a ResourceClaim"
)

// messages are the per-rule reason strings of one policy, built once per
// swap so Filter never formats a string.
type messages struct {
	policy    *policy.Compiled
	notInPool []string
	gpuModel  []string
}

func newMessages(a *policystore.Active) *messages {
	p := a.Policy
	n := p.RuleCount() + 1
	m := &messages{policy: p, notInPool: make([]string, n), gpuModel: make([]string, n)}
	for i := 0; i < n; i++ {
		r := p.RuleByIndex(i)
		m.notInPool[i] = fmt.Sprintf("node(s) not in pool %s required by rule %s", orList(r.PoolNames), r.Name)
		m.gpuModel[i] = fmt.Sprintf("node(s) lack GPU model %s required by rule %s", orList(r.GPUModels), r.Name)
	}
	return m
}

func orList(items []string) string {
	if len(items) == 1 {
		return items[0]
	}
	return "{" + strings.Join(items, ", ") + "}"
}

func (m *messages) reason(v policy.Verdict, r *policy.CompiledRule) string {
	switch v {
	case policy.VerdictNotInPool:
		return m.notInPool[r.Index]
	case policy.VerdictGPUModel:
		return m.gpuModel[r.Index]
	case policy.VerdictReservedForGPU:
		return ReasonReservedForGPU
	case policy.VerdictNoGPU:
		return ReasonNoGPU
	case policy.VerdictOwnedPool:
		return ReasonOwnedPool
	case policy.VerdictWouldStrand:
		return ReasonWouldStrand
	}
	return ""
}
