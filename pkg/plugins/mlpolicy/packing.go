package mlpolicy

import (
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Weights of GPU, CPU and memory in BinPack/Spread: for a GPU pod the GPUs
// decide and CPU and memory break ties; a CPU pod is packed on CPU and memory.
const (
	gpuWeight    = 5
	cpuWeight    = 1
	memoryWeight = 1
)

// nodeFree is what a node has left and what it has, over the policy's GPU resources.
type nodeFree struct {
	fragmentation.Free
	allocCPU, allocMemory, allocGPUs int64
}

// freeOf reads the node's free and allocatable resources; nc is the node's
// class (cycleState.classOf).
func freeOf(s *cycleState, nodeInfo fwk.NodeInfo, nc *policy.NodeClass) nodeFree {
	f := freeIfNoGPUUsed(nodeInfo, nc)
	if nc.DRA != nil {
		// Its GPUs are DRA devices: what pods take of them is in the
		// claims' allocations (a whole-GPU pod's nvidia.com/gpu request
		// served by the DeviceClass too), not in the node's requests.
		draFree(s, &f, nodeInfo, nc.DRA)
		return f
	}
	if f.allocGPUs > 0 {
		f.GPUs -= usedGPUs(s, nodeInfo)
	}
	return f
}

// freeIfNoGPUUsed is freeOf as if none of the node's GPUs were in use. It
// reads no map: the class holds the node's GPUs, and the per-node maps of
// extended resources cost cache misses that, at 5000 nodes, were most of
// what Filter and Score spent per node.
func freeIfNoGPUUsed(nodeInfo fwk.NodeInfo, nc *policy.NodeClass) nodeFree {
	alloc, used := nodeInfo.GetAllocatable(), nodeInfo.GetRequested()
	f := nodeFree{allocCPU: alloc.GetMilliCPU(), allocMemory: alloc.GetMemory(), allocGPUs: nc.GPUs}
	f.MilliCPU = f.allocCPU - used.GetMilliCPU()
	f.Memory = f.allocMemory - used.GetMemory()
	f.GPUs = nc.GPUs
	f.Model = nc.ModelBit
	return f
}

// usedGPUs is what the node's pods request of the policy's GPU resources.
func usedGPUs(s *cycleState, nodeInfo fwk.NodeInfo) int64 {
	u := nodeInfo.GetRequested().GetScalarResources()
	if len(u) == 0 {
		return 0
	}
	var n int64
	for _, res := range s.active.Policy.GPUResources {
		n += u[res]
	}
	return n
}

// fill is the node's weighted allocation after placing the pod, in
// [0, MaxScore]: GPUs, CPU and memory for a GPU pod, CPU and memory for
// a CPU pod (a node without GPUs then counts as fuller than none).
func fill(f *nodeFree, pod *fragmentation.Shape) int64 {
	var num, den float64
	add := func(w, free, alloc, asked int64) {
		if alloc <= 0 {
			return
		}
		used := alloc - free + asked
		if used > alloc {
			used = alloc
		}
		num += float64(w) * float64(used) / float64(alloc)
		den += float64(w)
	}
	if pod.WantsGPU() {
		// In thousandths of a GPU: a share counts as the part it takes.
		const m = fragmentation.MilliPerGPU
		add(gpuWeight, f.GPUs*m+partialMilli(&f.Shares), f.allocGPUs*m, pod.GPUs*m+pod.MilliGPU)
	}
	add(cpuWeight, f.MilliCPU, f.allocCPU, pod.MilliCPU)
	add(memoryWeight, f.Memory, f.allocMemory, pod.Memory)
	if den == 0 {
		return 0
	}
	return int64(num / den * float64(fwk.MaxScore))
}

// packingScore is the BinPack or Spread part, in [0, MaxScore].
func packingScore(s *cycleState, f *nodeFree) int64 {
	v := fill(f, &s.score.shape)
	if s.rule.Packing == policy.PackingSpread {
		return fwk.MaxScore - v
	}
	return v
}

// The MinFragmentation part is a key ordered like the node's merit,
// carried above fragShift in the raw score and rescaled to
// [0, MaxScore] over the scored nodes by NormalizeScore (the other
// parts sum to less than 1<<fragShift). Merit, best first: for a CPU pod,
// a node without GPUs; then the least growth of the expected fragmented
// GPUs; then the fuller node.
const (
	fragShift = 16
	// fragResolution: fragmentation differences below 1/fragResolution of a
	// GPU are ties, broken by fill.
	fragResolution = 10000
	// fragRange bounds |delta| (in GPUs) so the key stays positive; a GPU
	// node of a CPU pod also loses fragRange, below every CPU node.
	fragRange = 256
)

// pressureWeight converts Workload.Pressure into fragmented GPUs per GPU taken.
const pressureWeight = 1.0

func singleModel(m fragmentation.ModelSet) bool { return m != 0 && m&(m-1) == 0 }

// modelPressure sums the free GPUs per model over the cluster's nodes and
// turns them into the pressure restricted pods put on each model. It runs
// once per pod in PreScore, and only when the workload has restricted shapes.
func (pl *MLPolicy) modelPressure(s *cycleState) error {
	nodes, err := pl.handle.SnapshotSharedLister().NodeInfos().List()
	if err != nil {
		return err
	}
	var free [fragmentation.MaxModels]float64
	for _, ni := range nodes {
		nc := s.classOf(ni.Node())
		if nc.GPUs == 0 {
			continue
		}
		if f := freeOf(s, ni, nc); f.GPUs > 0 {
			free[fragmentation.ModelIndex(nc.ModelBit)] += float64(f.GPUs)
		}
	}
	s.score.pressure = new([fragmentation.MaxModels]float64)
	s.score.workload.Pressure(&free, s.score.pressure)
	return nil
}

func fragKey(s *cycleState, f *nodeFree) int64 {
	ss := s.score
	delta := ss.workload.Delta(f.Free, ss.shape)
	if !ss.shape.WantsGPU() && f.allocGPUs > 0 {
		delta += fragRange
	}
	if ss.pressure != nil && f.allocGPUs > 0 {
		// Taking a model that restricted pods need costs its GPUs as
		// fragments in proportion: FGD alone would spend the rarely
		// accepted models first, as "fragments" nobody else can use.
		gpus := float64(ss.shape.GPUs) + float64(ss.shape.MilliGPU)/fragmentation.MilliPerGPU
		delta += pressureWeight * gpus * ss.pressure[fragmentation.ModelIndex(f.Model)]
	}
	delta = min(max(delta, -fragRange), 2*fragRange)
	merit := int64((2*fragRange - delta) * fragResolution)
	return merit*(fwk.MaxScore+1) + fill(f, &ss.shape)
}

// normalizeFragmentation rescales the fragmentation keys of the scored
// nodes to [0, MaxScore], the best node getting MaxScore, and adds
// the other parts back.
func normalizeFragmentation(scores fwk.NodeScoreList) {
	if len(scores) == 0 {
		return
	}
	const low = 1<<fragShift - 1
	lo, hi := scores[0].Score>>fragShift, scores[0].Score>>fragShift
	for i := range scores {
		k := scores[i].Score >> fragShift
		lo, hi = min(lo, k), max(hi, k)
	}
	for i := range scores {
		k, rest := scores[i].Score>>fragShift, scores[i].Score&low
		norm := int64(fwk.MaxScore)
		if hi > lo {
			norm = (k - lo) * fwk.MaxScore / (hi - lo)
		}
		scores[i].Score = norm + rest
	}
}
