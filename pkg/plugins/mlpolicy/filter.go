package mlpolicy

import (
	"context"
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/dynamic-resource-allocation/structured"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/nodeindex"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

const stateKey fwk.StateKey = Name

// cycleState is what PreFilter decided for the pod, read by later points.
type cycleState struct {
	active   *policystore.Active
	messages *messages
	// view is the node index under the same policy, or nil if the index has
	// not caught up with a swap yet (Filter then classifies nodes itself).
	view     *nodeindex.View
	rule     *policy.CompiledRule
	wantsGPU bool
	gpus     int64
	// milliGPU: the pod shares one GPU, asking these thousandths of it
	// through a ResourceClaim (gpus is then 0).
	milliGPU int64
	// inv holds the nodes' DRA GPU devices; draState their use when a
	// point of this cycle reads it (nil: none, or not needed).
	inv      *gpudra.Inventory
	draState *structured.AllocatedState
	// draRead: readDRAUse ran; draByRequests: the nodes' requests count
	// the DRA GPUs in use (no device claim exists).
	draRead, draByRequests bool
	owned                  policy.PoolSet
	score                  *scoreState
	// spill: a CPU pod that cpuSpill lets onto GPU nodes keeping enough per
	// free GPU; shape and workload are then set in PreFilter.
	spill     bool
	shape     fragmentation.Shape
	shapeDone bool
	workload  *fragmentation.Workload
	// refusedInPreFilter: PreFilter refused every node and said why.
	refusedInPreFilter bool
	// refusal: the reason label (metrics.go) of a refusal before any node was judged.
	refusal string
}

// Clone returns the state itself: nothing in it changes after PreFilter.
func (s *cycleState) Clone() fwk.StateData { return s }

func readState(cs fwk.CycleState) (*cycleState, error) {
	d, err := cs.Read(stateKey)
	if err != nil {
		return nil, fmt.Errorf("reading %q from cycle state: %w", stateKey, err)
	}
	s, ok := d.(*cycleState)
	if !ok {
		return nil, fmt.Errorf("%+v cannot be converted to *mlpolicy.cycleState", d)
	}
	return s, nil
}

// confinedShare: a PreFilterResult is returned only when the rule admits at
// most this share of the nodes. Above it, handing the framework a large set
// (which it copies every cycle) costs more than letting Filter refuse the few
// other nodes, and Filter's per-node reasons read better.
const confinedShare = 0.5

// PreFilter matches the pod to a rule once per cycle and, where the rule
// confines the pod to few nodes, returns those nodes from the index.
func (pl *MLPolicy) PreFilter(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, all []fwk.NodeInfo) (*fwk.PreFilterResult, *fwk.Status) {
	if !pl.running.Load() { // a load, not a store, on every later cycle
		pl.running.Store(true)
	}
	a := pl.store.Load()
	if a == nil {
		return nil, fwk.NewStatus(fwk.UnschedulableAndUnresolvable, pl.noPolicy)
	}
	logger := klog.FromContext(ctx)
	s := &cycleState{active: a, rule: a.Policy.Match(pod), inv: pl.gpus}
	s.gpus, s.milliGPU = pl.podAsk(logger, pod, a.Policy)
	s.wantsGPU = s.gpus > 0 || s.milliGPU > 0
	s.owned = a.Policy.OwnedBy(pod.Namespace)
	if m := pl.messages.Load(); m != nil && m.policy == a.Policy {
		s.messages = m
	} else {
		s.messages = newMessages(a)
	}
	if v := pl.index.View(); v != nil && v.Policy == a.Policy {
		s.view = v
	}
	if !s.wantsGPU && a.Policy.CPUSpill {
		// Filter runs in parallel: everything it reads is set here.
		s.spill = true
		s.podShape(pod)
		s.workload = pl.workload(a.Policy)
		pl.readDRAUse(logger, s, pod)
	}
	if s.gpus > 0 && s.milliGPU == 0 {
		// Filter refuses DRA GPU nodes short of free devices (draShort).
		pl.readDRAUse(logger, s, pod)
	}
	cs.Write(stateKey, s)
	if st := pl.checkGang(cs, pod, a, s.rule); st != nil {
		s.refusedInPreFilter, s.refusal = true, RejectGang
		return nil, st
	}

	if !s.needsFilter() {
		return nil, fwk.NewStatus(fwk.Skip)
	}
	// The index follows node events through its own handler, which can run
	// after the scheduler's cache saw a new node: while it knows fewer nodes
	// than the snapshot, Filter alone decides, so no node is left out.
	if s.view == nil || s.view.Len() < len(all) || (!s.rule.Confines() && !s.wantsGPU && !a.Policy.ReserveGPUNodes) {
		return nil, nil
	}
	nodes := s.view.Admitted(s.rule, s.wantsGPU)
	if len(nodes) == 0 {
		// Before refusing outright, judge the snapshot's own node objects:
		// the index may not have caught up with a node event yet, and the
		// event that would requeue the pod has then already passed.
		return nil, s.refuseAll(all)
	}
	if float64(len(nodes)) > confinedShare*float64(s.view.Len()) {
		return nil, nil
	}
	return &fwk.PreFilterResult{NodeNames: nodes}, nil
}

// needsFilter reports whether any node could be refused for this pod.
func (s *cycleState) needsFilter() bool {
	p := s.active.Policy
	return s.rule.Confines() || s.wantsGPU || p.ReserveGPUNodes || !p.OwnedPools.Empty()
}

// PreFilterExtensions returns nil: the decision does not depend on other pods.
func (pl *MLPolicy) PreFilterExtensions() fwk.PreFilterExtensions { return nil }

// Filter refuses nodes the pod's rule, the GPU reservation or pool
// ownership exclude. It allocates only to refuse.
func (pl *MLPolicy) Filter(_ context.Context, cs fwk.CycleState, _ *v1.Pod, nodeInfo fwk.NodeInfo) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.AsStatus(err)
	}
	node := nodeInfo.Node()
	var nc *policy.NodeClass
	if s.view != nil {
		nc = s.view.ClassOf(node)
	}
	if nc == nil { // a node, or a version of it, the index has not seen yet
		nc = s.classOf(node)
	}
	v := s.active.Policy.Admits(s.rule, nc, s.wantsGPU, &s.owned)
	if v != policy.VerdictOK {
		return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, s.messages.reason(v, s.rule))
	}
	if nc.DRA != nil && s.draShort(nodeInfo, nc) {
		// Resolvable: claims are released as pods end.
		return fwk.NewStatus(fwk.Unschedulable, ReasonDRAGPUsInUse)
	}
	if s.spill && nc.GPUs > 0 {
		// Keeping enough for every GPU free keeps enough for those that
		// are: only a node short of that needs its GPUs in use counted.
		f := freeIfNoGPUUsed(nodeInfo, nc)
		if !spillKeeps(s, &f) {
			if f = freeOf(s, nodeInfo, nc); !spillKeeps(s, &f) {
				// Resolvable: the node may free CPU or memory later.
				return fwk.NewStatus(fwk.Unschedulable, ReasonWouldStrand)
			}
		}
	}
	return nil
}

// refuseAll is PreFilter's verdict when the index admits no node: nil (let
// Filter decide) if a snapshot node is admitted after all, else a refusal
// that says what the rule allows and why each node was refused. It walks
// every node, but only for pods that cannot be placed.
func (s *cycleState) refuseAll(all []fwk.NodeInfo) *fwk.Status {
	p := s.active.Policy
	var counts [policy.VerdictWouldStrand + 1]int
	for _, ni := range all {
		nc := p.Classify(ni.Node())
		v := p.Admits(s.rule, &nc, s.wantsGPU, &s.owned)
		if v == policy.VerdictOK {
			return nil
		}
		counts[v]++
	}
	var why []string
	for v := policy.VerdictNotInPool; v <= policy.VerdictWouldStrand; v++ {
		if counts[v] > 0 {
			why = append(why, fmt.Sprintf("%d %s", counts[v], s.messages.reason(v, s.rule)))
		}
	}
	s.refusedInPreFilter = true
	msg := s.explain(0)
	if len(why) > 0 {
		msg += " (" + strings.Join(why, ", ") + ")"
	}
	return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, msg)
}

// PostFilter adds, to a pod no node fits, what its rule allows in policy
// terms; it never makes the pod schedulable itself.
func (pl *MLPolicy) PostFilter(_ context.Context, cs fwk.CycleState, _ *v1.Pod, m fwk.NodeToStatusReader) (*fwk.PostFilterResult, *fwk.Status) {
	s, err := readState(cs)
	pl.recordRejection(s, err, m)
	if err != nil || s.refusedInPreFilter {
		// PreFilter's refusal already says it all.
		return nil, fwk.NewStatus(fwk.Unschedulable)
	}
	return nil, fwk.NewStatus(fwk.Unschedulable, s.explain(s.qualifying()))
}

// explain says which nodes the pod's rule lets it use, how many qualify
// (qualify < 0: not counted), and where the policy lives, so the admin
// knows what to edit. It runs only for pods that cannot be placed.
func (s *cycleState) explain(qualify int) string {
	r, p := s.rule, s.active.Policy
	var where []string
	if len(r.PoolNames) > 0 {
		where = append(where, "in pool "+orList(r.PoolNames))
	}
	if len(r.GPUModels) > 0 {
		where = append(where, "with GPU model "+orList(r.GPUModels))
	}
	switch {
	case s.wantsGPU:
		if s.milliGPU > 0 {
			where = append(where, fmt.Sprintf("with GPUs (it requests %g of one GPU through a ResourceClaim)", float64(s.milliGPU)/fragmentation.MilliPerGPU))
		} else {
			where = append(where, fmt.Sprintf("with GPUs (it requests %d)", s.gpus))
		}
	case p.ReserveGPUNodes && p.CPUSpill:
		where = append(where, "without GPUs, or with GPUs where it leaves each free GPU the CPU and memory a GPU pod needs (it requests none; reserveGPUNodes with cpuSpill)")
	case p.ReserveGPUNodes:
		where = append(where, "without GPUs (it requests none and reserveGPUNodes is on)")
	}
	var othersOwn policy.PoolSet
	for i := range othersOwn {
		othersOwn[i] = p.OwnedPools[i] &^ s.owned[i]
	}
	if !othersOwn.Empty() {
		where = append(where, "outside pools owned by other namespaces")
	}
	nodes := "any node"
	if len(where) > 0 {
		nodes = "nodes " + strings.Join(where, ", ")
	}
	msg := fmt.Sprintf("pod matched rule %s of policy %s (%s), which lets it use %s", r.Name, p.Hash(), s.active.Source, nodes)
	if qualify >= 0 {
		msg += fmt.Sprintf(": %d node(s) qualify", qualify)
	}
	return msg
}

// qualifying counts the nodes of the view the pod may use, with pool
// ownership (which the cached per-rule sets leave to Filter); -1 without a view.
func (s *cycleState) qualifying() int {
	if s.view == nil {
		return -1
	}
	p := s.active.Policy
	return s.view.Count(func(nc *policy.NodeClass) bool {
		return p.Admits(s.rule, nc, s.wantsGPU, &s.owned) == policy.VerdictOK
	})
}
