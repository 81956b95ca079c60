package gpudra

import (
	"slices"
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
// ResourceSlice events. Readers get an immutable per-node value without a lock.
type Inventory struct {
	mu     sync.Mutex
	source Source
	// slices by name, of every driver: a change of Source re-reads them.
	slices map[string]*resourceapi.ResourceSlice
	nodes  atomic.Pointer[map[string]*NodeGPUs]
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
	inv := &Inventory{source: source, slices: map[string]*resourceapi.ResourceSlice{}, changed: changed, shareCounts: map[int64]int{}}
	inv.nodes.Store(&map[string]*NodeGPUs{})
	return inv
}

// Node returns the node's GPU devices, or nil when it publishes none.
func (inv *Inventory) Node(name string) *NodeGPUs { return (*inv.nodes.Load())[name] }

// Len is the number of nodes publishing GPU devices.
func (inv *Inventory) Len() int { return len(*inv.nodes.Load()) }

// Source returns what the inventory reads as GPUs.
func (inv *Inventory) Source() Source {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	return inv.source
}

// SetSource re-reads every slice under a new source (a policy swap).
func (inv *Inventory) SetSource(s Source) {
	inv.mu.Lock()
	if s == inv.source {
		inv.mu.Unlock()
		return
	}
	inv.source = s
	before := *inv.nodes.Load()
	after := map[string]*NodeGPUs{}
	inv.shareCounts = map[int64]int{}
	for node := range inv.nodesOfSlicesLocked() {
		if g := inv.buildLocked(node); g != nil {
			after[node] = g
			inv.countLocked(nil, g)
		}
	}
	if len(after) == 0 {
		inv.typical.Store(0)
	}
	inv.nodes.Store(&after)
	inv.mu.Unlock()
	inv.notify(before, after)
}

// Upsert records a slice's current state.
func (inv *Inventory) Upsert(s *resourceapi.ResourceSlice) {
	inv.mu.Lock()
	old := inv.slices[s.Name]
	inv.slices[s.Name] = s
	nodes := []string{nodeOf(s)}
	if old != nil && nodeOf(old) != nodes[0] {
		nodes = append(nodes, nodeOf(old))
	}
	changed := inv.rebuildLocked(nodes)
	inv.mu.Unlock()
	inv.notifyNodes(changed)
}

// Delete forgets a slice.
func (inv *Inventory) Delete(s *resourceapi.ResourceSlice) {
	inv.mu.Lock()
	old, ok := inv.slices[s.Name]
	if !ok {
		inv.mu.Unlock()
		return
	}
	delete(inv.slices, s.Name)
	changed := inv.rebuildLocked([]string{nodeOf(old)})
	inv.mu.Unlock()
	inv.notifyNodes(changed)
}

func nodeOf(s *resourceapi.ResourceSlice) string {
	if s.Spec.NodeName != nil {
		return *s.Spec.NodeName
	}
	return ""
}

func (inv *Inventory) nodesOfSlicesLocked() map[string]bool {
	out := map[string]bool{}
	for _, s := range inv.slices {
		if n := nodeOf(s); n != "" && s.Spec.Driver == inv.source.Driver {
			out[n] = true
		}
	}
	return out
}

// rebuildLocked rebuilds the given nodes' entries, publishing a new map
// when one changed, and returns the nodes that changed.
func (inv *Inventory) rebuildLocked(nodes []string) []string {
	cur := *inv.nodes.Load()
	var changed []string
	next := cur
	for _, n := range nodes {
		if n == "" {
			continue
		}
		g := inv.buildLocked(n)
		if sameGPUs(cur[n], g) {
			continue
		}
		inv.countLocked(cur[n], g)
		if len(changed) == 0 {
			next = make(map[string]*NodeGPUs, len(cur)+1)
			for k, v := range cur {
				next[k] = v
			}
		}
		if g == nil {
			delete(next, n)
		} else {
			next[n] = g
		}
		changed = append(changed, n)
	}
	if len(changed) > 0 {
		inv.nodes.Store(&next)
	}
	return changed
}

// buildLocked reads the node's GPU devices from its slices of the driver,
// slices in name order. Slices of an older pool generation than the
// newest seen are skipped, as the allocator skips them.
func (inv *Inventory) buildLocked(node string) *NodeGPUs {
	var mine []*resourceapi.ResourceSlice
	newest := map[string]int64{}
	for _, s := range inv.slices {
		if nodeOf(s) != node || s.Spec.Driver != inv.source.Driver {
			continue
		}
		mine = append(mine, s)
		newest[s.Spec.Pool.Name] = max(newest[s.Spec.Pool.Name], s.Spec.Pool.Generation)
	}
	if len(mine) == 0 {
		return nil
	}
	slices.SortFunc(mine, func(a, b *resourceapi.ResourceSlice) int {
		switch {
		case a.Name < b.Name:
			return -1
		case a.Name > b.Name:
			return 1
		}
		return 0
	})
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

func (inv *Inventory) notify(before, after map[string]*NodeGPUs) {
	var changed []string
	for n, g := range after {
		if !sameGPUs(before[n], g) {
			changed = append(changed, n)
		}
	}
	for n := range before {
		if after[n] == nil {
			changed = append(changed, n)
		}
	}
	inv.notifyNodes(changed)
}

func (inv *Inventory) notifyNodes(nodes []string) {
	if inv.changed == nil {
		return
	}
	for _, n := range nodes {
		inv.changed(n)
	}
}
