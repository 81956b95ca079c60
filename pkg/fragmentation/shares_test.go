package fragmentation

import (
	"math"
	"math/rand/v2"
	"testing"
)

// shared builds a node with ample CPU and memory whose GPUs have the given
// free thousandths, in device order.
func shared(free ...int64) Free {
	f := Free{MilliCPU: 64000, Memory: 256 * gi, Model: AnyModel}
	f.Shares.N = uint8(len(free))
	for i, v := range free {
		f.Shares.Set(i, v)
	}
	f.GPUs = f.Shares.Whole()
	return f
}

var (
	half     = Shape{MilliGPU: 500, MilliCPU: 4000, Memory: 8 * gi}
	share460 = Shape{MilliGPU: 460, MilliCPU: 4000, Memory: 8 * gi}
	whole1   = Shape{GPUs: 1, MilliCPU: 4000, Memory: 8 * gi}
)

func TestSharedFragmentation(t *testing.T) {
	halfAndWhole := []WeightedShape{{Shape: half, Weight: 1}, {Shape: whole1, Weight: 1}}
	for _, tc := range []struct {
		name   string
		shapes []WeightedShape
		free   Free
		want   float64
	}{
		// The 1-GPU shape (p=.5) cannot use the half-free GPU: 0.5 of a GPU
		// fragmented for it; the half shape can use both GPUs.
		{"half-used GPU beside a free one", halfAndWhole, shared(1000, 500), 0.25},
		{"two free GPUs: every shape fits", halfAndWhole, shared(1000, 1000), 0},
		// 0.3 free is below the half shape and no whole GPU is free: for
		// every shape, all 0.3 is fragmented.
		{"a sliver below every shape", halfAndWhole, shared(300, 0), 0.3},
		// Only the half shape fits (no whole GPU): the 1-GPU shape sees
		// 0.5+0.3 fragmented, the half shape sees the 0.3.
		{"partials only", halfAndWhole, shared(500, 300), 0.5*0.8 + 0.5*0.3},
		{"fully used node", halfAndWhole, shared(0, 0), 0},
		// CPU gone: nothing fits, all free capacity is fragmented.
		{"CPU exhausted", halfAndWhole, func() Free { f := shared(1000, 500); f.MilliCPU = 1000; return f }(), 1.5},
		// A node counted in whole GPUs, against a workload with a sharing shape.
		{"whole-GPU node, sharing workload", halfAndWhole, Free{GPUs: 2, MilliCPU: 64000, Memory: 256 * gi, Model: AnyModel}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewWorkload(tc.shapes).Fragmentation(tc.free); !near(got, tc.want) {
				t.Errorf("Fragmentation = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTakeIsFirstFit(t *testing.T) {
	for _, tc := range []struct {
		name string
		free Free
		pod  Shape
		want []uint16
	}{
		{"share on the first GPU with room", shared(540, 1000), share460, []uint16{80, 1000}},
		{"share skips a GPU too full", shared(300, 1000), share460, []uint16{300, 540}},
		{"whole GPU skips the shared one", shared(300, 1000, 1000), whole1, []uint16{300, 0, 1000}},
		{"two whole GPUs", shared(1000, 500, 1000, 1000), Shape{GPUs: 2}, []uint16{0, 500, 0, 1000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := take(tc.free, &tc.pod)
			for i, v := range tc.want {
				if got.Shares.Free[i] != v {
					t.Fatalf("after take: %v, want %v", got.Shares.Free[:got.Shares.N], tc.want)
				}
			}
			if got.GPUs != got.Shares.Whole() {
				t.Errorf("GPUs = %d, want the %d wholly free", got.GPUs, got.Shares.Whole())
			}
		})
	}
}

// A 0.46-GPU pod goes where it least fragments free GPU shares: onto the
// partly used GPU whose leftover the coming shapes can still use, before a
// partly used GPU it would leave a useless sliver on, before a fresh GPU.
func TestShareGoesWhereItsLeftoverStaysUsable(t *testing.T) {
	w := NewWorkload([]WeightedShape{{Shape: share460, Weight: 1}, {Shape: whole1, Weight: 1}})
	leavesHalf := w.Delta(shared(960, 1000), share460)   // 0.48 -> 0.25
	leavesSliver := w.Delta(shared(540, 1000), share460) // 0.27 -> 0.08
	opensFresh := w.Delta(shared(1000, 1000), share460)  // 0 -> 0.27
	for _, c := range []struct {
		name string
		got  float64
		want float64
	}{{"leaves 0.5", leavesHalf, -0.23}, {"leaves 0.08", leavesSliver, -0.19}, {"opens a fresh GPU", opensFresh, 0.27}} {
		if !near(c.got, c.want) {
			t.Errorf("%s: delta %v, want %v", c.name, c.got, c.want)
		}
	}
	if !(leavesHalf < leavesSliver && leavesSliver < opensFresh) {
		t.Errorf("order: leaves half %v, leaves sliver %v, opens fresh %v; want increasing", leavesHalf, leavesSliver, opensFresh)
	}
}

// Without shares and without sharing shapes the shared measure is the
// whole-GPU one: random nodes and workloads, both paths, same values.
func TestSharedMeasureReducesToWholeGPUs(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	models := []ModelSet{ModelBit("A"), ModelBit("B")}
	for iter := 0; iter < 200; iter++ {
		var shapes []WeightedShape
		for i := 0; i < 1+rng.IntN(30); i++ {
			m := AnyModel
			if rng.IntN(4) == 0 {
				m = models[rng.IntN(2)]
			}
			shapes = append(shapes, WeightedShape{Shape: Shape{
				MilliCPU: int64(rng.IntN(16)) * 1000, Memory: int64(rng.IntN(16)) * gi, GPUs: int64(rng.IntN(5)), Models: m,
			}, Weight: float64(1 + rng.IntN(5))})
		}
		w := NewWorkload(shapes)
		for j := 0; j < 20; j++ {
			f := Free{MilliCPU: int64(rng.IntN(18)) * 1000, Memory: int64(rng.IntN(18)) * gi, GPUs: int64(rng.IntN(6)), Model: models[rng.IntN(2)]}
			pod := Shape{MilliCPU: min(f.MilliCPU, int64(rng.IntN(6))*1000), Memory: min(f.Memory, int64(rng.IntN(6))*gi), GPUs: min(f.GPUs, int64(rng.IntN(3)))}
			if a, b := w.Fragmentation(f), w.sharedFragmentation(&f); !near(a, b) {
				t.Fatalf("node %+v: Fragmentation %v, shared path %v", f, a, b)
			}
			if a, b := w.Delta(f, pod), w.sharedDelta(&f, &pod); !near(a, b) {
				t.Fatalf("node %+v, pod %+v: Delta %v, shared path %v", f, pod, a, b)
			}
		}
	}
}

// TestSharedFragmentationMatchesDefinition: on random shared nodes and
// workloads of whole, sharing and CPU shapes, the measure is FGD's
// definition evaluated shape by shape.
func TestSharedFragmentationMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	models := []ModelSet{ModelBit("A"), ModelBit("B")}
	for iter := 0; iter < 300; iter++ {
		var shapes []WeightedShape
		for i := 0; i < 1+rng.IntN(25); i++ {
			s := Shape{MilliCPU: int64(rng.IntN(16)) * 1000, Memory: int64(rng.IntN(16)) * gi, Models: AnyModel}
			switch rng.IntN(3) {
			case 0:
				s.GPUs = int64(1 + rng.IntN(4))
			case 1:
				s.MilliGPU = int64(1+rng.IntN(19)) * 50
			}
			if rng.IntN(4) == 0 {
				s.Models = models[rng.IntN(2)]
			}
			shapes = append(shapes, WeightedShape{Shape: s, Weight: float64(1 + rng.IntN(5))})
		}
		// A shape of g whole GPUs weighs g^0.75 times its pods (gpuEmphasis).
		weight := func(s WeightedShape) float64 { return s.Weight * math.Pow(float64(max(s.GPUs, 1)), 0.75) }
		var total float64
		for _, s := range shapes {
			total += weight(s)
		}
		w := NewWorkload(shapes)
		for j := 0; j < 20; j++ {
			f := Free{MilliCPU: int64(rng.IntN(18)) * 1000, Memory: int64(rng.IntN(18)) * gi, Model: models[rng.IntN(2)]}
			f.Shares.N = uint8(rng.IntN(9))
			for i := 0; i < int(f.Shares.N); i++ {
				f.Shares.Set(i, []int64{0, 1000, int64(rng.IntN(20)) * 50}[rng.IntN(3)])
			}
			f.GPUs = f.Shares.Whole()
			var want float64
			for _, s := range shapes {
				var free, usable float64
				var whole int64
				fits := s.MilliCPU <= f.MilliCPU && s.Memory <= f.Memory && s.Models&f.Model != 0
				room := false
				for i := 0; i < int(f.Shares.N); i++ {
					v := int64(f.Shares.Free[i])
					free += float64(v) / 1000
					if v == 1000 {
						whole++
					}
					if s.MilliGPU > 0 && v >= s.MilliGPU {
						usable += float64(v) / 1000
						room = true
					}
					if s.GPUs > 0 && v == 1000 {
						usable++
					}
				}
				fits = fits && (s.MilliGPU > 0 && room || s.GPUs > 0 && s.GPUs <= whole)
				frag := free
				if fits {
					frag = free - usable
				}
				want += weight(s) / total * frag
			}
			if got := w.Fragmentation(f); math.Abs(got-want) > 1e-9 {
				t.Fatalf("node %+v, shapes %v: Fragmentation %v, definition %v", f, shapes, got, want)
			}
		}
	}
}
