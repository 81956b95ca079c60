package mlpolicy

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// ScoreParts are MLPolicy's score parts on one node, as kubectl mlsched
// explain shows them: each in [0, MaxScore], nil when the part is off
// for the pod. The plugin's (unweighted) score is their sum over the number
// of parts that are on.
type ScoreParts struct {
	Node                            string
	Packing, Preference, Colocation *int64
}

// ExplainScore splits the plugin's score of each node into its parts, by
// running Score and NormalizeScore with one part on at a time: the parts are
// what Score itself computes. It must run after PreScore on cs; it returns
// nil when PreScore turned Score off for the pod (no part applies).
func (pl *MLPolicy) ExplainScore(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodes []fwk.NodeInfo) ([]ScoreParts, error) {
	s, err := readState(cs)
	if err != nil || s.score == nil {
		return nil, nil
	}
	out := make([]ScoreParts, len(nodes))
	for i, ni := range nodes {
		out[i].Node = ni.Node().Name
	}
	one := func(set func(*ScoreParts, int64), keep func(ss *scoreState)) error {
		ss := *s.score
		ss.packing, ss.frag, ss.preferred, ss.domainCount = false, false, false, nil
		keep(&ss)
		ss.parts = 1
		c := *s
		c.score = &ss
		state := cs.Clone()
		state.Write(stateKey, &c)
		scores := make(fwk.NodeScoreList, len(nodes))
		for i, ni := range nodes {
			v, st := pl.Score(ctx, state, pod, ni)
			if !st.IsSuccess() {
				return fmt.Errorf("%s Score on node %s: %w", Name, ni.Node().Name, st.AsError())
			}
			scores[i] = fwk.NodeScore{Name: ni.Node().Name, Score: v}
		}
		if st := pl.NormalizeScore(ctx, state, pod, scores); !st.IsSuccess() {
			return fmt.Errorf("%s NormalizeScore: %w", Name, st.AsError())
		}
		for i := range scores {
			set(&out[i], scores[i].Score)
		}
		return nil
	}
	ss := s.score
	if ss.packing {
		if err := one(func(p *ScoreParts, v int64) { p.Packing = &v },
			func(o *scoreState) { o.packing, o.frag = true, ss.frag }); err != nil {
			return nil, err
		}
	}
	if ss.preferred {
		if err := one(func(p *ScoreParts, v int64) { p.Preference = &v },
			func(o *scoreState) { o.preferred = true }); err != nil {
			return nil, err
		}
	}
	if ss.domainCount != nil {
		if err := one(func(p *ScoreParts, v int64) { p.Colocation = &v },
			func(o *scoreState) { o.domainCount = ss.domainCount }); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// PackingMode is the packing of the rule the cycle state's pod matched
// ("" when it has none, or PreFilter did not run).
func PackingMode(cs fwk.CycleState) policy.PackingMode {
	s, err := readState(cs)
	if err != nil {
		return ""
	}
	return s.rule.Packing
}

// VerdictReason is the reason Filter gives for verdict v of rule r under
// policy p, word for word.
func VerdictReason(p *policy.Compiled, r *policy.CompiledRule, v policy.Verdict) string {
	return newMessages(&policystore.Active{Policy: p}).reason(v, r)
}
