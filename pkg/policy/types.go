// Package policy holds the admin-written placement policy: its versioned API,
// strict decoding, defaults, validation and the compiled, immutable form the
// scheduler plugins read on their hot path.
package policy

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// APIVersion and Kind identify a placement policy document.
	APIVersion = "ml-scheduler.io/v1alpha1"
	Kind       = "PlacementPolicy"

	// DefaultGPUResource is what counts as a GPU when gpuResources is unset.
	DefaultGPUResource = "nvidia.com/gpu"
	// DefaultGPUModelLabel is the node label read for gpuModels when
	// gpuModelLabel is unset (the label NVIDIA's GPU feature discovery sets).
	DefaultGPUModelLabel = "nvidia.com/gpu.product"

	// DefaultRuleName names the implicit rule applied to pods matching no rule.
	DefaultRuleName = "default"
)

// PlacementPolicy is the document an admin writes into the policy ConfigMap.
type PlacementPolicy struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`

	// GPUResources lists the extended resources that count as GPUs.
	// Default: [nvidia.com/gpu].
	GPUResources []string `json:"gpuResources,omitempty"`
	// GPUModelLabel is the node label holding the GPU model, read by gpuModels.
	// Default: nvidia.com/gpu.product.
	GPUModelLabel string `json:"gpuModelLabel,omitempty"`
	// ReserveGPUNodes keeps pods that request no GPU off nodes that have GPUs
	// (a hard Filter). Default: true.
	ReserveGPUNodes *bool `json:"reserveGPUNodes,omitempty"`

	// Pools are named sets of nodes, optionally owned by namespaces.
	Pools []Pool `json:"pools,omitempty"`
	// Rules are matched in order; the first rule matching a pod decides.
	Rules []Rule `json:"rules,omitempty"`
	// Default applies to pods that match no rule.
	Default *Placement `json:"default,omitempty"`

	// CPUSpill, with reserveGPUNodes on, lets a pod that requests no GPU use
	// a GPU node where what it takes leaves, for each of the node's free GPUs,
	// the CPU and memory a GPU pod needs: CPU pods are placed when the CPU
	// nodes are full, and no GPU is stranded by them. Unset: GPU nodes stay
	// reserved outright.
	CPUSpill *CPUSpill `json:"cpuSpill,omitempty"`
	// ExpectedShapes states the pod shapes the MinFragmentation packing
	// plans for. Unset: it learns them from the pods the scheduler sees.
	ExpectedShapes []ExpectedShape `json:"expectedShapes,omitempty"`
	// DRAGPUs says which DRA devices are GPUs (dra.go). Default: the
	// device model of pkg/gpudra.
	DRAGPUs *DRAGPUs `json:"draGPUs,omitempty"`
}

// CPUSpill says how much a GPU node keeps per free GPU when a CPU pod spills onto it.
type CPUSpill struct {
	// KeepPerFreeGPU is the CPU and memory kept for each free GPU. A resource
	// left out is learned: what 3 of 4 expected GPU pods ask per GPU.
	KeepPerFreeGPU ResourceAmounts `json:"keepPerFreeGPU,omitempty"`
}

// ResourceAmounts is an amount of CPU and of memory, as Kubernetes quantities.
type ResourceAmounts struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

// ExpectedShape is one kind of pod the cluster expects, and how often.
type ExpectedShape struct {
	GPUs int64 `json:"gpus"`
	// GPUShare is a fraction of one GPU the pods share it by (e.g. 460m,
	// through a DRA claim, docs/dra-gpus.md), instead of whole gpus.
	GPUShare string `json:"gpuShare,omitempty"`
	CPU      string `json:"cpu"`
	Memory   string `json:"memory"`
	// GPUModels the pods accept; empty: any.
	GPUModels []string `json:"gpuModels,omitempty"`
	// Weight is how often pods of the shape come, relative to the other
	// shapes' weights, 1..1000000 (a pod count: MinFragmentation weighs a
	// shape of N whole GPUs N^0.75 times this, pkg/fragmentation).
	Weight int64 `json:"weight"`
}

// Pool is a named set of nodes chosen by a label selector.
type Pool struct {
	Name         string                `json:"name"`
	NodeSelector *metav1.LabelSelector `json:"nodeSelector"`
	// OwnerNamespaces, when set, are the only namespaces whose pods may land
	// on this pool's nodes, whatever rule the pod matches or labels it has.
	OwnerNamespaces []string `json:"ownerNamespaces,omitempty"`
}

// Rule matches pods and says where they may go and how they are scored.
type Rule struct {
	Name      string `json:"name"`
	Match     Match  `json:"match"`
	Placement `json:",inline"`
}

// Match selects pods. All set fields must match; an empty Match matches every pod.
type Match struct {
	// Namespaces the pod must be in (any of). Empty: any namespace.
	Namespaces []string `json:"namespaces,omitempty"`
	// PodSelector on the pod's labels. Nil: any labels.
	PodSelector *metav1.LabelSelector `json:"podSelector,omitempty"`
}

// Placement is what a rule (or the default) imposes on the pods it matches.
type Placement struct {
	// Pools confines pods to the union of these pools' nodes (hard).
	Pools []string `json:"pools,omitempty"`
	// GPUModels confines pods to nodes whose GPU model label is one of these (hard).
	GPUModels []string `json:"gpuModels,omitempty"`
	// Packing decides which of the nodes that fit a pod gets it, on GPU,
	// CPU and memory together: BinPack fills partly used nodes first, Spread
	// prefers the emptiest, MinFragmentation places the pod where it least
	// reduces the cluster's room for the pods that are coming. A rule
	// without packing uses the default's; none at all: no packing score.
	Packing PackingMode `json:"packing,omitempty"`
	// GPUPacking is the former name of packing, still accepted.
	GPUPacking PackingMode `json:"gpuPacking,omitempty"`
	// Preferred are soft, weighted node preferences.
	Preferred []PreferredNodes `json:"preferred,omitempty"`
	// Colocate scores nodes by how many pods of the same job already run in
	// the node's topology domain.
	Colocate *Colocation `json:"colocate,omitempty"`
	// Gang governs pods that come as a gang: a PodGroup (scheduling.k8s.io)
	// named by the pod's spec.schedulingGroup. A rule without gang uses the
	// default's.
	Gang *GangPolicy `json:"gang,omitempty"`
}

// GangPolicy is what a rule asks of its pods' PodGroups.
type GangPolicy struct {
	// Required: the rule's pods must belong to a PodGroup with a gang
	// scheduling policy; a lone pod waits, and says so.
	Required bool `json:"required,omitempty"`
	// TopologyKey is a node label (rack, NVLink block, zone) whose values are
	// the domains a gang is placed within, for PodGroups that state no
	// topology constraint of their own.
	TopologyKey string `json:"topologyKey,omitempty"`
	// Topology is Required (the gang lands within one domain or waits) or
	// Preferred (within one domain if one can hold it, else across several).
	// Default Required.
	Topology GangTopology `json:"topology,omitempty"`
}

// GangTopology says how hard a gang's topology domain is.
type GangTopology string

const (
	GangTopologyRequired  GangTopology = "Required"
	GangTopologyPreferred GangTopology = "Preferred"
)

// PackingMode is how a rule's pods are packed onto nodes.
type PackingMode string

const (
	PackingBinPack          PackingMode = "BinPack"
	PackingSpread           PackingMode = "Spread"
	PackingMinFragmentation PackingMode = "MinFragmentation"
)

// PreferredNodes is a weighted soft node preference.
type PreferredNodes struct {
	// Weight in 1..100.
	Weight       int32                 `json:"weight"`
	NodeSelector *metav1.LabelSelector `json:"nodeSelector"`
}

// Colocation keeps a job's pods close: pods with the same value of JobLabel
// (in the same namespace) are drawn to the topology domain, a value of the
// node label TopologyKey, where most of them already run.
type Colocation struct {
	JobLabel    string `json:"jobLabel"`
	TopologyKey string `json:"topologyKey"`
}
