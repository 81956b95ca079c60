package main

import (
	"slices"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
)

// demandOf sums the whole GPUs the pods ask and lists their shares.
func demandOf(shapes []fragmentation.Shape) (whole int64, shares []int64) {
	for _, s := range shapes {
		whole += s.GPUs
		if s.MilliGPU > 0 {
			shares = append(shares, s.MilliGPU)
		}
	}
	return whole, shares
}

func sum(v []int64) float64 {
	var t int64
	for _, x := range v {
		t += x
	}
	return float64(t)
}

// sharedDevicesLowerBound is the Martello-Toth L2 lower bound on the GPUs
// that any placement, even one knowing every pod in advance, needs to hold
// all the shares (thousandths of one GPU each): for every threshold a up
// to half a GPU, the shares above 1000-a each need a GPU of their own, so
// do those above 500 (no two fit together), and the shares from a to 500
// need at least the GPUs their sum exceeds the room the latter leave.
func sharedDevicesLowerBound(shares []int64) int {
	const capacity = fragmentation.MilliPerGPU
	s := slices.Clone(shares)
	slices.Sort(s)
	best := 0
	for a := int64(0); a <= capacity/2; a++ {
		var big, mid, midSum, small int64
		for _, v := range s {
			switch {
			case v > capacity-a:
				big++
			case v > capacity/2:
				mid++
				midSum += v
			case v >= a:
				small += v
			}
		}
		extra := max(0, small-(mid*capacity-midSum))
		best = max(best, int(big+mid+(extra+capacity-1)/capacity))
	}
	return best
}
