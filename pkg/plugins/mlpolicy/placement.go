package mlpolicy

import (
	"context"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Gangs: MLPolicy is the profile's placement generator (it replaces
// TopologyPlacementGenerator, which the profile must disable: a profile has
// at most one). A gang whose PodGroup states a topology constraint is placed
// within one domain of that label, as upstream does; one that states none
// gets its rule's gang.topologyKey. Domains that cannot hold the gang by
// free resources alone are not simulated, and when none can, the gang waits
// with a message naming the best one. PlacementScore then prefers the
// domain the gang fills most (partly used domains first, whole ones kept).

var (
	_ fwk.PlacementGeneratePlugin  = &MLPolicy{}
	_ fwk.PlacementScorePlugin     = &MLPolicy{}
	_ fwk.PlacementScoreExtensions = &MLPolicy{}
)

// placementStateKey holds, in the pod group's cycle state, what
// GeneratePlacements decided, for ScorePlacement.
const placementStateKey fwk.StateKey = Name + "/placements"

type generated struct {
	// fallback is the placement over all domains a Preferred gang may take
	// when no single domain holds it; it scores lowest.
	fallback *fwk.Placement
	// gpu: the gang asks GPUs, and domains are filled by GPUs, else by CPU.
	gpu bool
}

func (g *generated) Clone() fwk.StateData { return g }

// domainTopology is the label a group's pods are kept within, and whether that is required.
func domainTopology(pg fwk.PodGroupInfo, r *policy.CompiledRule) (key string, required bool) {
	if p := pg.GetPodGroup(); p != nil && p.Spec.SchedulingConstraints != nil {
		for _, t := range p.Spec.SchedulingConstraints.Topology {
			if t.Key != "" {
				return t.Key, true
			}
		}
	}
	if r != nil && r.Gang != nil {
		return r.Gang.TopologyKey, r.Gang.TopologyRequired
	}
	return "", false
}

// GeneratePlacements returns one placement per domain that could hold the
// group, or parent when the group is not kept within a domain.
func (pl *MLPolicy) GeneratePlacements(_ context.Context, state fwk.PodGroupCycleState, pg fwk.PodGroupInfo, parent *fwk.Placement) (*fwk.GeneratePlacementsResult, *fwk.Status) {
	pods := pg.GetUnscheduledPods()
	a := pl.store.Load()
	var rule *policy.CompiledRule
	if a != nil && len(pods) > 0 {
		rule = a.Policy.Match(pods[0])
		s := pl.sameRule(a, pg.GetNamespace(), pg.GetName(), pods[0], rule)
		// The group's pods' PreFilter reads this verdict instead of matching again.
		state.Write(gangStateKey, &gangVerdict{status: s})
		if s != nil {
			return nil, s
		}
	}
	key, required := domainTopology(pg, rule)
	if key == "" || len(pods) == 0 {
		return &fwk.GeneratePlacementsResult{Placements: []*fwk.Placement{parent}}, nil
	}
	gpuRes := []v1.ResourceName{}
	if a != nil {
		gpuRes = a.Policy.GPUResources
	}
	d := newDomains(key, parent.Nodes)
	placed := pl.placedDomains(pg, key)
	switch {
	case len(placed) > 1 && required:
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
			"pods of PodGroup %s/%s already run in %d %s domains, and must be within one", pg.GetNamespace(), pg.GetName(), len(placed), key))
	case len(placed) == 1:
		d.keepOnly(placed[0])
	case len(placed) > 1: // preferred, already spread: anywhere
		return &fwk.GeneratePlacementsResult{Placements: []*fwk.Placement{parent}}, nil
	}
	need := len(pods)
	if g := pg.GetPodGroup(); g != nil && g.Spec.SchedulingPolicy.Gang != nil {
		st := 0
		if ps := pl.podGroupState(pg); ps != nil {
			st = ps.ScheduledPodsCount()
		}
		need = min(need, max(int(g.Spec.SchedulingPolicy.Gang.MinCount)-st, 1))
	}
	shape := smallestAsk(pods, gpuRes)
	gen := &generated{gpu: shape.gpus > 0}
	var out []*fwk.Placement
	best, bestRoom := "", -1
	for _, name := range d.names() {
		room := d.room(name, &shape)
		if room > bestRoom {
			best, bestRoom = name, room
		}
		if room >= need {
			out = append(out, &fwk.Placement{Name: name, Nodes: d.nodes[name]})
		}
	}
	if !required {
		gen.fallback = parent
		out = append(out, parent)
	}
	if len(out) == 0 {
		// Unresolvable, so preemption is not tried: the PodGroupPostFilter
		// plugins (DefaultPreemption, DynamicResources) expect the pods'
		// PreFilter state, which no placement simulation has written. The
		// gang is retried when pods leave or nodes change (EventsToRegister).
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, waitingMessage(pg, key, need, largestAsk(pods, gpuRes), d, best, bestRoom))
	}
	state.Write(placementStateKey, gen)
	return &fwk.GeneratePlacementsResult{Placements: out}, nil
}

func (pl *MLPolicy) podGroupState(pg fwk.PodGroupInfo) fwk.PodGroupState {
	l := pl.handle.SnapshotSharedLister()
	if l == nil || l.PodGroupStates() == nil {
		return nil
	}
	st, err := l.PodGroupStates().Get(pg.GetNamespace(), pg.GetName())
	if err != nil {
		return nil
	}
	return st
}

// placedDomains are the domains of the group's pods already placed.
func (pl *MLPolicy) placedDomains(pg fwk.PodGroupInfo, key string) []string {
	st := pl.podGroupState(pg)
	if st == nil {
		return nil
	}
	seen := map[string]bool{}
	var out []string
	for _, p := range st.ScheduledPods() {
		if p.Spec.NodeName == "" {
			continue
		}
		ni, err := pl.handle.SnapshotSharedLister().NodeInfos().Get(p.Spec.NodeName)
		if err != nil || ni.Node() == nil {
			continue
		}
		if v, ok := ni.Node().Labels[key]; ok && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

// waitingMessage says, in policy terms, what the gang needs and the best
// domain found: "needs 8 pods × 8 GPUs within one rack; best rack r-3 has
// room for 6 of them".
func waitingMessage(pg fwk.PodGroupInfo, key string, need int, ask podAsk, d *domains, best string, room int) string {
	what := fmt.Sprintf("%d pods × %s", need, ask)
	if len(d.nodes) == 0 {
		return fmt.Sprintf("PodGroup %s/%s needs %s within one %s, and no node has the label %s",
			pg.GetNamespace(), pg.GetName(), what, key, key)
	}
	return fmt.Sprintf("PodGroup %s/%s needs %s within one %s; best %s %q has room for %d of them (%d %s domains checked)",
		pg.GetNamespace(), pg.GetName(), what, key, key, best, max(room, 0), len(d.nodes), key)
}

// ScorePlacement prefers the domain the gang leaves fullest: used GPUs (CPU
// for gangs without GPUs) after the gang, over the domain's, in [1, 100];
// the all-domains fallback of a Preferred gang scores 0.
func (pl *MLPolicy) ScorePlacement(_ context.Context, state fwk.PlacementCycleState, _ fwk.PodGroupInfo, p *fwk.PodGroupAssignments) (int64, *fwk.Status) {
	gen := &generated{}
	if gs := state.GetPodGroupSchedulingCycle(); gs != nil {
		if d, err := gs.Read(placementStateKey); err == nil {
			if g, ok := d.(*generated); ok {
				gen = g
			}
		}
	}
	if p.Placement == nil || p.Placement == gen.fallback {
		return 0, nil
	}
	a := pl.store.Load()
	var gpuRes []v1.ResourceName
	if a != nil {
		gpuRes = a.Policy.GPUResources
	}
	var used, capacity int64
	for _, ni := range p.Nodes {
		if gen.gpu {
			alloc, req := ni.GetAllocatable().GetScalarResources(), ni.GetRequested().GetScalarResources()
			for _, r := range gpuRes {
				capacity += alloc[r]
				used += req[r]
			}
		} else {
			capacity += ni.GetAllocatable().GetMilliCPU()
			used += ni.GetRequested().GetMilliCPU()
		}
	}
	for _, pa := range p.ProposedAssignments {
		ask := podAskOf(pa.GetPod(), gpuRes)
		if gen.gpu {
			used += ask.gpus
		} else {
			used += ask.milliCPU
		}
	}
	if capacity <= 0 {
		return 1, nil
	}
	return 1 + min(used, capacity)*(fwk.MaxScore-1)/capacity, nil
}

// PlacementScoreExtensions returns the plugin: scores are already in [0, MaxScore].
func (pl *MLPolicy) PlacementScoreExtensions() fwk.PlacementScoreExtensions { return pl }

// NormalizePlacementScore leaves the scores as they are.
func (pl *MLPolicy) NormalizePlacementScore(context.Context, fwk.PodGroupCycleState, fwk.PodGroupInfo, []fwk.PlacementScore) *fwk.Status {
	return nil
}
