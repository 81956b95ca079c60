package fragmentation

import (
	"cmp"
	"slices"
)

// shapeList is a scan list of GPU shapes (fewest GPUs first, then least
// CPU, then least memory) cut into groups of equal GPU count. Each group
// knows the most CPU and memory any of its shapes asks, so a node with at
// least that much free takes the whole group's probability without a scan:
// on most nodes most groups fit whole, and Score costs a few operations per
// GPU count instead of one per shape.
type shapeList struct {
	shapes []gpuShape
	groups []shapeGroup
	// byMemory[start:end] holds the indexes of a group's shapes, most
	// memory first: with the CPU order of shapes, the shapes a pod's CPU or
	// memory pushes out of a node's reach are two short scans from the top.
	byMemory []int32
}

type shapeGroup struct {
	gpus           int64
	end            int // shapes[previous end:end] is the group
	maxMilliCPU    int64
	maxMemory      int64
	p              float64
	acceptsAnyNode bool // every shape accepts every model: no model check
}

// newShapeList groups sorted shapes; accepted says every shape is already
// known to accept the model of the nodes the list is scanned for.
func newShapeList(shapes []gpuShape, accepted bool) shapeList {
	l := shapeList{shapes: shapes}
	for i, s := range shapes {
		if len(l.groups) == 0 || l.groups[len(l.groups)-1].gpus != s.GPUs {
			l.groups = append(l.groups, shapeGroup{gpus: s.GPUs, acceptsAnyNode: true})
		}
		g := &l.groups[len(l.groups)-1]
		g.end = i + 1
		g.maxMilliCPU = max(g.maxMilliCPU, s.MilliCPU)
		g.maxMemory = max(g.maxMemory, s.Memory)
		g.p += s.p
		g.acceptsAnyNode = g.acceptsAnyNode && (accepted || s.Models == AnyModel)
	}
	l.byMemory = make([]int32, len(shapes))
	start := 0
	for _, g := range l.groups {
		idx := l.byMemory[start:g.end]
		for i := range idx {
			idx[i] = int32(start + i)
		}
		slices.SortFunc(idx, func(a, b int32) int { return cmp.Compare(shapes[b].Memory, shapes[a].Memory) })
		start = g.end
	}
	return l
}

// whole reports whether every shape of g fits f (g.gpus <= f.GPUs checked).
func (g *shapeGroup) whole(f *Free) bool {
	return g.acceptsAnyNode && g.maxMilliCPU <= f.MilliCPU && g.maxMemory <= f.Memory
}

// usable is the probability that the next pod is a GPU pod that fits f.
func (w *Workload) usable(f *Free) float64 {
	l := w.shapesFor(f.Model)
	var p float64
	start := 0
	for i := range l.groups {
		g := &l.groups[i]
		if g.gpus > f.GPUs {
			break
		}
		if g.whole(f) {
			p += g.p
		} else {
			p += scanFits(l.shapes[start:g.end], f)
		}
		start = g.end
	}
	return p
}

// usable2 is usable of before and of after in one pass; after must have no
// more of anything than before (a pod placed on it), so a shape that does
// not fit before does not fit after.
func (w *Workload) usable2(before, after *Free) (pb, pa float64) {
	l := w.shapesFor(before.Model)
	start := 0
	for i := range l.groups {
		g := &l.groups[i]
		if g.gpus > before.GPUs {
			break
		}
		shapes := l.shapes[start:g.end]
		start = g.end
		switch {
		case g.gpus <= after.GPUs && g.whole(after): // then whole before too
			pb += g.p
			pa += g.p
		case g.whole(before):
			pb += g.p
			if g.gpus <= after.GPUs {
				pa += g.p - l.outOfReach(start-len(shapes), shapes, after)
			}
		default:
			b, a := scanFits2(shapes, before, after)
			pb += b
			pa += a
		}
	}
	return pb, pa
}

// outOfReach sums the probability of the shapes of one group (shapes, at
// offset start of the list) that do not fit f, all of them accepting f's
// model and within its GPUs: those asking more CPU (a suffix of the CPU
// order), and of the rest those asking more memory (a prefix of the memory
// order). A pod placed on a node with room pushes few shapes out, so both
// scans are short where a scan of the fitting shapes would be long.
func (l *shapeList) outOfReach(start int, shapes []gpuShape, f *Free) float64 {
	var p float64
	for i := len(shapes) - 1; i >= 0 && shapes[i].MilliCPU > f.MilliCPU; i-- {
		p += shapes[i].p
	}
	for _, i := range l.byMemory[start : start+len(shapes)] {
		s := &l.shapes[i]
		if s.Memory <= f.Memory {
			break
		}
		if s.MilliCPU <= f.MilliCPU {
			p += s.p
		}
	}
	return p
}

// scanFits sums the probability of the shapes of one group that fit f; the
// group's GPU count fits. Shapes are sorted by CPU within the group.
func scanFits(shapes []gpuShape, f *Free) float64 {
	var p float64
	for i := range shapes {
		s := &shapes[i]
		if s.MilliCPU > f.MilliCPU {
			break
		}
		if s.Memory <= f.Memory && s.Models&f.Model != 0 {
			p += s.p
		}
	}
	return p
}

func scanFits2(shapes []gpuShape, before, after *Free) (pb, pa float64) {
	for i := range shapes {
		s := &shapes[i]
		if s.MilliCPU > before.MilliCPU {
			break
		}
		if s.Memory > before.Memory || s.Models&before.Model == 0 {
			continue
		}
		pb += s.p
		if s.fits(after) {
			pa += s.p
		}
	}
	return pb, pa
}
