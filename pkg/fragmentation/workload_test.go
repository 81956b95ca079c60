package fragmentation

import (
	"math"
	"math/rand/v2"
	"testing"
)

const gi = int64(1) << 30

// The hand-worked cluster of these tests: a "big" node shape (8 GPUs, 128
// cores, 768Gi) that alone can hold the 8-GPU job, and a "small" one (8
// GPUs, 96 cores, 384Gi) that cannot; nine 1-GPU pods come for every 8-GPU job.
var (
	oneGPU  = Shape{GPUs: 1, MilliCPU: 12000, Memory: 24 * gi}
	bigJob  = Shape{GPUs: 8, MilliCPU: 120000, Memory: 600 * gi}
	cpuOnly = Shape{MilliCPU: 4000, Memory: 8 * gi}
	mix     = []WeightedShape{{Shape: oneGPU, Weight: 9}, {Shape: bigJob, Weight: 1}}
	bigNode = Free{GPUs: 8, MilliCPU: 128000, Memory: 768 * gi, Model: AnyModel}
	small   = Free{GPUs: 8, MilliCPU: 96000, Memory: 384 * gi, Model: AnyModel}
)

// pBig is the big job's weight in the measure: one job per nine 1-GPU pods,
// weighed by its 8 GPUs to the power 0.75 (gpuEmphasis), 4.76 pods.
var pBig = math.Pow(8, 0.75) / (9 + math.Pow(8, 0.75))

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

func TestFragmentation(t *testing.T) {
	t4, v100 := ModelBit("T4"), ModelBit("V100")
	onlyT4 := Shape{GPUs: 1, MilliCPU: 4000, Memory: 8 * gi, Models: t4}
	for _, tc := range []struct {
		name   string
		shapes []WeightedShape
		free   Free
		want   float64
	}{
		{"every shape fits: nothing fragmented", mix, bigNode, 0},
		// The big job (pBig) cannot fit: its view of the 8 free GPUs is all fragments.
		{"big job does not fit the small node", mix, small, 8 * pBig},
		{"no GPU free: no fragment", mix, Free{MilliCPU: 96000, Memory: 384 * gi, Model: AnyModel}, 0},
		// CPU gone: no GPU pod fits, all 3 free GPUs are stranded.
		{"CPU exhausted strands every free GPU", mix, Free{GPUs: 3, MilliCPU: 2000, Memory: 300 * gi, Model: AnyModel}, 3},
		// CPU-only shapes use no GPU: they see all free GPUs as fragments.
		{"CPU-only shapes count every free GPU", []WeightedShape{{Shape: oneGPU, Weight: 1}, {Shape: cpuOnly, Weight: 3}}, bigNode, 8 * 0.75},
		{"model the shape does not accept", []WeightedShape{{Shape: onlyT4, Weight: 1}}, Free{GPUs: 2, MilliCPU: 64000, Memory: 64 * gi, Model: v100}, 2},
		{"model the shape accepts", []WeightedShape{{Shape: onlyT4, Weight: 1}}, Free{GPUs: 2, MilliCPU: 64000, Memory: 64 * gi, Model: t4}, 0},
		{"empty workload: every free GPU", nil, bigNode, 8},
		// One pod each, but the 4-GPU job weighs 4^0.75 = 2.83 pods, and it
		// cannot use 3 free GPUs.
		{"a 4-GPU job weighs 2.83 1-GPU pods", []WeightedShape{{Shape: oneGPU, Weight: 1}, {Shape: Shape{GPUs: 4, MilliCPU: 8000, Memory: 8 * gi}, Weight: 1}}, Free{GPUs: 3, MilliCPU: 64000, Memory: 64 * gi, Model: AnyModel}, 3 * math.Pow(4, 0.75) / (1 + math.Pow(4, 0.75))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := NewWorkload(tc.shapes).Fragmentation(tc.free); !near(got, tc.want) {
				t.Errorf("Fragmentation = %v, want %v", got, tc.want)
			}
		})
	}
}

// A 1-GPU pod must not open the only node shape that fits the big job.
func TestDeltaKeepsTheBigNodeWhole(t *testing.T) {
	w := NewWorkload(mix)
	onBig, onSmall := w.Delta(bigNode, oneGPU), w.Delta(small, oneGPU)
	// big: 0 -> 7 GPUs x pBig; small: 8 x pBig -> 7 x pBig.
	if !near(onBig, 7*pBig) || !near(onSmall, -pBig) {
		t.Fatalf("Delta on big = %v (want %v), on small = %v (want %v)", onBig, 7*pBig, onSmall, -pBig)
	}
	if onSmall >= onBig {
		t.Errorf("1-GPU pod prefers the big node: delta %v there vs %v on the small one", onBig, onSmall)
	}
	// The big job itself empties the big node: fragmentation can only fall.
	if d := w.Delta(bigNode, bigJob); d > 0 {
		t.Errorf("big job on the big node: delta %v, want <= 0", d)
	}
}

// A CPU pod that eats a GPU node's CPU strands its GPUs: positive delta,
// and more the more it takes.
func TestDeltaCPUPodOnGPUNode(t *testing.T) {
	w := NewWorkload(mix)
	light := w.Delta(small, Shape{MilliCPU: 8000, Memory: 16 * gi})
	heavy := w.Delta(small, Shape{MilliCPU: 90000, Memory: 16 * gi})
	if !near(light, 0) {
		t.Errorf("light CPU pod: delta %v, want 0 (1-GPU pods still fit)", light)
	}
	if !near(heavy, 8*(1-pBig)) { // 6 cores left < 12: no 1-GPU pod fits any more
		t.Errorf("heavy CPU pod: delta %v, want %v", heavy, 8*(1-pBig))
	}
}

func TestKeepPerGPU(t *testing.T) {
	// Per GPU: 1-GPU pods ask 12 cores / 24Gi (p=0.9), the big job 15 / 75 (p=0.1):
	// 3 of 4 expected GPU pods ask at most 12 cores and 24Gi per GPU.
	w := NewWorkload(mix)
	if w.KeepMilliCPUPerGPU != 12000 || w.KeepMemoryPerGPU != 24*gi {
		t.Fatalf("keep per GPU = %dm/%dGi, want 12000m/24Gi", w.KeepMilliCPUPerGPU, w.KeepMemoryPerGPU/gi)
	}
	w = NewWorkload([]WeightedShape{{Shape: oneGPU, Weight: 1}, {Shape: bigJob, Weight: 3}})
	if w.KeepMilliCPUPerGPU != 15000 || w.KeepMemoryPerGPU != 75*gi {
		t.Fatalf("keep per GPU = %dm/%dGi, want the big job's 15000m/75Gi", w.KeepMilliCPUPerGPU, w.KeepMemoryPerGPU/gi)
	}
}

func TestLearner(t *testing.T) {
	l := NewLearner()
	if !l.Workload().Empty() {
		t.Fatal("new learner has a workload")
	}
	for i := 0; i < 9; i++ {
		l.Observe(Shape{GPUs: 1, MilliCPU: 11900, Memory: 24*gi - 1}) // rounds up to oneGPU
	}
	l.Observe(bigJob)
	w := l.Workload()
	if got := w.Fragmentation(small); !near(got, 8*pBig) {
		t.Errorf("learned workload: fragmentation of the small node = %v, want %v", got, 8*pBig)
	}
	if len(w.Shapes) != 2 || w.Shapes[0].Shape != Quantize(oneGPU) || w.Shapes[0].Weight != 9 {
		t.Errorf("learned shapes = %+v, want 9 x %v then the big job", w.Shapes, oneGPU)
	}
	if w.Generation == 0 {
		t.Error("learned workload has generation 0")
	}
}

// Past maxShapes the lightest GPU shapes are dropped but their weight is
// kept as a shape nothing can hold, so probabilities are not inflated.
func TestLearnerCapKeepsMass(t *testing.T) {
	l := NewLearner()
	for i := 0; i < maxShapes+10; i++ {
		s := Shape{GPUs: 1, MilliCPU: int64(1000 + i*cpuQuantum), Memory: gi}
		for j := 0; j <= i%3; j++ {
			l.Observe(s)
		}
	}
	w := l.Workload()
	if len(w.gpu) != maxShapes+1 {
		t.Fatalf("%d GPU shapes kept, want %d + the sink", len(w.gpu), maxShapes)
	}
	var p float64
	for _, s := range w.gpu {
		p += s.p
	}
	if !near(p, 1) {
		t.Errorf("probabilities sum to %v, want 1", p)
	}
	huge := Free{GPUs: 8, MilliCPU: 1 << 40, Memory: 1 << 50, Model: AnyModel}
	if f := w.Fragmentation(huge); f <= 0 {
		t.Errorf("dropped weight vanished: fragmentation of a node every kept shape fits = %v, want > 0", f)
	}
}

func TestModelBit(t *testing.T) {
	a, b := ModelBit("A100-test"), ModelBit("H100-test")
	if a == b || a == 0 || b == 0 || a == ModelBit("") {
		t.Fatalf("bits A100=%b H100=%b none=%b must differ and be non-zero", a, b, ModelBit(""))
	}
	if ModelBit("A100-test") != a {
		t.Error("ModelBit is not stable")
	}
	if ModelsOf(nil) != AnyModel || ModelsOf([]string{"A100-test", "H100-test"}) != a|b {
		t.Error("ModelsOf")
	}
}

func TestPressure(t *testing.T) {
	a, b, c := ModelBit("pressure-A"), ModelBit("pressure-B"), ModelBit("pressure-C")
	w := NewWorkload([]WeightedShape{
		{Shape: Shape{GPUs: 1, MilliCPU: 1000, Memory: gi}, Weight: 6},
		{Shape: Shape{GPUs: 1, MilliCPU: 1000, Memory: gi, Models: a}, Weight: 2},
		{Shape: Shape{GPUs: 2, MilliCPU: 1000, Memory: gi, Models: b | c}, Weight: 1},
	})
	if !w.Restricted() {
		t.Fatal("workload with model-restricted shapes reports none")
	}
	var free, got [MaxModels]float64
	free[ModelIndex(a)], free[ModelIndex(b)], free[ModelIndex(c)] = 10, 30, 60
	w.Pressure(&free, &got)
	// Expected GPUs per pod: (6*1 + 2*1 + 1*2)/9 = 10/9. Only-A demand 2/9,
	// split wholly to A; the B|C demand 2/9 split 30:60.
	// pressure = demand/(10/9) * 100/free.
	want := map[ModelSet]float64{a: 0.2 * 100 / 10, b: (2.0 / 9 / 3) / (10.0 / 9) * 100 / 30, c: (2.0 / 9 * 2 / 3) / (10.0 / 9) * 100 / 60}
	for m, v := range want {
		if g := got[ModelIndex(m)]; !near(g, v) {
			t.Errorf("pressure of model %b = %v, want %v", m, g, v)
		}
	}
	if NewWorkload(mix).Restricted() {
		t.Error("a workload of any-model shapes is restricted")
	}
}

// benchWorkload has about as many shapes as the learner keeps from the
// Alibaba GPU trace (112 distinct requests in its default sample).
func benchWorkload() *Workload {
	gpus := []int64{1, 1, 1, 1, 2, 4, 8}
	var shapes []WeightedShape
	for i := 0; i < 112; i++ {
		shapes = append(shapes, WeightedShape{Shape: Shape{
			MilliCPU: int64(1000 + (i*1500)%30000), Memory: int64(4+(i*7)%120) * gi, GPUs: gpus[i%len(gpus)],
		}, Weight: 1})
	}
	return NewWorkload(shapes)
}

func BenchmarkDelta(b *testing.B) {
	w := benchWorkload()
	// roomy has room for every expected shape; tight (3 GPUs, 20 cores,
	// 64Gi free) cuts every GPU count's group, so those are scanned.
	roomy := Free{MilliCPU: 96000, Memory: 512 * gi, GPUs: 8, Model: ModelBit("")}
	tight := Free{MilliCPU: 20000, Memory: 64 * gi, GPUs: 3, Model: ModelBit("")}
	for _, c := range []struct {
		name string
		node Free
		pod  Shape
	}{
		{"gpu-pod/roomy", roomy, Shape{MilliCPU: 4000, Memory: 16 * gi, GPUs: 1}},
		{"cpu-pod/roomy", roomy, Shape{MilliCPU: 4000, Memory: 16 * gi}},
		{"gpu-pod/tight", tight, Shape{MilliCPU: 4000, Memory: 16 * gi, GPUs: 1}},
		{"cpu-pod/tight", tight, Shape{MilliCPU: 4000, Memory: 16 * gi}},
	} {
		b.Run(c.name, func(b *testing.B) {
			var sum float64
			for b.Loop() {
				sum += w.Delta(c.node, c.pod)
			}
			_ = sum
		})
	}
}

// TestUsableMatchesBruteForce: the grouped scan of usable and usable2 sums
// exactly the shapes that fit, on random workloads and nodes.
func TestUsableMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	models := []ModelSet{ModelBit("A"), ModelBit("B"), ModelBit("")}
	for iter := 0; iter < 300; iter++ {
		var shapes []WeightedShape
		for i := 0; i < 1+rng.IntN(60); i++ {
			m := AnyModel
			if rng.IntN(4) == 0 {
				m = models[rng.IntN(2)]
			}
			shapes = append(shapes, WeightedShape{Shape: Shape{
				MilliCPU: int64(rng.IntN(16)) * 1000, Memory: int64(rng.IntN(16)) * gi,
				GPUs: int64(rng.IntN(5)), Models: m,
			}, Weight: float64(1 + rng.IntN(5))})
		}
		w := NewWorkload(shapes)
		var total float64
		for _, s := range shapes {
			total += s.Weight * math.Pow(float64(max(s.GPUs, 1)), 0.75)
		}
		brute := func(f Free) float64 {
			var p float64
			for _, s := range shapes {
				m := s.Models
				if m == 0 {
					m = AnyModel
				}
				if s.GPUs > 0 && s.GPUs <= f.GPUs && s.MilliCPU <= f.MilliCPU && s.Memory <= f.Memory && m&f.Model != 0 {
					p += s.Weight * math.Pow(float64(s.GPUs), 0.75) / total
				}
			}
			return p
		}
		for j := 0; j < 20; j++ {
			before := Free{MilliCPU: int64(rng.IntN(18)) * 1000, Memory: int64(rng.IntN(18)) * gi, GPUs: int64(rng.IntN(6)), Model: models[rng.IntN(3)]}
			if rng.IntN(5) == 0 {
				before.Model = models[0] | models[1]
			}
			after := before
			after.MilliCPU -= min(before.MilliCPU, int64(rng.IntN(6))*1000)
			after.Memory -= min(before.Memory, int64(rng.IntN(6))*gi)
			after.GPUs -= min(before.GPUs, int64(rng.IntN(3)))
			pb, pa := w.usable2(&before, &after)
			wb, wa := brute(before), brute(after)
			if math.Abs(pb-wb) > 1e-9 || math.Abs(pa-wa) > 1e-9 || math.Abs(w.usable(&before)-wb) > 1e-9 {
				t.Fatalf("workload %v, before %+v after %+v: usable2 = %v, %v, usable = %v; brute force %v, %v",
					shapes, before, after, pb, pa, w.usable(&before), wb, wa)
			}
		}
	}
}
