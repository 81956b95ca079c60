package mlpolicy

import (
	"context"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// EventsToRegister: a pod refused by the policy can only be helped by a node
// that appears or whose labels or allocatable change. A policy swap is not a
// cluster event; onSwap re-activates pending pods itself.
func (pl *MLPolicy) EventsToRegister(_ context.Context) ([]fwk.ClusterEventWithHint, error) {
	return []fwk.ClusterEventWithHint{
		{
			Event:          fwk.ClusterEvent{Resource: fwk.Node, ActionType: fwk.Add | fwk.UpdateNodeLabel | fwk.UpdateNodeAllocatable},
			QueueingHintFn: pl.isSchedulableAfterNodeChange,
		},
		// cpuSpill refuses a GPU node on its free CPU and memory: a pod
		// leaving it may make room.
		{
			Event:          fwk.ClusterEvent{Resource: fwk.Pod, ActionType: fwk.Delete},
			QueueingHintFn: pl.isSchedulableAfterPodDelete,
		},
		// A node that publishes GPU devices is a GPU node: a GPU pod refused
		// there for want of GPUs may now be admitted.
		{
			Event:          fwk.ClusterEvent{Resource: fwk.ResourceSlice, ActionType: fwk.Add | fwk.Update},
			QueueingHintFn: pl.isSchedulableAfterSliceChange,
		},
		// A claim of the pod's own got deleted (see isSchedulableAfterOwnClaimDelete).
		{
			Event:          fwk.ClusterEvent{Resource: fwk.ResourceClaim, ActionType: fwk.Delete},
			QueueingHintFn: pl.isSchedulableAfterOwnClaimDelete,
		},
	}, nil
}

// isSchedulableAfterOwnClaimDelete queues a pod when a ResourceClaim it
// owns is deleted. The case it is for: a replica lost its lease in the
// middle of binding a pod whose nvidia.com/gpu is served by DRA, after it
// had created the pod's extended-resource claim and before it allocated
// it. The next leader's DynamicResources PostFilter deletes that claim and
// reports the pod unschedulable ("deletion of ResourceClaim completed"),
// but DynamicResources' own hint skips the deletion of a claim with no
// allocation (kube-scheduler v1.37.2), so the pod waited for the
// unschedulable queue's 5-minute flush: the fault suite saw it after a
// 20 s freeze of kube-apiserver. MLPolicy's hint applies when MLPolicy is
// among the plugins that refused the pod (for a GPU pod, any node outside
// its rule's pools or without GPUs).
func (pl *MLPolicy) isSchedulableAfterOwnClaimDelete(logger klog.Logger, pod *v1.Pod, oldObj, _ interface{}) (fwk.QueueingHint, error) {
	if tomb, ok := oldObj.(cache.DeletedFinalStateUnknown); ok {
		oldObj = tomb.Obj
	}
	claim, ok := oldObj.(*resourceapi.ResourceClaim)
	if !ok || claim.Namespace != pod.Namespace {
		return fwk.QueueSkip, nil
	}
	for _, ref := range claim.OwnerReferences {
		if ref.UID == pod.UID {
			logger.V(5).Info("A claim the pod owns was deleted: retrying it", "pod", klog.KObj(pod), "claim", klog.KObj(claim))
			return fwk.Queue, nil
		}
	}
	return fwk.QueueSkip, nil
}

// isSchedulableAfterSliceChange queues a GPU pod when a slice of the GPU
// driver changes, once the inventory holds the change.
func (pl *MLPolicy) isSchedulableAfterSliceChange(logger klog.Logger, pod *v1.Pod, _, newObj interface{}) (fwk.QueueingHint, error) {
	s, ok := newObj.(*resourceapi.ResourceSlice)
	if !ok {
		return fwk.Queue, nil
	}
	a := pl.store.Load()
	if a == nil || s.Spec.Driver != a.Policy.DRA.Driver {
		return fwk.QueueSkip, nil
	}
	if gpus, milli := pl.podAsk(logger, pod, a.Policy); gpus == 0 && milli == 0 {
		return fwk.QueueSkip, nil
	}
	pl.gpus.Upsert(s)
	logger.V(5).Info("GPU devices published: the GPU pod may now be admitted", "pod", klog.KObj(pod), "slice", klog.KObj(s))
	return fwk.Queue, nil
}

// isSchedulableAfterNodeChange queues the pod when the changed node is
// admitted by the pod's rule under the policy in force and was not before.
func (pl *MLPolicy) isSchedulableAfterNodeChange(logger klog.Logger, pod *v1.Pod, oldObj, newObj interface{}) (fwk.QueueingHint, error) {
	newNode, ok := newObj.(*v1.Node)
	if !ok {
		return fwk.Queue, nil
	}
	a := pl.store.Load()
	if a == nil {
		return fwk.QueueSkip, nil
	}
	p := a.Policy
	rule := p.Match(pod)
	gpus, milli := pl.podAsk(logger, pod, p)
	wantsGPU := gpus > 0 || milli > 0
	owned := p.OwnedBy(pod.Namespace)
	nc := pl.classify(p, newNode)
	if p.Admits(rule, &nc, wantsGPU, &owned) != policy.VerdictOK {
		logger.V(5).Info("Node change does not admit the pod under its rule", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "rule", rule.Name)
		return fwk.QueueSkip, nil
	}
	if oldNode, ok := oldObj.(*v1.Node); ok && oldNode != nil && podGroupName(pod) == "" {
		// (A gang's pods wait for room in a domain: any admitted node that
		// appears or grows may give it, so they are queued.)
		oc := pl.classify(p, oldNode)
		if p.Admits(rule, &oc, wantsGPU, &owned) == policy.VerdictOK {
			// Admitted before too: the change is not what this plugin refused.
			return fwk.QueueSkip, nil
		}
	}
	// The pod is retried as soon as this returns: the index must hold this
	// node state by then, or PreFilter would judge the pod on the old one.
	oldNode, _ := oldObj.(*v1.Node)
	pl.index.UpsertNodeFrom(oldNode, newNode)
	logger.V(4).Info("Node now admits the pod under its rule", "pod", klog.KObj(pod), "node", klog.KObj(newNode), "rule", rule.Name)
	return fwk.Queue, nil
}

// isSchedulableAfterPodDelete queues, when an assigned pod leaves, a pod
// of a PodGroup (its gang waits for room in one domain) and, under a policy
// with cpuSpill, a CPU pod: only those refusals depend on other pods.
func (pl *MLPolicy) isSchedulableAfterPodDelete(logger klog.Logger, pod *v1.Pod, oldObj, _ interface{}) (fwk.QueueingHint, error) {
	gone, ok := oldObj.(*v1.Pod)
	if !ok || gone.Spec.NodeName == "" {
		return fwk.QueueSkip, nil
	}
	if podGroupName(pod) != "" {
		logger.V(5).Info("Assigned pod deleted: a domain may now hold the gang", "pod", klog.KObj(pod), "deleted", klog.KObj(gone))
		return fwk.Queue, nil
	}
	a := pl.store.Load()
	if a == nil || !a.Policy.CPUSpill {
		return fwk.QueueSkip, nil
	}
	if gpus, milli := pl.podAsk(logger, pod, a.Policy); gpus > 0 || milli > 0 {
		return fwk.QueueSkip, nil
	}
	logger.V(5).Info("Assigned pod deleted: a GPU node may keep enough for spilling", "pod", klog.KObj(pod), "deleted", klog.KObj(gone))
	return fwk.Queue, nil
}

// signKey names our fragment of the pod signature used for batching.
const signKey = "ml-scheduler.io/MLPolicy.rule()"

// SignPod: the decision depends on the matched rule, the policy generation
// (so no batched result outlives its policy), the namespace (pool ownership)
// and the GPU request (reservation, packing). Pods whose rule colocates a
// job depend on where other pods were placed, so they are not batched.
func (pl *MLPolicy) SignPod(_ context.Context, pod *v1.Pod) ([]fwk.SignFragment, *fwk.Status) {
	a := pl.store.Load()
	if a == nil {
		return nil, fwk.NewStatus(fwk.Unschedulable, "no placement policy")
	}
	rule := a.Policy.Match(pod)
	if rule.Colocate != nil {
		return nil, fwk.NewStatus(fwk.Unschedulable, "rule colocates a job's pods")
	}
	sig := signature{
		Generation: a.Generation,
		Rule:       rule.Index,
		Namespace:  pod.Namespace,
		GPUs:       a.Policy.PodGPURequest(pod),
	}
	if a.Policy.Fragmentation || a.Policy.CPUSpill {
		// Scores and spill decisions follow the learned workload.
		sig.Workload = pl.workload(a.Policy).Generation
	}
	return []fwk.SignFragment{{Key: signKey, Value: sig}}, nil
}

type signature struct {
	Generation int64
	Rule       int
	Namespace  string
	GPUs       int64
	Workload   int64
}

// PostBind counts the pod under its rule (metrics.go) and records which rule
// placed it, as an Event on the pod, when the placementEvents arg asks for
// it (the pod's annotations say it anyway).
func (pl *MLPolicy) PostBind(_ context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) {
	recordPlaced(cs)
	if !pl.placementEvents {
		return
	}
	s, err := readState(cs)
	if err != nil {
		return
	}
	pl.handle.EventRecorder().Eventf(pod, nil, v1.EventTypeNormal, ReasonPlaced, "Scheduling",
		"Placed on %s by rule %s of placement policy %s (generation %d)", nodeName, s.rule.Name, s.active.Policy.Hash(), s.active.Generation)
}

// ReasonPlaced is the reason of the Event naming the rule that placed a pod.
const ReasonPlaced = "PlacedByRule"
