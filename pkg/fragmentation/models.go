// Package fragmentation measures how much of a node's free GPU capacity the
// pods expected next could not use, after Fragmentation Gradient Descent
// (Weng et al., "Beware of Fragmentation: Scheduling GPU-Sharing Workloads
// with Fragmentation Gradient Descent", USENIX ATC '23).
//
// A node's fragmentation for one pod shape is all its free GPUs when the
// shape cannot be placed there (too few GPUs, CPU or memory, or a GPU model
// the shape does not accept), and none when it can. Against a workload (a
// weighted set of shapes) it is the expected value over the shapes, each
// weighing its pods times its GPUs to the power 0.75 (gpuEmphasis). A pod is
// best placed where that value grows least. GPUs shared by fractions (DRA
// devices with consumable capacity) are measured one by one (shares.go).
package fragmentation

import (
	"sync"
	"sync/atomic"
)

// ModelSet is a set of GPU models as bits. Bit 0 is "no model" (a node
// without the model label); AnyModel accepts every model.
type ModelSet uint64

// AnyModel is the set of a shape that accepts every GPU model.
const AnyModel = ModelSet(^uint64(0))

// maxModels bounds the interned models; later ones share the last bit,
// which only makes shapes restricted to them look a little less restricted.
const maxModels = 64

// models interns GPU model names to bits. It only grows (a cluster has a
// handful of models) and is shared by every policy and workload, so a node's
// bit stays valid across policy swaps.
var models = struct {
	sync.Mutex
	bits  atomic.Pointer[map[string]ModelSet]
	count int
}{}

// ModelBit returns the bit of a GPU model name ("" is the no-model bit).
// Lookups take no lock; a new name takes it once.
func ModelBit(name string) ModelSet {
	if m := models.bits.Load(); m != nil {
		if b, ok := (*m)[name]; ok {
			return b
		}
	}
	models.Lock()
	defer models.Unlock()
	old := map[string]ModelSet{}
	if m := models.bits.Load(); m != nil {
		if b, ok := (*m)[name]; ok {
			return b
		}
		old = *m
	}
	next := make(map[string]ModelSet, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	// Bit 0 is "no model"; named models take bits 1.. in order of first use.
	i := 0
	if name != "" {
		i = models.count + 1
		if i >= maxModels {
			i = maxModels - 1
		} else {
			models.count++
		}
	}
	b := ModelSet(1) << uint(i)
	next[name] = b
	models.bits.Store(&next)
	return b
}

// ModelsOf returns the set of the named models; no names is AnyModel.
func ModelsOf(names []string) ModelSet {
	if len(names) == 0 {
		return AnyModel
	}
	var s ModelSet
	for _, n := range names {
		s |= ModelBit(n)
	}
	return s
}
