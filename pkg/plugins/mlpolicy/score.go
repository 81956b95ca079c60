package mlpolicy

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// scoreState is what PreScore computed for Score.
type scoreState struct {
	packing   bool
	preferred bool
	// domainCount counts, per topology value, the job's pods already placed;
	// nil when the rule does not colocate or the pod has no job label.
	domainCount map[string]int64
	maxCount    int64
	topologyKey string
	// parts is how many score parts are active; NormalizeScore divides by it.
	parts int64
}

// PreScore decides which score parts apply to the pod and counts where its
// job's pods run. It skips Score when none applies.
func (pl *MLPolicy) PreScore(_ context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		// PreFilter did not run for this pod (e.g. no policy): nothing to score.
		return fwk.NewStatus(fwk.Skip)
	}
	r := s.rule
	ss := &scoreState{
		packing:   r.Packing != "" && s.wantsGPU,
		preferred: r.PreferredSum > 0,
	}
	if r.Colocate != nil {
		if job, ok := pod.Labels[r.Colocate.JobLabel]; ok {
			if err := pl.countJob(pod.Namespace, r.Colocate, job, ss); err != nil {
				return fwk.AsStatus(err)
			}
		}
	}
	// A job's first pod finds none of its pods placed: colocation then
	// scores every node 0 and is left out rather than diluting the rest.
	if ss.maxCount == 0 {
		ss.domainCount = nil
	}
	for _, on := range []bool{ss.packing, ss.preferred, ss.domainCount != nil} {
		if on {
			ss.parts++
		}
	}
	if ss.parts == 0 {
		return fwk.NewStatus(fwk.Skip)
	}
	s.score = ss
	return nil
}

// countJob counts the job's placed pods per topology domain over all nodes
// (not only feasible ones: a full node still anchors its domain).
func (pl *MLPolicy) countJob(namespace string, c *policy.Colocation, job string, ss *scoreState) error {
	nodes, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		return err
	}
	ss.topologyKey = c.TopologyKey
	ss.domainCount = map[string]int64{}
	for _, ni := range nodes {
		domain, ok := ni.Node().Labels[c.TopologyKey]
		if !ok {
			continue
		}
		for _, pi := range ni.GetPods() {
			p := pi.GetPod()
			if p.Namespace == namespace && p.Labels[c.JobLabel] == job {
				ss.domainCount[domain]++
			}
		}
	}
	for _, n := range ss.domainCount {
		if n > ss.maxCount {
			ss.maxCount = n
		}
	}
	return nil
}

// Score sums the active parts, each in [0, MaxNodeScore]:
//   - GPU packing: the node's GPU allocation after placing the pod
//     (BinPack: fuller is better; Spread: emptier is better);
//   - preferences: matched weight over the rule's total weight;
//   - colocation: the job's pods in the node's domain over the most in any domain.
func (pl *MLPolicy) Score(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) (int64, *fwk.Status) {
	s, err := readState(cs)
	if err != nil {
		return 0, fwk.AsStatus(err)
	}
	ss := s.score
	if ss == nil {
		return 0, nil
	}
	node := nodeInfo.Node()
	var total int64
	if ss.packing {
		total += packingScore(s, nodeInfo)
	}
	if ss.preferred {
		set := labels.Set(node.Labels)
		var w int64
		for _, p := range s.rule.Preferred {
			if p.Selector.Matches(set) {
				w += p.Weight
			}
		}
		total += w * fwk.MaxNodeScore / s.rule.PreferredSum
	}
	if ss.domainCount != nil && ss.maxCount > 0 {
		if d, ok := node.Labels[ss.topologyKey]; ok {
			total += ss.domainCount[d] * fwk.MaxNodeScore / ss.maxCount
		}
	}
	return total, nil
}

func packingScore(s *cycleState, nodeInfo fwk.NodeInfo) int64 {
	alloc := nodeInfo.GetAllocatable().GetScalarResources()
	used := nodeInfo.GetRequested().GetScalarResources()
	var capacity, inUse int64
	for _, res := range s.active.Policy.GPUResources {
		capacity += alloc[res]
		inUse += used[res]
	}
	if capacity == 0 {
		return 0
	}
	after := inUse + s.gpus
	if after > capacity {
		after = capacity
	}
	fill := after * fwk.MaxNodeScore / capacity
	if s.rule.Packing == policy.PackingSpread {
		return fwk.MaxNodeScore - fill
	}
	return fill
}

// ScoreExtensions returns the plugin itself for NormalizeScore.
func (pl *MLPolicy) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore divides the summed parts by their number, bringing the
// score back into [0, MaxNodeScore] while keeping its absolute meaning (a
// half-full GPU node scores 50 under BinPack whatever the other nodes are).
func (pl *MLPolicy) NormalizeScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if s.score == nil || s.score.parts <= 1 {
		return nil
	}
	for i := range scores {
		scores[i].Score /= s.score.parts
	}
	return nil
}
