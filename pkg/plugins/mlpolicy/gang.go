package mlpolicy

import (
	"fmt"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// gangStateKey holds, in a pod group's cycle state, the verdict on the
// group's rules, so the group's pods are matched once per group cycle, not
// once per pod.
const gangStateKey fwk.StateKey = Name + "/gang"

// gangVerdict is what every pod of one group cycle shares.
type gangVerdict struct {
	// status is nil when all the group's pods match the same rule.
	status *fwk.Status
}

func (g *gangVerdict) Clone() fwk.StateData { return g }

// podGroupName is the PodGroup the pod names in spec.schedulingGroup, "" if none.
func podGroupName(pod *v1.Pod) string {
	if g := pod.Spec.SchedulingGroup; g != nil && g.PodGroupName != nil {
		return *g.PodGroupName
	}
	return ""
}

// podGroupOf returns the pod's PodGroup from the scheduler's snapshot: nil
// when the pod names none, or when the scheduler does not serve PodGroups
// (the GenericWorkload gate is off) or has not seen it yet.
func (pl *MLPolicy) podGroupOf(pod *v1.Pod) *schedulingv1beta1.PodGroup {
	name := podGroupName(pod)
	if name == "" {
		return nil
	}
	l := pl.handle.SnapshotSharedLister()
	if l == nil || l.PodGroups() == nil {
		return nil
	}
	pg, err := l.PodGroups().Get(pod.Namespace, name)
	if err != nil {
		return nil
	}
	return pg
}

// checkGang is PreFilter's gang check: a rule that requires gangs refuses
// a pod outside a gang PodGroup, and a group whose pods match different
// rules is refused (each rule's confinement and packing would pull its pods
// elsewhere, and the group would never be placed whole).
func (pl *MLPolicy) checkGang(cs fwk.CycleState, pod *v1.Pod, a *policystore.Active, r *policy.CompiledRule) *fwk.Status {
	if r.Gang != nil && r.Gang.Required {
		pg := pl.podGroupOf(pod)
		switch {
		case podGroupName(pod) == "":
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
				"rule %q requires its pods to come as a gang: spec.schedulingGroup.podGroupName must name a PodGroup with schedulingPolicy.gang", r.Name))
		case pg == nil:
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
				"rule %q requires its pods to come as a gang: PodGroup %s/%s is not known to the scheduler (is the scheduling.k8s.io/v1beta1 API enabled?)",
				r.Name, pod.Namespace, podGroupName(pod)))
		case pg.Spec.SchedulingPolicy.Gang == nil:
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
				"rule %q requires its pods to come as a gang: PodGroup %s/%s has no schedulingPolicy.gang", r.Name, pod.Namespace, pg.Name))
		}
	}
	if !cs.IsPodGroupSchedulingCycle() {
		// One pod at a time (the group's API is off): nothing to compare with.
		return nil
	}
	gcs := cs.GetPodGroupSchedulingCycle()
	if d, err := gcs.Read(gangStateKey); err == nil {
		if v, ok := d.(*gangVerdict); ok {
			return v.status
		}
	}
	v := &gangVerdict{status: pl.sameRule(a, pod.Namespace, podGroupName(pod), pod, r)}
	gcs.Write(gangStateKey, v)
	return v.status
}

// sameRule refuses a group whose pods (placed or waiting) match rules other
// than r, the rule of its pod first.
func (pl *MLPolicy) sameRule(a *policystore.Active, namespace, group string, first *v1.Pod, r *policy.CompiledRule) *fwk.Status {
	l := pl.handle.SnapshotSharedLister()
	if l == nil || l.PodGroupStates() == nil {
		return nil
	}
	st, err := l.PodGroupStates().Get(namespace, group)
	if err != nil {
		return nil
	}
	other := func(p *v1.Pod) *fwk.Status {
		if o := a.Policy.Match(p); o != r {
			return fwk.NewStatus(fwk.UnschedulableAndUnresolvable, fmt.Sprintf(
				"the pods of PodGroup %s/%s match different rules: %s matches %q, %s matches %q; a gang's pods must all match one rule",
				namespace, group, first.Name, r.Name, p.Name, o.Name))
		}
		return nil
	}
	for _, p := range st.UnscheduledPods() {
		if s := other(p); s != nil {
			return s
		}
	}
	for _, p := range st.ScheduledPods() {
		if s := other(p); s != nil {
			return s
		}
	}
	return nil
}
