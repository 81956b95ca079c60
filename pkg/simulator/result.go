package simulator

import (
	"math"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
)

// Result is one configuration's replay of one workload.
type Result struct {
	Workload      string `json:"workload"`
	Configuration string `json:"configuration"`
	SchedulerName string `json:"schedulerName"`
	// Backend is "in-process" (Run) or "cluster" (RunOnCluster).
	Backend string `json:"backend"`
	// GPUSharing is "dra" when the workload's GPUs are DRA devices (see
	// Workload.ResourceSlices): GPU amounts in Curve and Failure then count
	// fractions, and Metrics.Sharing is set.
	GPUSharing  string `json:"gpuSharing,omitempty"`
	Nodes       int    `json:"nodes"`
	GPUNodes    int    `json:"gpuNodes"`
	ClusterGPUs int64  `json:"clusterGPUs"`
	Metrics
	// Curve samples, after every Options.CurveEvery pods and at the end, the
	// GPUs asked by the pods arrived so far and the GPUs allocated, both as
	// % of the cluster's GPUs. The first point is before the replay.
	Curve []CurvePoint `json:"curve"`
	// WallSeconds is the run's wall time: creating the nodes and starting
	// the scheduler, the replay, reading the end state.
	WallSeconds float64 `json:"wallSeconds"`
	// Placements are the replayed pods in arrival order.
	Placements []PodResult `json:"placements,omitempty"`
}

// Metrics sum up a replay; counts are of the end state unless said otherwise.
type Metrics struct {
	Pods int `json:"pods"`
	// PodsUnschedulable were reported unschedulable at their first attempt
	// (pods of a group: not bound when the group settled).
	PodsUnschedulable int `json:"podsUnschedulableAtFirstAttempt"`
	// GPUsAllocated is what the bound pods (running ones included) ask.
	GPUsAllocated        int64   `json:"gpusAllocated"`
	GPUsAllocatedPercent float64 `json:"gpusAllocatedPercent"`
	// FirstGPUFailure is the first pod asking GPUs reported unschedulable.
	FirstGPUFailure *Failure `json:"firstGPUFailure,omitempty"`
	// FirstPlaceableGPUFailure is the first of them that some node of the
	// cluster, empty, could hold (see fitsSomeEmptyNode): the first failure
	// the scheduler's choices could have avoided. GPUPodsFittingNoNode
	// counts the GPU pods that failed and fit no node at all.
	FirstPlaceableGPUFailure *Failure `json:"firstPlaceableGPUFailure,omitempty"`
	GPUPodsFittingNoNode     int      `json:"gpuPodsFittingNoNode"`
	GPUPods                  int      `json:"gpuPods"`
	GPUPodsPlaced            int      `json:"gpuPodsPlaced"`
	GPUPodsFailed            int      `json:"gpuPodsFailed"`
	// MultiGPU counts pods asking 2 or more GPUs, by GPUs asked.
	MultiGPU          []SizeCount `json:"multiGPU"`
	CPUPods           int         `json:"cpuPods"`
	CPUPodsPlaced     int         `json:"cpuPodsPlaced"`
	CPUPodsOnGPUNodes int         `json:"cpuPodsOnGPUNodes"`
	// Domains is set when Options.TopologyKey is, Gangs when the workload
	// has PodGroups.
	Domains *DomainMetrics `json:"domains,omitempty"`
	Gangs   *GangMetrics   `json:"gangs,omitempty"`
	// Sharing is set when Result.GPUSharing is; GPUsAllocated then counts
	// the whole GPUs asked as the GPU resource only, and a GPU pod is one
	// asking whole GPUs or a share.
	Sharing *SharingMetrics `json:"sharing,omitempty"`
}

// Failure is the first GPU pod that could not be placed when it arrived.
type Failure struct {
	// Arrival is the pod's 1-based position in the queue.
	Arrival int    `json:"arrival"`
	Pod     string `json:"pod"`
	GPUs    int64  `json:"gpus"`
	// GPUMilli is the share of one GPU a pod asks through a claim, in
	// thousandths (DRA GPUs only).
	GPUMilli int64 `json:"gpuMilli,omitempty"`
	// AllocatedPercent is the cluster's GPUs allocated at that moment, and
	// DemandPercent the GPUs asked by the pods arrived so far (this one
	// included), both in % of the cluster's GPUs (fractions counted with
	// DRA GPUs).
	AllocatedPercent float64 `json:"allocatedPercent"`
	DemandPercent    float64 `json:"demandPercent"`
}

// SizeCount is how many pods asking GPUs GPUs were placed, of Total.
type SizeCount struct {
	GPUs   int64 `json:"gpus"`
	Placed int   `json:"placed"`
	Total  int   `json:"total"`
}

// CurvePoint is one sample of the allocation curve.
type CurvePoint struct {
	// Arrived pods of the queue so far.
	Arrived          int     `json:"arrived"`
	DemandPercent    float64 `json:"demandPercent"`
	AllocatedPercent float64 `json:"allocatedPercent"`
}

// PodResult is one replayed pod.
type PodResult struct {
	Arrival  int    `json:"arrival"`
	Name     string `json:"name"`
	GPUs     int64  `json:"gpus"`
	GPUMilli int64  `json:"gpuMilli,omitempty"` // as Failure.GPUMilli
	CPUMilli int64  `json:"cpuMilli"`
	// Node is where the pod is bound at the end, "" if nowhere.
	Node     string `json:"node"`
	GPUModel string `json:"gpuModel,omitempty"`
	// PodGroup is the namespace/name of the pod's group, if any.
	PodGroup string `json:"podGroup,omitempty"`
	// Unschedulable: reported unschedulable at its first attempt (a pod of
	// a group: not bound when the group settled), with the scheduler's
	// message.
	Unschedulable bool   `json:"unschedulable,omitempty"`
	Message       string `json:"message,omitempty"`
}

// recorder builds a Result.
type recorder struct {
	res      *Result
	opts     Options
	nodes    map[string]*v1.Node
	nodeList []*v1.Node
	running  []*v1.Pod
	multiGPU map[int64]*SizeCount
	pending  []*v1.Pod // the queue, for Failure.Pod
	groups   []*schedulingv1beta1.PodGroup
	gpus     *gpuCounter
}

func newRecorder(w *Workload, c Configuration, s *schedulerSetup, opts Options, backend string, gpus *gpuCounter, clusterGPUs int64) *recorder {
	r := &recorder{
		res: &Result{
			Workload: w.Name, Configuration: c.Name, SchedulerName: s.schedulerName, Backend: backend,
			Nodes: len(w.Nodes), ClusterGPUs: clusterGPUs,
			Placements: make([]PodResult, len(w.Pods)),
		},
		opts: opts, nodes: map[string]*v1.Node{}, nodeList: w.Nodes, running: w.Running, multiGPU: map[int64]*SizeCount{}, pending: w.Pods,
		groups: w.PodGroups, gpus: gpus,
	}
	for _, n := range w.Nodes {
		r.nodes[n.Name] = n
		if gpus.nodeGPUs(n) > 0 {
			r.res.GPUNodes++
		}
	}
	if gpus.sharing {
		r.res.GPUSharing = GPUSharingDRA
		demand := int64(0)
		for _, p := range w.Pods {
			demand += gpus.podMilli(p)
		}
		r.res.Sharing = &SharingMetrics{Demand: gpusOfMilli(demand), DemandPercent: r.percent(demand), AllPlacedWhileDemandFit: true}
	}
	return r
}

// percent is milli thousandths of a GPU in % of the cluster's GPUs, to 0.01.
func (r *recorder) percent(milli int64) float64 {
	if r.res.ClusterGPUs == 0 {
		return 0
	}
	return math.Round(10*float64(milli)/float64(r.res.ClusterGPUs)) / 100
}

func (r *recorder) point(arrived int, demand, allocated int64) {
	r.res.Curve = append(r.res.Curve, CurvePoint{Arrived: arrived, DemandPercent: r.percent(demand), AllocatedPercent: r.percent(allocated)})
}

// failed records that queue pod i was reported unschedulable, with the
// GPU demand so far and the GPUs allocated at that moment (in thousandths).
func (r *recorder) failed(i int, demand, allocated int64) {
	p := r.pending[i]
	if r.gpus.podMilli(p) == 0 {
		return
	}
	f := &Failure{Arrival: i + 1, Pod: keyOf(p), GPUs: podGPUs(p, r.opts.GPUResource), GPUMilli: r.gpus.podShareMilli(p),
		AllocatedPercent: r.percent(allocated), DemandPercent: r.percent(demand)}
	if r.res.FirstGPUFailure == nil {
		r.res.FirstGPUFailure = f
	}
	if m := r.res.Sharing; m != nil && demand <= 1000*r.res.ClusterGPUs {
		m.AllPlacedWhileDemandFit = false
	}
	if !fitsSomeEmptyNode(p, r.nodeList, r.gpus) {
		r.res.GPUPodsFittingNoNode++
	} else if r.res.FirstPlaceableGPUFailure == nil {
		r.res.FirstPlaceableGPUFailure = f
	}
}

// pod records queue pod i's end state.
func (r *recorder) pod(i int, p *v1.Pod, node string, unschedulable bool, message string) {
	gpus, share := podGPUs(p, r.opts.GPUResource), r.gpus.podShareMilli(p)
	pr := PodResult{Arrival: i + 1, Name: keyOf(p), GPUs: gpus, GPUMilli: share, CPUMilli: podCPUMilli(p), Node: node, Unschedulable: unschedulable, Message: message}
	if g := podGroupName(p); g != "" {
		pr.PodGroup = groupKey(p.Namespace, g)
	}
	m := &r.res.Metrics
	m.Pods++
	if unschedulable {
		m.PodsUnschedulable++
	}
	n := r.nodes[node]
	if n != nil {
		pr.GPUModel = n.Labels[r.opts.GPUModelLabel]
		m.GPUsAllocated += gpus
	}
	if sm := m.Sharing; sm != nil && share > 0 {
		sm.SharePods++
		if n != nil {
			sm.SharePodsPlaced++
		}
	}
	if gpus > 0 || share > 0 {
		m.GPUPods++
		if n != nil {
			m.GPUPodsPlaced++
		} else {
			m.GPUPodsFailed++
		}
		if gpus >= 2 {
			sc := r.multiGPU[gpus]
			if sc == nil {
				sc = &SizeCount{GPUs: gpus}
				r.multiGPU[gpus] = sc
			}
			sc.Total++
			if n != nil {
				sc.Placed++
			}
		}
	} else {
		m.CPUPods++
		if n != nil {
			m.CPUPodsPlaced++
			if r.gpus.nodeGPUs(n) > 0 {
				m.CPUPodsOnGPUNodes++
			}
		}
	}
	r.res.Placements[i] = pr
}

func (r *recorder) finish(wall time.Duration) *Result {
	m := &r.res.Metrics
	for _, p := range r.running {
		m.GPUsAllocated += podGPUs(p, r.opts.GPUResource)
	}
	m.GPUsAllocatedPercent = r.percent(1000 * m.GPUsAllocated)
	m.MultiGPU = []SizeCount{}
	for _, sc := range r.multiGPU {
		m.MultiGPU = append(m.MultiGPU, *sc)
	}
	sort.Slice(m.MultiGPU, func(i, j int) bool { return m.MultiGPU[i].GPUs < m.MultiGPU[j].GPUs })
	r.domainsAndGangs()
	r.res.WallSeconds = wall.Seconds()
	return r.res
}
