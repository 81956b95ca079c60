package main

import (
	"fmt"
	"math"
	"strings"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

type result struct {
	unallocated, allocated, demandAtFail float64
	firstFail, gpuPlaced, gpuPods        int
	left                                 leftover
}

// leftover sorts the GPUs left unallocated at the end by why they stayed.
type leftover struct {
	// wholeStarved: wholly free GPUs on nodes with under 4 cores or 16 GiB
	// free per free GPU; whole: the other wholly free GPUs.
	wholeStarved, whole float64
	// partial: free shares of partly used GPUs, by size below 100m,
	// 100-199m, ... 900-999m.
	partial [10]float64
}

func breakdown(c []node) leftover {
	var l leftover
	for i := range c {
		f := &c[i].free
		w := float64(f.Shares.Whole())
		if w > 0 && (float64(f.MilliCPU) < 4000*w || float64(f.Memory) < 16*(1<<30)*w) {
			l.wholeStarved += w
		} else {
			l.whole += w
		}
		for d := 0; d < int(f.Shares.N); d++ {
			if v := f.Shares.Free[d]; v > 0 && v < fragmentation.MilliPerGPU {
				l.partial[v/100] += float64(v) / fragmentation.MilliPerGPU
			}
		}
	}
	return l
}

func (l leftover) String() string {
	s := fmt.Sprintf("wholly free %.0f, +%.0f on nodes with under 4 cores or 16 GiB free per free GPU; free shares of partly used GPUs, by size:", l.whole, l.wholeStarved)
	for i, v := range l.partial {
		if v > 0 {
			s += fmt.Sprintf(" %d00-%d99m %.1f,", i, i, v)
		}
	}
	return strings.TrimSuffix(s, ",")
}

func replay(initial []node, shapes []fragmentation.Shape, rule deviceRule) result {
	c := make([]node, len(initial))
	copy(c, initial)
	capacity := float64(totalGPUs(c))
	learner := fragmentation.NewLearner()
	res := result{firstFail: -1}
	var demand, used float64
	for i, s := range shapes {
		learner.Observe(s)
		ask := float64(s.GPUs) + float64(s.MilliGPU)/fragmentation.MilliPerGPU
		if s.WantsGPU() {
			res.gpuPods++
			demand += ask
		}
		best := choose(c, s, learner.Workload(), rule)
		if best < 0 {
			if s.WantsGPU() && res.firstFail < 0 && demand <= capacity {
				res.firstFail, res.demandAtFail = i, demand/capacity
			}
			continue
		}
		c[best].free, _ = place(c[best].free, s, rule, learner.Workload())
		if s.WantsGPU() {
			res.gpuPlaced++
			used += ask
		}
	}
	res.allocated = used / capacity
	res.unallocated = capacity - used
	res.left = breakdown(c)
	return res
}

// choose picks the node: for a GPU pod the least growth of fragmentation,
// then the fuller node; for a CPU pod the fullest CPU-only node that fits,
// else the GPU node it fragments least.
func choose(c []node, s fragmentation.Shape, w *fragmentation.Workload, rule deviceRule) int {
	best, bestDelta, bestFill := -1, math.Inf(1), -1.0
	for i := range c {
		n := &c[i]
		if !fits(&n.free, &s) {
			continue
		}
		var delta float64
		if n.alloc.GPUs > 0 || s.WantsGPU() {
			if !s.WantsGPU() {
				delta = 1000 // a GPU node comes after every CPU node
			}
			after, ok := place(n.free, s, rule, w)
			if !ok {
				continue
			}
			delta += w.Fragmentation(after) - w.Fragmentation(n.free)
		}
		delta = math.Round(delta*1e4) / 1e4
		f := fill(n, &s)
		if delta < bestDelta || delta == bestDelta && f > bestFill {
			best, bestDelta, bestFill = i, delta, f
		}
	}
	return best
}

func fits(f *fragmentation.Free, s *fragmentation.Shape) bool {
	if s.MilliCPU > f.MilliCPU || s.Memory > f.Memory {
		return false
	}
	if !s.WantsGPU() {
		return true
	}
	if s.Models&f.Model == 0 {
		return false
	}
	if s.MilliGPU == 0 {
		return s.GPUs <= f.GPUs
	}
	for i := 0; i < int(f.Shares.N); i++ {
		if int64(f.Shares.Free[i]) >= s.MilliGPU {
			return true
		}
	}
	return false
}

// place puts s on a node with f free (s fits), choosing the device by rule.
func place(f fragmentation.Free, s fragmentation.Shape, rule deviceRule, w *fragmentation.Workload) (fragmentation.Free, bool) {
	f.MilliCPU -= s.MilliCPU
	f.Memory -= s.Memory
	switch {
	case s.MilliGPU > 0:
		dev := -1
		bestFrag := math.Inf(1)
		for i := 0; i < int(f.Shares.N); i++ {
			free := int64(f.Shares.Free[i])
			if free < s.MilliGPU {
				continue
			}
			switch rule {
			case firstFit:
				dev = i
			case bestFit:
				if dev < 0 || free < int64(f.Shares.Free[dev]) {
					dev = i
				}
			case fgdFit:
				g := f
				g.Shares.Set(i, free-s.MilliGPU)
				g.GPUs = g.Shares.Whole()
				if v := w.Fragmentation(g); v < bestFrag {
					dev, bestFrag = i, v
				}
			}
			if rule == firstFit {
				break
			}
		}
		if dev < 0 {
			return f, false
		}
		f.Shares.Set(dev, int64(f.Shares.Free[dev])-s.MilliGPU)
	case s.GPUs > 0:
		n := s.GPUs
		for i := 0; i < int(f.Shares.N) && n > 0; i++ {
			if f.Shares.Free[i] == fragmentation.MilliPerGPU {
				f.Shares.Set(i, 0)
				n--
			}
		}
		if n > 0 {
			return f, false
		}
	}
	f.GPUs = f.Shares.Whole()
	return f, true
}

// fill is the node's share of CPU and memory (and GPUs, weighted 5, for a
// GPU pod) in use after the pod: the tie-break of MLPolicy's score.
func fill(n *node, s *fragmentation.Shape) float64 {
	var num, den float64
	add := func(w float64, free, alloc, ask int64) {
		if alloc > 0 {
			num += w * float64(min(alloc-free+ask, alloc)) / float64(alloc)
			den += w
		}
	}
	if s.WantsGPU() {
		var free int64
		for i := 0; i < int(n.free.Shares.N); i++ {
			free += int64(n.free.Shares.Free[i])
		}
		add(5, free, n.alloc.GPUs*fragmentation.MilliPerGPU, s.GPUs*fragmentation.MilliPerGPU+s.MilliGPU)
	}
	add(1, n.free.MilliCPU, n.alloc.MilliCPU, s.MilliCPU)
	add(1, n.free.Memory, n.alloc.Memory, s.Memory)
	return num / den
}
