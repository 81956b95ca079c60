package main

import (
	"testing"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

func TestSharedDevicesLowerBound(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shares []int64
		want   int
	}{
		{"none", nil, 0},
		{"two halves share one GPU", []int64{500, 500}, 1},
		{"three over half need three", []int64{600, 600, 600}, 3},
		{"sum rounds up", []int64{300, 300, 300, 300}, 2},
		{"a small share fills a big one's room", []int64{800, 200}, 1},
		{"one too big for the room left", []int64{800, 300}, 2},
		// Sum 2.1 GPUs would fit 3 GPUs by the sum alone, but 0.7 and 0.7
		// cannot share, and 0.35+0.35 fit only beside neither 0.7.
		{"room left by big shares is too small", []int64{700, 700, 350, 350}, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sharedDevicesLowerBound(tc.shares); got != tc.want {
				t.Errorf("sharedDevicesLowerBound(%v) = %d, want %d", tc.shares, got, tc.want)
			}
		})
	}
}

func TestPlaceDeviceRules(t *testing.T) {
	// Four GPUs with 0.6, 0.3, 1 and 0.35 free; a 0.3 share.
	var f fragmentation.Free
	f.MilliCPU, f.Memory = 8000, 64<<30
	f.Model = fragmentation.ModelBit("T4")
	f.Shares.N = 4
	for i, v := range []int64{600, 300, 1000, 350} {
		f.Shares.Set(i, v)
	}
	f.GPUs = f.Shares.Whole()
	pod := fragmentation.Shape{MilliCPU: 1000, Memory: 1 << 30, MilliGPU: 300, Models: fragmentation.AnyModel}
	for _, tc := range []struct {
		rule deviceRule
		want [4]uint16
	}{
		{firstFit, [4]uint16{300, 300, 1000, 350}},
		{bestFit, [4]uint16{600, 0, 1000, 350}},
	} {
		t.Run(string(tc.rule), func(t *testing.T) {
			got, ok := place(f, pod, tc.rule, fragmentation.NewLearner().Workload())
			if !ok {
				t.Fatal("place refused a share that fits")
			}
			if [4]uint16(got.Shares.Free[:4]) != tc.want {
				t.Errorf("free after = %v, want %v", got.Shares.Free[:4], tc.want)
			}
			if got.MilliCPU != 7000 || got.GPUs != 1 {
				t.Errorf("CPU %d, whole GPUs %d after; want 7000 and 1", got.MilliCPU, got.GPUs)
			}
		})
	}
	if _, ok := place(f, fragmentation.Shape{GPUs: 2, Models: fragmentation.AnyModel}, firstFit, nil); ok {
		t.Error("place put 2 whole GPUs on a node with 1 wholly free")
	}
}
