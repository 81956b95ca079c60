package simulator

import (
	"sort"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
)

// DomainMetrics are the end state of the topology domains (the values of
// Options.TopologyKey on nodes with GPUs; a node without the label is in
// none), by GPUs: how a gang kept within one domain finds the cluster.
type DomainMetrics struct {
	TopologyKey string `json:"topologyKey"`
	Domains     int    `json:"domains"`
	// Empty domains have no GPU allocated, Full ones every GPU, PartlyUsed
	// ones some.
	Empty      int `json:"empty"`
	PartlyUsed int `json:"partlyUsed"`
	Full       int `json:"full"`
	// FreeGPUsInPartlyUsed are the GPUs left free in partly used domains:
	// capacity a gang bigger than any one domain's rest cannot use.
	FreeGPUsInPartlyUsed int64 `json:"freeGPUsInPartlyUsed"`
}

// GangMetrics are the end state of the workload's pod groups (a group with
// the basic policy counts as a gang of minCount 1, as the scheduler does).
type GangMetrics struct {
	Gangs int `json:"gangs"`
	// Placed gangs have at least minCount pods bound; Waiting ones fewer.
	Placed  int `json:"placed"`
	Waiting int `json:"waiting"`
	// Of the placed gangs, those whose bound pods are all within one domain
	// of Options.TopologyKey, and those across several (or on a node
	// without the label). Both 0 without a TopologyKey.
	WithinOneDomain int `json:"withinOneDomain"`
	AcrossDomains   int `json:"acrossDomains"`
	// BySize is the gangs placed of each size (queue pods in the group).
	BySize []GangSize `json:"bySize"`
}

// GangSize is how many gangs of Pods pods were placed, of Total.
type GangSize struct {
	Pods   int `json:"pods"`
	Placed int `json:"placed"`
	Total  int `json:"total"`
}

// domainMetrics classifies the domains of key by the GPUs allocated on
// their nodes (gpusOnNode, by node name).
func domainMetrics(key string, nodes []*v1.Node, gpuRes v1.ResourceName, gpusOnNode map[string]int64) *DomainMetrics {
	capacity, used := map[string]int64{}, map[string]int64{}
	for _, n := range nodes {
		d, ok := n.Labels[key]
		g := gpusOf(n.Status.Allocatable, gpuRes)
		if !ok || g == 0 {
			continue
		}
		capacity[d] += g
		used[d] += gpusOnNode[n.Name]
	}
	m := &DomainMetrics{TopologyKey: key, Domains: len(capacity)}
	for d, c := range capacity {
		switch u := used[d]; {
		case u == 0:
			m.Empty++
		case u >= c:
			m.Full++
		default:
			m.PartlyUsed++
			m.FreeGPUsInPartlyUsed += c - u
		}
	}
	return m
}

// gangOutcome is one pod group at the end: its minCount and where each of
// its pods is bound ("" if nowhere).
type gangOutcome struct {
	minCount int
	nodes    []string
}

// minCountOf is the pods a group needs bound to be placed.
func minCountOf(g *schedulingv1beta1.PodGroup) int {
	if gang := g.Spec.SchedulingPolicy.Gang; gang != nil {
		return int(gang.MinCount)
	}
	return 1
}

// gangMetrics sums up the groups' outcomes; key ("" for none) tells
// whether a placed gang is within one domain, by the labels of nodes.
func gangMetrics(key string, nodes map[string]*v1.Node, gangs []gangOutcome) *GangMetrics {
	m := &GangMetrics{Gangs: len(gangs), BySize: []GangSize{}}
	sizes := map[int]*GangSize{}
	for _, g := range gangs {
		sz := sizes[len(g.nodes)]
		if sz == nil {
			sz = &GangSize{Pods: len(g.nodes)}
			sizes[len(g.nodes)] = sz
		}
		sz.Total++
		domains, bound, unlabelled := map[string]bool{}, 0, false
		for _, name := range g.nodes {
			if name == "" {
				continue
			}
			bound++
			if n := nodes[name]; n != nil {
				if d, ok := n.Labels[key]; ok {
					domains[d] = true
					continue
				}
			}
			unlabelled = true
		}
		if bound == 0 || bound < g.minCount {
			m.Waiting++
			continue
		}
		m.Placed++
		sz.Placed++
		switch {
		case key == "":
		case len(domains) == 1 && !unlabelled:
			m.WithinOneDomain++
		default:
			m.AcrossDomains++
		}
	}
	for _, sz := range sizes {
		m.BySize = append(m.BySize, *sz)
	}
	sort.Slice(m.BySize, func(i, j int) bool { return m.BySize[i].Pods < m.BySize[j].Pods })
	return m
}

// domainsAndGangs fills Metrics.Domains and Metrics.Gangs from the end
// state: the running pods and the queue pods' placements.
func (r *recorder) domainsAndGangs() {
	m, key := &r.res.Metrics, r.opts.TopologyKey
	if key != "" {
		on := map[string]int64{}
		for _, p := range r.running {
			on[p.Spec.NodeName] += podGPUs(p, r.opts.GPUResource)
		}
		for _, pr := range r.res.Placements {
			if pr.Node != "" {
				on[pr.Node] += pr.GPUs
			}
		}
		m.Domains = domainMetrics(key, r.nodeList, r.opts.GPUResource, on)
	}
	if len(r.groups) == 0 {
		return
	}
	outcomes := make([]gangOutcome, len(r.groups))
	index := map[string]int{}
	for i, g := range r.groups {
		index[groupKey(g.Namespace, g.Name)] = i
		outcomes[i].minCount = minCountOf(g)
	}
	for _, pr := range r.res.Placements {
		if i, ok := index[pr.PodGroup]; ok && pr.PodGroup != "" {
			outcomes[i].nodes = append(outcomes[i].nodes, pr.Node)
		}
	}
	m.Gangs = gangMetrics(key, r.nodes, outcomes)
}
