package policycheck

import (
	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

// Cluster is what the cluster checks judge a policy against.
type Cluster struct {
	Nodes []*v1.Node
	// Pending are the pods not bound to a node yet.
	Pending []*v1.Pod
	// Namespaces are the names of the cluster's namespaces.
	Namespaces []string
	// NamespacesFromPods says Namespaces are only those some pod is in (a
	// snapshot file holds no Namespace objects): a namespace missing from
	// them may exist without pods.
	NamespacesFromPods bool
	// SchedulerName: only pending pods with this spec.schedulerName are
	// judged (they are the ones the policy applies to); "" judges all.
	SchedulerName string
	// ResourceSlices are the cluster's DRA slices: the GPU devices of the
	// policy's draGPUs driver count as their nodes' GPUs, as the scheduler
	// counts them.
	ResourceSlices []*resourceapi.ResourceSlice
	// ResourceClaims are the cluster's DRA claims: a pending pod's claims
	// of the draGPUs DeviceClasses ask GPUs, as the scheduler counts them.
	ResourceClaims []*resourceapi.ResourceClaim
}

// classified is the cluster's nodes as the policy sees them.
type classified struct {
	c       *policy.Compiled
	nodes   []*v1.Node
	classes []policy.NodeClass
	// poolNodes[i] are the indexes of the nodes in pool i.
	poolNodes [][]int
	// models are the GPU models the nodes carry (policy's GPU model label).
	models map[string]bool
	// inv holds the nodes' DRA GPU devices.
	inv *gpudra.Inventory
}

func classify(c *policy.Compiled, nodes []*v1.Node, slices []*resourceapi.ResourceSlice) *classified {
	cl := &classified{c: c, nodes: nodes, classes: make([]policy.NodeClass, len(nodes)),
		poolNodes: make([][]int, len(c.Pools)), models: map[string]bool{}}
	inv := c.DRA.Inventory(slices)
	cl.inv = inv
	for n, node := range nodes {
		cl.classes[n] = c.ClassifyWithDevices(node, inv.Node(node.Name))
		for i := range c.Pools {
			if cl.classes[n].Pools.Has(i) {
				cl.poolNodes[i] = append(cl.poolNodes[i], n)
			}
		}
		if m := cl.classes[n].Model; m != "" {
			cl.models[m] = true
		}
	}
	return cl
}

// matching returns the indexes of the nodes whose labels match sel.
func (cl *classified) matching(sel labels.Selector) []int {
	var idx []int
	for n, node := range cl.nodes {
		if sel.Matches(labels.Set(node.Labels)) {
			idx = append(idx, n)
		}
	}
	return idx
}

// names returns the names of the nodes at idx.
func (cl *classified) names(idx []int) []string {
	out := make([]string, len(idx))
	for i, n := range idx {
		out[i] = cl.nodes[n].Name
	}
	return out
}

// AgainstCluster returns the findings about the policy's fit to the cluster:
// selectors choosing no node, overlapping pools whose ownership conflicts,
// GPU models no node has, namespaces that do not exist and pending pods a
// rule confines to nodes with fewer GPUs than they ask.
func AgainstCluster(c *policy.Compiled, cluster *Cluster) []Finding {
	cl := classify(c, cluster.Nodes, cluster.ResourceSlices)
	var findings []Finding
	findings = append(findings, checkSelectors(cl)...)
	findings = append(findings, checkOverlaps(cl)...)
	findings = append(findings, checkGPUModels(cl)...)
	findings = append(findings, checkNamespaces(c, cluster)...)
	findings = append(findings, checkPending(cl, cluster)...)
	return findings
}
