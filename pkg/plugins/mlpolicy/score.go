package mlpolicy

import (
	"context"

	v1 "k8s.io/api/core/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// scoreState is what PreScore computed for Score.
type scoreState struct {
	// packing: the rule packs (BinPack, Spread or, with frag, MinFragmentation).
	packing  bool
	frag     bool
	shape    fragmentation.Shape
	workload *fragmentation.Workload
	// pressure, when the pod may choose among GPU models, is how much the
	// pods restricted to some models need each model (Workload.Pressure).
	pressure  *[fragmentation.MaxModels]float64
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
func (pl *MLPolicy) PreScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, _ []fwk.NodeInfo) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		// PreFilter did not run for this pod (e.g. no policy): nothing to score.
		return fwk.NewStatus(fwk.Skip)
	}
	r := s.rule
	ss := &scoreState{
		packing:   r.Packing != "",
		frag:      r.Packing == policy.PackingMinFragmentation,
		preferred: r.PreferredSum > 0,
	}
	if ss.packing {
		ss.shape = s.podShape(pod)
		ss.workload = pl.workload(s.active.Policy)
		pl.readDRAUse(klog.FromContext(ctx), s, pod)
		if ss.frag && ss.shape.WantsGPU() && !singleModel(ss.shape.Models) && ss.workload.Restricted() {
			s.score = ss
			if err := pl.modelPressure(s); err != nil {
				return fwk.AsStatus(err)
			}
		}
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

// countJob counts the job's placed pods (bound, or assumed by this
// scheduler) per topology domain over all nodes (not only feasible ones: a
// full node still anchors its domain). The job index yields the job's pods
// alone, so the cost is the job's pod count, not the cluster's; a pod on a
// node missing from the snapshot or without the topology label counts in
// no domain.
func (pl *MLPolicy) countJob(namespace string, c *policy.Colocation, job string, ss *scoreState) error {
	nodes := pl.handle.SnapshotSharedLister().NodeInfos()
	ss.topologyKey = c.TopologyKey
	ss.domainCount = map[string]int64{}
	err := pl.jobs.eachNode(namespace, c.JobLabel, job, func(node string) {
		ni, err := nodes.Get(node)
		if err != nil {
			return
		}
		if domain, ok := ni.Node().Labels[c.TopologyKey]; ok {
			ss.domainCount[domain]++
		}
	})
	if err != nil {
		return err
	}
	for _, n := range ss.domainCount {
		if n > ss.maxCount {
			ss.maxCount = n
		}
	}
	return nil
}

// Score sums the active parts, each in [0, MaxScore]:
//   - packing (packing.go): BinPack, the node's GPU, CPU and memory
//     allocation after placing the pod (fuller is better), Spread its
//     reverse, MinFragmentation a key NormalizeScore rescales;
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
	var nc *policy.NodeClass
	if ss.packing || ss.preferred {
		nc = s.classOf(node)
	}
	if ss.packing {
		// The class tells a node without GPUs, whose GPU resources are then
		// not looked up (a CPU-node profile of 5000 nodes paid more for those
		// per-node map reads than for the class lookup).
		f := freeOf(s, nodeInfo, nc)
		if ss.frag {
			total += fragKey(s, &f) << fragShift
		} else {
			total += packingScore(s, &f)
		}
	}
	if ss.preferred {
		// The class holds the node's preference matches: matching the
		// selectors here was, at 15,000 nodes, half of MLPolicy's time.
		total += s.rule.PreferredWeight(nc, node.Labels) * fwk.MaxScore / s.rule.PreferredSum
	}
	if ss.domainCount != nil && ss.maxCount > 0 {
		if d, ok := node.Labels[ss.topologyKey]; ok {
			total += ss.domainCount[d] * fwk.MaxScore / ss.maxCount
		}
	}
	return total, nil
}

// ScoreExtensions returns the plugin itself for NormalizeScore.
func (pl *MLPolicy) ScoreExtensions() fwk.ScoreExtensions { return pl }

// NormalizeScore rescales the MinFragmentation key over the scored nodes
// (FGD picks the node of least fragmentation growth, whatever its absolute
// value) and divides the summed parts by their number, bringing the score
// back into [0, MaxScore]; the other parts keep their absolute meaning
// (a half-full node scores 50 under BinPack whatever the other nodes are).
func (pl *MLPolicy) NormalizeScore(_ context.Context, cs fwk.CycleState, _ *v1.Pod, scores fwk.NodeScoreList) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	if s.score == nil {
		return nil
	}
	if s.score.frag {
		normalizeFragmentation(scores)
	}
	if s.score.parts <= 1 {
		return nil
	}
	for i := range scores {
		scores[i].Score /= s.score.parts
	}
	return nil
}
