package gpudra

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	resourceapi "k8s.io/api/resource/v1"
	"k8s.io/dynamic-resource-allocation/structured"
)

// Source says which published devices are GPUs: those of Driver, with the
// model in ModelAttribute and shares consumed from ShareCapacity.
type Source struct {
	Driver         string
	ModelAttribute resourceapi.QualifiedName
	ShareCapacity  resourceapi.QualifiedName
}

// NodeGPUs are the GPU devices of one node, in the order the DRA allocator
// tries them (slices by name, devices as listed). Immutable once published.
type NodeGPUs struct {
	Model   string
	Devices []Device
}

// Device is one GPU: its ID in allocation results, and its ShareCapacity
// in milli-units (0 when it publishes none: it is then never shared).
type Device struct {
	ID         structured.DeviceID
	MilliShare int64
}

// Inventory holds the GPU devices each node publishes, current with
// ResourceSlice events. A slice event costs its node's slices, not the
// cluster's. Node values are immutable once published; MLPolicy's hot path
// reads them through the node index's classes, not through Node.
type Inventory struct {
	mu     sync.RWMutex
	source Source
	// slices by node and name, of every driver: a change of Source re-reads
	// them; nodeOfSlice says where a slice was, for a slice that moves.
	slices      map[string]map[string]*resourceapi.ResourceSlice
	nodeOfSlice map[string]string
	nodes       map[string]*NodeGPUs
	// changed is called with the node whose GPUs changed (outside the lock).
	changed func(node string)
	// shareCounts counts the published devices by MilliShare; typical is
	// the most common value (TypicalMilliShare).
	shareCounts map[int64]int
	typical     atomic.Int64
}

// TypicalMilliShare is the share capacity most GPU devices publish, in
// milli-units: what one GPU is when a claim's share request is turned
// into a fraction of a GPU (0 before any device is seen).
func (inv *Inventory) TypicalMilliShare() int64 { return inv.typical.Load() }

// countLocked moves the share counts from old's devices to g's.
func (inv *Inventory) countLocked(old, g *NodeGPUs) {
	for _, x := range []struct {
		g    *NodeGPUs
		sign int
	}{{old, -1}, {g, 1}} {
		if x.g == nil {
			continue
		}
		for _, d := range x.g.Devices {
			inv.shareCounts[d.MilliShare] += x.sign
			if inv.shareCounts[d.MilliShare] <= 0 {
				delete(inv.shareCounts, d.MilliShare)
			}
		}
	}
	var best int64
	bestN := 0
	for v, n := range inv.shareCounts {
		if n > bestN || n == bestN && v > best {
			best, bestN = v, n
		}
	}
	inv.typical.Store(best)
}

// NewInventory returns an empty inventory reading devices as source says;
// changed (may be nil) hears of every node whose GPUs changed.
func NewInventory(source Source, changed func(node string)) *Inventory {
	return &Inventory{
		source: source, changed: changed,
		slices: map[string]map[string]*resourceapi.ResourceSlice{}, nodeOfSlice: map[string]string{},
		nodes: map[string]*NodeGPUs{}, shareCounts: map[int64]int{},
	}
}

// Node returns the node's GPU devices, or nil when it publishes none.
func (inv *Inventory) Node(name string) *NodeGPUs {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	return inv.nodes[name]
}

// Len is the number of nodes publishing GPU devices.
func (inv *Inventory) Len() int {
	inv.mu.RLock()
	defer inv.mu.RUnlock()
	return len(inv.nodes)
}

// SetSource re-reads every slice under a new source (a policy swap).
func (inv *Inventory) SetSource(s Source) {
	inv.mu.Lock()
	if s == inv.source {
		inv.mu.Unlock()
		return
	}
	inv.source = s
	nodes := make([]string, 0, len(inv.slices))
	for n := range inv.slices {
		nodes = append(nodes, n)
	}
	for n := range inv.nodes {
		if _, ok := inv.slices[n]; !ok {
			nodes = append(nodes, n)
		}
	}
	changed := inv.rebuildLocked(nodes)
	inv.mu.Unlock()
	inv.notifyNodes(changed)
}

// Upsert records a slice's current state.
func (inv *Inventory) Upsert(s *resourceapi.ResourceSlice) {
	inv.mu.Lock()
	node := nodeOf(s)
	nodes := []string{node}
	if was, ok := inv.nodeOfSlice[s.Name]; ok && was != node {
		inv.removeLocked(s.Name)
		nodes = append(nodes, was)
	}
	if node != "" {
		if inv.slices[node] == nil {
			inv.slices[node] = map[string]*resourceapi.ResourceSlice{}
		}
		inv.slices[node][s.Name] = s
		inv.nodeOfSlice[s.Name] = node
	}
	changed := inv.rebuildLocked(nodes)
	inv.mu.Unlock()
	inv.notifyNodes(changed)
}

// Delete forgets a slice.
func (inv *Inventory) Delete(s *resourceapi.ResourceSlice) {
	inv.mu.Lock()
	node, ok := inv.nodeOfSlice[s.Name]
	if !ok {
		inv.mu.Unlock()
		return
	}
	inv.removeLocked(s.Name)
	changed := inv.rebuildLocked([]string{node})
	inv.mu.Unlock()
	inv.notifyNodes(changed)
}

func (inv *Inventory) removeLocked(slice string) {
	node := inv.nodeOfSlice[slice]
	delete(inv.nodeOfSlice, slice)
	delete(inv.slices[node], slice)
	if len(inv.slices[node]) == 0 {
		delete(inv.slices, node)
	}
}

// Slices without a node (network-attached devices) hold no node's GPUs.
func nodeOf(s *resourceapi.ResourceSlice) string {
	if s.Spec.NodeName != nil {
		return *s.Spec.NodeName
	}
	return ""
}

// rebuildLocked rebuilds the given nodes' entries and returns those that changed.
func (inv *Inventory) rebuildLocked(nodes []string) []string {
	var changed []string
	for _, n := range nodes {
		if n == "" {
			continue
		}
		old, g := inv.nodes[n], inv.buildLocked(n)
		if sameGPUs(old, g) {
			continue
		}
		inv.countLocked(old, g)
		if g == nil {
			delete(inv.nodes, n)
		} else {
			inv.nodes[n] = g
		}
		changed = append(changed, n)
	}
	return changed
}

// buildLocked reads the node's GPU devices from its slices of the driver,
// slices in name order. Slices of an older pool generation than the
// newest seen are skipped, as the allocator skips them.
func (inv *Inventory) buildLocked(node string) *NodeGPUs {
	var mine []*resourceapi.ResourceSlice
	newest := map[string]int64{}
	for _, s := range inv.slices[node] {
		if s.Spec.Driver != inv.source.Driver {
			continue
		}
		mine = append(mine, s)
		newest[s.Spec.Pool.Name] = max(newest[s.Spec.Pool.Name], s.Spec.Pool.Generation)
	}
	if len(mine) == 0 {
		return nil
	}
	slices.SortFunc(mine, func(a, b *resourceapi.ResourceSlice) int { return strings.Compare(a.Name, b.Name) })
	g := &NodeGPUs{}
	for _, s := range mine {
		if s.Spec.Pool.Generation < newest[s.Spec.Pool.Name] {
			continue
		}
		for i := range s.Spec.Devices {
			d := &s.Spec.Devices[i]
			dev := Device{ID: structured.MakeDeviceID(s.Spec.Driver, s.Spec.Pool.Name, d.Name)}
			if c, ok := d.Capacity[inv.source.ShareCapacity]; ok {
				dev.MilliShare = c.Value.MilliValue()
			}
			if a, ok := d.Attributes[inv.source.ModelAttribute]; ok && a.StringValue != nil && g.Model == "" {
				g.Model = *a.StringValue
			}
			g.Devices = append(g.Devices, dev)
		}
	}
	if len(g.Devices) == 0 {
		return nil
	}
	return g
}

func sameGPUs(a, b *NodeGPUs) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Model == b.Model && slices.Equal(a.Devices, b.Devices)
}

func (inv *Inventory) notifyNodes(nodes []string) {
	if inv.changed == nil {
		return
	}
	for _, n := range nodes {
		inv.changed(n)
	}
}
