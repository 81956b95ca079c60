// Package gangstream generates, for a seed, a GPU cluster of racks and a
// stream of jobs that come as gangs (a PodGroup, scheduling.k8s.io/v1beta1,
// with a gang policy of minCount = its pods) mixed with single pods, for
// the placement simulator (pkg/simulator) to compare how schedulers
// fragment racks.
//
// The cluster: Racks racks of NodesPerRack nodes, each with GPUsPerNode
// nvidia.com/gpu, 16 CPUs and 128Gi of memory per GPU, 110 pods, the rack
// in the label topology.kubernetes.io/rack (rack-00, rack-01, ...) and the
// GPU model H100 in nvidia.com/gpu.product. Node rack-03-n5 is node 5 of
// rack 3.
//
// The stream: jobs drawn one after the other from Mix, by weight, until
// the GPUs asked reach DemandPercent of the cluster's (the last job may
// pass it). A gang job job-007 of 4 pods is the PodGroup train/job-007 and
// the pods train/job-007-0 to -3, each naming the group in
// spec.schedulingGroup and asking GPUsPerPod GPUs with 12 CPUs and 96Gi
// per GPU; with TopologyConstraint the PodGroup also states
// schedulingConstraints.topology on the rack label. A single (Kind.Pods 0)
// is the pod serve/single-008, outside any group. The same Options give
// the same cluster and stream.
package gangstream

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// Labels and namespaces of the generated objects.
const (
	RackLabel       = "topology.kubernetes.io/rack"
	GPUModel        = "H100"
	GangNamespace   = "train"
	SingleNamespace = "serve"
)

// Kind is one kind of job of the stream.
type Kind struct {
	// Pods is the gang's size; 0 is a single pod outside any PodGroup.
	Pods       int
	GPUsPerPod int64
	// Weight is relative to the other kinds' weights.
	Weight int
}

func (k Kind) String() string { return fmt.Sprintf("%dx%d:%d", k.Pods, k.GPUsPerPod, k.Weight) }

// DefaultMix: 1-GPU singles, and gangs of 1, 2, 4 and 8 pods of 8 GPUs
// (the biggest is a whole default rack).
var DefaultMix = []Kind{
	{Pods: 0, GPUsPerPod: 1, Weight: 30},
	{Pods: 1, GPUsPerPod: 8, Weight: 20},
	{Pods: 2, GPUsPerPod: 8, Weight: 20},
	{Pods: 4, GPUsPerPod: 8, Weight: 15},
	{Pods: 8, GPUsPerPod: 8, Weight: 10},
}

// ParseMix reads a mix written as Kind.String does, comma-separated:
// "0x1:30,8x8:10" is singles of 1 GPU (weight 30) and gangs of 8 pods of
// 8 GPUs (weight 10).
func ParseMix(s string) ([]Kind, error) {
	var out []Kind
	for _, item := range strings.Split(s, ",") {
		var k Kind
		size, weight, ok := strings.Cut(strings.TrimSpace(item), ":")
		pods, gpus, ok2 := strings.Cut(size, "x")
		if !ok || !ok2 {
			return nil, fmt.Errorf("job kind %q: want PODSxGPUS:WEIGHT, e.g. 8x8:10", item)
		}
		var err error
		if k.Pods, err = strconv.Atoi(pods); err != nil || k.Pods < 0 {
			return nil, fmt.Errorf("job kind %q: pods %q is not a count", item, pods)
		}
		if k.GPUsPerPod, err = strconv.ParseInt(gpus, 10, 64); err != nil || k.GPUsPerPod < 1 {
			return nil, fmt.Errorf("job kind %q: GPUs %q is not a positive count", item, gpus)
		}
		if k.Weight, err = strconv.Atoi(weight); err != nil || k.Weight < 1 {
			return nil, fmt.Errorf("job kind %q: weight %q is not a positive count", item, weight)
		}
		out = append(out, k)
	}
	return out, nil
}

// Options say what to generate; zero fields take the defaults.
type Options struct {
	Seed uint64
	// Racks (default 16) of NodesPerRack nodes (default 8) of GPUsPerNode
	// GPUs (default 8).
	Racks, NodesPerRack int
	GPUsPerNode         int64
	// DemandPercent: jobs are drawn until they ask this % of the cluster's
	// GPUs (default 100).
	DemandPercent int
	// Mix is the kinds of jobs (default DefaultMix).
	Mix []Kind
	// TopologyConstraint: the PodGroups require their pods within one rack
	// (schedulingConstraints.topology: [{key: RackLabel}]).
	TopologyConstraint bool
}

func (o Options) withDefaults() Options {
	if o.Racks == 0 {
		o.Racks = 16
	}
	if o.NodesPerRack == 0 {
		o.NodesPerRack = 8
	}
	if o.GPUsPerNode == 0 {
		o.GPUsPerNode = 8
	}
	if o.DemandPercent == 0 {
		o.DemandPercent = 100
	}
	if len(o.Mix) == 0 {
		o.Mix = DefaultMix
	}
	return o
}

// Workload is the cluster and the stream of o, named name.
func Workload(name string, o Options) (*simulator.Workload, error) {
	o = o.withDefaults()
	for _, k := range o.Mix {
		if k.GPUsPerPod > o.GPUsPerNode || k.Weight < 1 || k.Pods < 0 {
			return nil, fmt.Errorf("job kind %s: needs a weight of at least 1 and at most %d GPUs per pod", k, o.GPUsPerNode)
		}
	}
	w := &simulator.Workload{Name: name, Nodes: Nodes(o)}
	rng := rand.New(rand.NewPCG(o.Seed, 0x9e3779b97f4a7c15))
	total := 0
	for _, k := range o.Mix {
		total += k.Weight
	}
	target := int64(o.Racks*o.NodesPerRack) * o.GPUsPerNode * int64(o.DemandPercent) / 100
	var asked int64
	for job := 0; asked < target; job++ {
		k := pick(o.Mix, rng.IntN(total))
		if k.Pods == 0 {
			w.Pods = append(w.Pods, jobPod(SingleNamespace, fmt.Sprintf("single-%03d", job), "", k.GPUsPerPod))
			asked += k.GPUsPerPod
			continue
		}
		name := fmt.Sprintf("job-%03d", job)
		w.PodGroups = append(w.PodGroups, podGroup(name, int32(k.Pods), o.TopologyConstraint))
		for i := range k.Pods {
			w.Pods = append(w.Pods, jobPod(GangNamespace, fmt.Sprintf("%s-%d", name, i), name, k.GPUsPerPod))
		}
		asked += int64(k.Pods) * k.GPUsPerPod
	}
	return w, nil
}

func pick(mix []Kind, n int) Kind {
	for _, k := range mix {
		if n < k.Weight {
			return k
		}
		n -= k.Weight
	}
	return mix[len(mix)-1]
}

// Nodes are o's racks.
func Nodes(o Options) []*v1.Node {
	o = o.withDefaults()
	perGPU := func(q string) resource.Quantity {
		v := resource.MustParse(q)
		v.Mul(o.GPUsPerNode)
		return v
	}
	res := v1.ResourceList{
		v1.ResourceCPU:           perGPU("16"),
		v1.ResourceMemory:        perGPU("128Gi"),
		v1.ResourcePods:          resource.MustParse("110"),
		trace.DefaultGPUResource: *resource.NewQuantity(o.GPUsPerNode, resource.DecimalSI),
	}
	var nodes []*v1.Node
	for r := range o.Racks {
		for i := range o.NodesPerRack {
			name := fmt.Sprintf("rack-%02d-n%d", r, i)
			nodes = append(nodes, &v1.Node{
				ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{
					v1.LabelHostname: name, RackLabel: fmt.Sprintf("rack-%02d", r), trace.DefaultGPUModelLabel: GPUModel,
				}},
				Status: v1.NodeStatus{Capacity: res.DeepCopy(), Allocatable: res.DeepCopy(),
					Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}}},
			})
		}
	}
	return nodes
}

func podGroup(name string, pods int32, constraint bool) *schedulingv1beta1.PodGroup {
	g := &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Namespace: GangNamespace, Name: name},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: pods}}},
	}
	if constraint {
		g.Spec.SchedulingConstraints = &schedulingv1beta1.PodGroupSchedulingConstraints{
			Topology: []schedulingv1beta1.TopologyConstraint{{Key: RackLabel}}}
	}
	return g
}

// jobPod asks gpus GPUs, with 12 CPUs and 96Gi per GPU; group "" is none.
func jobPod(namespace, name, group string, gpus int64) *v1.Pod {
	cpu, mem := resource.MustParse("12"), resource.MustParse("96Gi")
	cpu.Mul(gpus)
	mem.Mul(gpus)
	g := *resource.NewQuantity(gpus, resource.DecimalSI)
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name},
		Spec: v1.PodSpec{Containers: []v1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10.1",
			Resources: v1.ResourceRequirements{
				Requests: v1.ResourceList{v1.ResourceCPU: cpu, v1.ResourceMemory: mem, trace.DefaultGPUResource: g},
				Limits:   v1.ResourceList{trace.DefaultGPUResource: g},
			}}}},
	}
	if group != "" {
		p.Labels = map[string]string{"job": group}
		p.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(group)}
	}
	return p
}
