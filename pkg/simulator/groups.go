package simulator

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/kubernetes"
	"k8s.io/component-base/featuregate"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/features"
)

// Pod groups. A queue pod that names a PodGroup in spec.schedulingGroup is
// replayed with its group: the group arrives at its first pod's place in
// the queue, and its PodGroup and all its pods are created together (the
// scheduler holds a gang's pods until minCount of them are queued, so one
// pod at a time would never schedule). The driver then waits until every
// pod of the group is bound or reported unschedulable.

// step is one arrival of the replay: one pod, or one PodGroup with its pods.
type step struct {
	// pods are queue indexes, in queue order.
	pods []int
	// group is nil for a pod outside any group.
	group *schedulingv1beta1.PodGroup
}

// podGroupName is the PodGroup p names, "" if none.
func podGroupName(p *v1.Pod) string {
	if g := p.Spec.SchedulingGroup; g != nil && g.PodGroupName != nil {
		return *g.PodGroupName
	}
	return ""
}

// groupKey is a PodGroup's namespace/name.
func groupKey(namespace, name string) string {
	if namespace == "" {
		namespace = "default"
	}
	return namespace + "/" + name
}

// replaySteps orders w's queue into arrivals and checks its groups: every
// pod names a PodGroup of the workload, every PodGroup has queue pods (at
// least minCount for a gang), and running pods name none.
func replaySteps(w *Workload) ([]step, error) {
	groups := map[string]*schedulingv1beta1.PodGroup{}
	for _, g := range w.PodGroups {
		k := groupKey(g.Namespace, g.Name)
		if groups[k] != nil {
			return nil, fmt.Errorf("PodGroup %s is listed twice", k)
		}
		groups[k] = g
	}
	for _, p := range w.Running {
		if n := podGroupName(p); n != "" {
			return nil, fmt.Errorf("running pod %s names PodGroup %s: running pods are created bound, outside any group; drop their spec.schedulingGroup",
				keyOf(p), n)
		}
	}
	var steps []step
	at := map[string]int{} // group key → its step
	for i, p := range w.Pods {
		name := podGroupName(p)
		if name == "" {
			steps = append(steps, step{pods: []int{i}})
			continue
		}
		k := groupKey(p.Namespace, name)
		g := groups[k]
		if g == nil {
			return nil, fmt.Errorf("pod %s names PodGroup %s, which the workload does not have", keyOf(p), k)
		}
		if j, ok := at[k]; ok {
			steps[j].pods = append(steps[j].pods, i)
			continue
		}
		at[k] = len(steps)
		steps = append(steps, step{pods: []int{i}, group: g})
	}
	for _, g := range w.PodGroups {
		k := groupKey(g.Namespace, g.Name)
		j, ok := at[k]
		if !ok {
			return nil, fmt.Errorf("PodGroup %s has no pods in the queue", k)
		}
		if gang := g.Spec.SchedulingPolicy.Gang; gang != nil && int(gang.MinCount) > len(steps[j].pods) {
			return nil, fmt.Errorf("PodGroup %s is a gang of minCount %d but only %d queue pods name it: it would never be scheduled",
				k, gang.MinCount, len(steps[j].pods))
		}
	}
	return steps, nil
}

// createStep creates one arrival: the pod, or the PodGroup and then its
// pods, each after the claims created just before it (claimSchedule).
func createStep(ctx context.Context, client kubernetes.Interface, stp step, queue []*v1.Pod, claims map[int][]*resourceapi.ResourceClaim) error {
	if g := stp.group; g != nil {
		g = cleanPodGroup(g)
		if _, err := client.SchedulingV1beta1().PodGroups(g.Namespace).Create(ctx, g, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating PodGroup %s/%s: %w", g.Namespace, g.Name, err)
		}
	}
	for _, i := range stp.pods {
		for _, c := range claims[i] {
			if err := createClaim(ctx, client, c); err != nil {
				return err
			}
		}
		p := queue[i]
		if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating pod %s/%s (#%d): %w", p.Namespace, p.Name, i+1, err)
		}
	}
	return nil
}

// awaitStep waits until the arrival has its outcome (a pod bound or
// reported unschedulable; a group settled, see groupSettled), or timeout
// fires.
func awaitStep(ctx context.Context, timeout <-chan time.Time, stp step, queue []*v1.Pod, states []*podState, t *tracker, d time.Duration, schedulerName string) error {
	if stp.group == nil {
		i := stp.pods[0]
		select {
		case <-states[i].done:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			p := queue[i]
			return fmt.Errorf("pod %s/%s (#%d) was neither bound nor reported unschedulable within %s: is a scheduler serving schedulerName %q running?",
				p.Namespace, p.Name, i+1, d, schedulerName)
		}
	}
	members := make([]*podState, len(stp.pods))
	for j, i := range stp.pods {
		members[j] = states[i]
	}
	minCount := minCountOf(stp.group)
	for {
		t.mu.Lock()
		settled, bound, reported := groupSettled(members, minCount)
		changed := t.changed
		if settled {
			// A pod reported in an attempt that the group then passed is
			// bound: its report was not the group's outcome.
			for _, st := range members {
				if st.node != "" {
					st.unschedulable, st.message = false, ""
				}
			}
		}
		t.mu.Unlock()
		if settled {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		case <-timeout:
			return fmt.Errorf("PodGroup %s (pods #%d to #%d of the queue) did not settle within %s: %d of its %d pods bound (minCount %d), %d reported unschedulable; "+
				"is a scheduler serving schedulerName %q running, with the GenericWorkload feature gate on?",
				groupKey(stp.group.Namespace, stp.group.Name), stp.pods[0]+1, stp.pods[len(stp.pods)-1]+1, d, bound, len(members), minCount, reported, schedulerName)
		}
	}
}

// groupSettled tells whether a group has its outcome: every pod bound or
// reported unschedulable, and either none bound (the group waits) or at
// least minCount (it is placed; the others failed on their own). Fewer
// than minCount bound is a gang between Permit and its last binding.
//
// So a report alone does not settle a group: the scheduler may attempt a
// group before all its pods are in its queue (its event handler counts a
// pod as the group's member before queueing it, so an event handled by
// another informer in between can let a gang pass PreEnqueue one pod
// short; seen under load), and then reports the pods it had
// unschedulable while the late one waits for the group's next attempt.
// Waiting for every pod to have an outcome skips that attempt.
func groupSettled(members []*podState, minCount int) (settled bool, bound, reported int) {
	for _, st := range members {
		switch {
		case st.node != "":
			bound++
		case st.unschedulable:
			reported++
		}
	}
	if bound+reported < len(members) {
		return false, bound, reported
	}
	return bound == 0 || bound >= minCount, bound, reported
}

// broadcast wakes whoever waits on t.changed; t.mu is held.
func (t *tracker) broadcast() {
	close(t.changed)
	t.changed = make(chan struct{})
}

// cleanPodGroup copies g without what the API server sets.
func cleanPodGroup(g *schedulingv1beta1.PodGroup) *schedulingv1beta1.PodGroup {
	g = g.DeepCopy()
	if g.Namespace == "" {
		g.Namespace = "default"
	}
	g.ResourceVersion, g.UID, g.ManagedFields, g.Generation = "", "", nil, 0
	g.Status = schedulingv1beta1.PodGroupStatus{}
	return g
}

// workloadGates are the feature gates an in-process replay of PodGroups
// turns on: the scheduler queues and schedules a group as one entity only
// under GenericWorkload, and generates and scores placements (topology
// constraints, MLPolicy's domains) only under TopologyAwareWorkloadScheduling.
var workloadGates = map[string]bool{
	string(features.GenericWorkload):                 true,
	string(features.TopologyAwareWorkloadScheduling): true,
}

// gateMu serialises runs that change the process-wide feature gate against
// every other in-process run: a run with PodGroups holds it exclusively,
// the others share it.
var gateMu sync.RWMutex

// withWorkloadGates prepares the process-wide feature gate for an
// in-process run, before its scheduler configuration is defaulted (with
// the gates on, defaulting adds GangScheduling, TopologyPlacementGenerator
// and PodGroupPodsCount to every profile) and for as long as its scheduler
// runs (the scheduler reads the gate at run time too). kube-scheduler's
// code reads only utilfeature.DefaultFeatureGate, so there is no per-run
// gate: with groups, the gates are turned on and the previous values
// restored by release; without, the gate is left as the process set it.
// Either way the run holds gateMu until release, so a process runs one
// gate configuration at a time.
func withWorkloadGates(ctx context.Context, groups bool) (release func(), err error) {
	if !groups {
		gateMu.RLock()
		return gateMu.RUnlock, nil
	}
	gateMu.Lock()
	logger := klog.FromContext(ctx)
	prev := map[string]bool{}
	for name := range workloadGates {
		prev[name] = utilfeature.DefaultFeatureGate.Enabled(featuregate.Feature(name))
	}
	if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(workloadGates); err != nil {
		gateMu.Unlock()
		return nil, fmt.Errorf("turning on the feature gates of pod groups: %w", err)
	}
	logger.V(2).Info("Feature gates on for a replay with pod groups", "gates", workloadGates, "previous", prev)
	return func() {
		defer gateMu.Unlock()
		if err := utilfeature.DefaultMutableFeatureGate.SetFromMap(prev); err != nil {
			logger.Error(err, "Restoring the feature gates after a replay with pod groups", "gates", prev)
		}
	}, nil
}
