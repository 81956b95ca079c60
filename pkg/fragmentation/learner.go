package fragmentation

import (
	"math"
	"sync"
	"sync/atomic"
)

// Learner learns the expected workload from the pods it is shown. The
// scheduler shows it every pod of its profile once (from the pod informer);
// Score reads the latest Workload without a lock.
type Learner struct {
	mu     sync.Mutex
	counts map[Shape]float64
	// pending counts observations since the last build.
	pending int
	gen     int64
	current atomic.Pointer[Workload]
}

const (
	// rebuildEvery bounds how stale the workload may get: it is rebuilt at
	// once for a new shape, and after this many observations of known ones.
	rebuildEvery = 16
	// cpuQuantum and memoryQuantum round requests up so near-equal pods
	// share a shape (fewer shapes: a cheaper Score).
	cpuQuantum    = 250       // milli-CPU
	memoryQuantum = 256 << 20 // bytes
	maxShapes     = 128       // the heaviest shapes kept when there are more
)

// NewLearner returns a learner that has seen nothing: its workload is empty.
func NewLearner() *Learner {
	l := &Learner{counts: map[Shape]float64{}}
	l.current.Store(&Workload{})
	return l
}

// Quantize rounds a shape's CPU and memory up to the learner's grid.
func Quantize(s Shape) Shape {
	s.MilliCPU = roundUp(s.MilliCPU, cpuQuantum)
	s.Memory = roundUp(s.Memory, memoryQuantum)
	if s.Models == 0 {
		s.Models = AnyModel
	}
	return s
}

func roundUp(v, q int64) int64 {
	if v <= 0 {
		return 0
	}
	return (v + q - 1) / q * q
}

// Observe counts one pod of the shape.
func (l *Learner) Observe(s Shape) {
	s = Quantize(s)
	l.mu.Lock()
	defer l.mu.Unlock()
	_, known := l.counts[s]
	l.counts[s]++
	l.pending++
	if !known || l.pending >= rebuildEvery {
		l.rebuildLocked()
	}
}

func (l *Learner) rebuildLocked() {
	shapes := make([]WeightedShape, 0, len(l.counts))
	for s, n := range l.counts {
		shapes = append(shapes, WeightedShape{Shape: s, Weight: n})
	}
	w := NewWorkload(shapes)
	if len(w.gpu)+len(w.frac) > maxShapes {
		// Keep the heaviest GPU shapes; the rest count as pods that fit
		// nowhere, which errs toward keeping capacity whole.
		w = NewWorkload(heaviest(w.Shapes, maxShapes))
	}
	l.gen++
	w.Generation = l.gen
	l.pending = 0
	l.current.Store(w)
}

// heaviest keeps the n heaviest GPU shapes and every CPU shape (shapes is
// sorted heaviest first).
func heaviest(shapes []WeightedShape, n int) []WeightedShape {
	out := make([]WeightedShape, 0, n+1)
	var dropped float64
	for _, s := range shapes {
		switch {
		case !s.WantsGPU():
			out = append(out, s)
		case n > 0:
			out = append(out, s)
			n--
		default:
			dropped += s.Weight
		}
	}
	// The dropped weight stays in the total as a shape no node can hold.
	return append(out, WeightedShape{Shape: Shape{GPUs: math.MaxInt32, Models: AnyModel}, Weight: dropped})
}

// Workload returns the workload learned so far (never nil).
func (l *Learner) Workload() *Workload { return l.current.Load() }
