package simulator

import (
	"sync"

	v1 "k8s.io/api/core/v1"
)

// The driver follows each workload pod through the pod informer.

// podState is what the driver knows of one pod of the workload.
type podState struct {
	// gpus is what the pod asks, in thousandths of a GPU.
	gpus int64
	// node is set once the pod is seen bound.
	node string
	// unschedulable is set when the scheduler first reports the pod
	// unschedulable (PodScheduled=False, reason Unschedulable).
	unschedulable bool
	message       string
	// done is closed on the first outcome: bound or unschedulable.
	done   chan struct{}
	closed bool
	// group: the pod names a PodGroup (its outcome is its group's, see
	// groupSettled); message is then the latest report's.
	group bool
}

func (st *podState) signal() {
	if !st.closed {
		st.closed = true
		close(st.done)
	}
}

// tracker follows the workload's pods through a pod informer.
type tracker struct {
	gpus *gpuCounter
	mu   sync.Mutex
	pods map[string]*podState
	// allocated is the GPUs (in thousandths) of the pods seen bound so far.
	allocated int64
	// changed is closed, and replaced, whenever a pod is seen bound or
	// reported unschedulable.
	changed chan struct{}
}

func (t *tracker) add(p *v1.Pod) *podState {
	st := &podState{gpus: t.gpus.podMilli(p), done: make(chan struct{}), group: podGroupName(p) != ""}
	t.mu.Lock()
	t.pods[keyOf(p)] = st
	t.mu.Unlock()
	return st
}

func (t *tracker) observe(obj interface{}) {
	p, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	st := t.pods[keyOf(p)]
	if st == nil || st.node != "" {
		return
	}
	if p.Spec.NodeName != "" {
		st.node = p.Spec.NodeName
		t.allocated += st.gpus
		st.signal()
		t.broadcast()
		return
	}
	if st.unschedulable && !st.group {
		return
	}
	for _, c := range p.Status.Conditions {
		// Other reasons (SchedulerError) are retried by the scheduler: keep waiting.
		if c.Type == v1.PodScheduled && c.Status == v1.ConditionFalse && c.Reason == v1.PodReasonUnschedulable {
			if st.unschedulable && st.message == c.Message {
				return
			}
			st.unschedulable = true
			st.message = c.Message
			st.signal()
			t.broadcast()
			return
		}
	}
}
