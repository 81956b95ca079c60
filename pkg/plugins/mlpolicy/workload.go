package mlpolicy

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// workload is the expected workload MinFragmentation and cpuSpill plan for:
// the policy's expectedShapes, or what the learner has seen.
func (pl *MLPolicy) workload(p *policy.Compiled) *fragmentation.Workload {
	if p.Expected != nil {
		return p.Expected
	}
	return pl.learner.Workload()
}

// podShape is the pod's shape under the policy of the cycle, computed once.
func (s *cycleState) podShape(pod *v1.Pod) fragmentation.Shape {
	if !s.shapeDone {
		s.shape = s.active.Policy.PodShape(pod)
		s.shape.GPUs, s.shape.MilliGPU = s.gpus, s.milliGPU
		s.shapeDone = true
	}
	return s.shape
}

// classOf is the node's class under the cycle's policy: the index's, or
// computed when the index has not seen this version of the node.
func (s *cycleState) classOf(node *v1.Node) *policy.NodeClass {
	if s.view != nil {
		if nc := s.view.ClassOf(node); nc != nil {
			return nc
		}
	}
	var g *gpudra.NodeGPUs
	if s.inv != nil {
		g = s.inv.Node(node.Name)
	}
	c := s.active.Policy.ClassifyWithDevices(node, g)
	return &c
}

// onPod shows the learner each pod of this profile once, when the informer
// first sees it (running pods at start-up included).
func (pl *MLPolicy) onPod(obj interface{}) {
	pod, ok := obj.(*v1.Pod)
	if !ok || pod.Spec.SchedulerName != pl.profileName {
		return
	}
	a := pl.store.Load()
	if a == nil || !a.Policy.Fragmentation && !a.Policy.CPUSpill || a.Policy.Expected != nil {
		return
	}
	shape := a.Policy.PodShape(pod)
	shape.GPUs, shape.MilliGPU = pl.podAsk(pl.logger, pod, a.Policy)
	pl.learner.Observe(shape)
}

func (pl *MLPolicy) watchPods() error {
	pods := pl.handle.SharedInformerFactory().Core().V1().Pods().Informer()
	_, err := pods.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: pl.onPod})
	return err
}

// spillKeeps reports whether a pod requesting no GPU leaves the GPU node
// enough CPU and memory for each of its free GPUs (cpuSpill). Per free GPU
// it keeps the policy's keepPerFreeGPU, else what 3 of 4 expected GPU pods
// ask per GPU, else (nothing learned yet) the node's own share per GPU.
func spillKeeps(s *cycleState, f *nodeFree) bool {
	p := s.active.Policy
	after := f.Free
	after.MilliCPU -= s.shape.MilliCPU
	after.Memory -= s.shape.Memory
	if after.MilliCPU < 0 || after.Memory < 0 {
		return false // NodeResourcesFit refuses it anyway
	}
	keepCPU, keepMem := p.SpillKeepMilliCPU, p.SpillKeepMemory
	if w := s.workload; w != nil && !w.Empty() {
		keepCPU, keepMem = pick(keepCPU, w.KeepMilliCPUPerGPU), pick(keepMem, w.KeepMemoryPerGPU)
	}
	if f.allocGPUs > 0 {
		keepCPU, keepMem = pick(keepCPU, f.allocCPU/f.allocGPUs), pick(keepMem, f.allocMemory/f.allocGPUs)
	}
	return after.GPUs <= 0 || after.MilliCPU >= after.GPUs*keepCPU && after.Memory >= after.GPUs*keepMem
}

// pick returns stated unless it is zero.
func pick(stated, otherwise int64) int64 {
	if stated != 0 {
		return stated
	}
	return otherwise
}
