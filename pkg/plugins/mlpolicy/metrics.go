package mlpolicy

import (
	"sync"

	"k8s.io/component-base/metrics"
	"k8s.io/component-base/metrics/legacyregistry"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// The policy at work on /metrics: pods placed per rule and pods refused per
// reason. Both count once per pod scheduling attempt (PostBind, PostFilter),
// never per node: Filter, the hot path, counts nothing.
const metricsSubsystem = "ml_scheduler"

// RuleNone is the rule label of a rejection no rule was matched for (no
// policy loaded).
const RuleNone = "(none)"

// Reasons, the values of the reason label of pod_rejections_total: the
// policy verdict of the nodes that came closest to admitting the pod (see
// nearestMiss), or what refused the pod before any node was judged. A fixed set, so the label stays bounded.
const (
	RejectNotInPool      = "not_in_pool"
	RejectGPUModel       = "gpu_model"
	RejectNoGPU          = "no_gpu"
	RejectReservedForGPU = "reserved_for_gpu"
	RejectOwnedPool      = "owned_pool"
	RejectWouldStrand    = "would_strand"
	RejectNoPolicy       = "no_policy"
	RejectGang           = "gang"
	// RejectOther: the policy did not refuse the pod: its rule admits at
	// least one node, which other plugins refused (resources, taints, the
	// pod's own node selector or affinity), or there is no node at all.
	RejectOther = "other"
)

// RejectReasons lists every reason label value, in verdict order.
var RejectReasons = []string{RejectNotInPool, RejectGPUModel, RejectNoGPU, RejectReservedForGPU,
	RejectOwnedPool, RejectWouldStrand, RejectNoPolicy, RejectGang, RejectOther}

var verdictReason = [...]string{
	policy.VerdictNotInPool:      RejectNotInPool,
	policy.VerdictGPUModel:       RejectGPUModel,
	policy.VerdictNoGPU:          RejectNoGPU,
	policy.VerdictReservedForGPU: RejectReservedForGPU,
	policy.VerdictOwnedPool:      RejectOwnedPool,
	policy.VerdictWouldStrand:    RejectWouldStrand,
}

var (
	podsPlaced = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem:      metricsSubsystem,
		Name:           "pods_placed_total",
		Help:           "Pods bound by this scheduler, by the placement policy rule that placed them (the default rule: \"" + policy.DefaultRuleName + "\").",
		StabilityLevel: metrics.ALPHA,
	}, []string{"rule"})
	podRejections = metrics.NewCounterVec(&metrics.CounterOpts{
		Subsystem: metricsSubsystem,
		Name:      "pod_rejections_total",
		Help: "Scheduling attempts that found no node for the pod, by the pod's rule and the reason in policy terms: " +
			"the verdict of the nodes that came closest (not_in_pool, gpu_model, no_gpu, reserved_for_gpu, owned_pool, would_strand), " +
			"no_policy, gang (refused before nodes were judged), or other (the rule admits a node, but other plugins refused it: resources, taints, the pod's own affinity).",
		StabilityLevel: metrics.ALPHA,
	}, []string{"reason", "rule"})

	registerMetricsOnce sync.Once
)

// RegisterMetrics registers the placement metrics with the scheduler's registry.
func RegisterMetrics() {
	registerMetricsOnce.Do(func() {
		legacyregistry.MustRegister(podsPlaced, podRejections)
	})
}

// recordPlaced counts a bound pod under the rule PreFilter matched it to;
// a pod MLPolicy did not judge is not counted.
func recordPlaced(cs fwk.CycleState) {
	if s, err := readState(cs); err == nil {
		podsPlaced.WithLabelValues(s.rule.Name).Inc()
	}
}

// recordRejection counts one failed scheduling attempt of a pod, from
// PostFilter: s and err are what readState returned, m the nodes' statuses.
func (pl *MLPolicy) recordRejection(s *cycleState, err error, m fwk.NodeToStatusReader) {
	if err != nil {
		// PreFilter wrote no state: it refused the pod for want of a policy,
		// or did not run (another PreFilter refused first).
		if pl.store.Load() == nil {
			podRejections.WithLabelValues(RejectNoPolicy, RuleNone).Inc()
		}
		return
	}
	reason := s.refusal
	if reason == "" {
		reason = pl.nearestMiss(s, m)
	}
	podRejections.WithLabelValues(reason, s.rule.Name).Inc()
}

// nearestMiss is the policy's reason for refusing the pod: the verdict of
// the nodes that came closest, i.e. passed the most of the policy's checks
// (Admits' order: pool, GPU model, no GPU, reserved for GPU pods, owned
// pool; then cpuSpill's would-strand), or RejectOther when the rule admits
// a node. (The verdict refusing the most nodes would nearly always be
// not_in_pool for a rule with pools, whatever keeps its pods out of them.)
// It walks every node, but only for pods that cannot be placed.
func (pl *MLPolicy) nearestMiss(s *cycleState, m fwk.NodeToStatusReader) string {
	l := pl.handle.SnapshotSharedLister()
	if l == nil {
		return RejectOther
	}
	nodes, err := l.NodeInfos().List()
	if err != nil {
		return RejectOther
	}
	p := s.active.Policy
	nearest := policy.VerdictOK
	for _, ni := range nodes {
		node := ni.Node()
		v := p.Admits(s.rule, s.classOf(node), s.wantsGPU, &s.owned)
		if v == policy.VerdictOK && m != nil {
			// cpuSpill's refusal depends on the node's free resources:
			// Filter's status says whether it refused.
			if st := m.Get(node.Name); st != nil && st.Plugin() == Name && st.Message() == ReasonWouldStrand {
				v = policy.VerdictWouldStrand
			}
		}
		if v == policy.VerdictOK {
			return RejectOther
		}
		nearest = max(nearest, v)
	}
	if nearest == policy.VerdictOK {
		return RejectOther
	}
	return verdictReason[nearest]
}
