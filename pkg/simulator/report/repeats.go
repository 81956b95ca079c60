package report

import (
	"fmt"
	"io"
	"math"
	"slices"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// repeatHeader are the columns of RepeatsMarkdown.
var repeatHeader = []string{
	"workload", "configuration", "runs", "GPUs allocated", "first GPU failure", "first failure a node could hold",
	"8-GPU placed", "CPU pods placed", "CPU pods on GPU nodes",
}

// RepeatsMarkdown writes, for each workload and configuration replayed more
// than once, the spread of the main columns over the runs as "median
// [min-max]". The scheduler breaks score ties at random, so one run is one
// sample: a gap smaller than the spread is not a difference.
func RepeatsMarkdown(w io.Writer, results []*simulator.Result) error {
	type key struct{ workload, configuration string }
	var order []key
	groups := map[key][]*simulator.Result{}
	for _, r := range results {
		k := key{r.Workload, r.Configuration}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], r)
	}
	var table [][]string
	for _, k := range order {
		rs := groups[k]
		if len(rs) < 2 {
			continue
		}
		cells := []string{k.workload, k.configuration, fmt.Sprint(len(rs)),
			spread(rs, func(r *simulator.Result) int64 { return r.GPUsAllocated }),
			spread(rs, func(r *simulator.Result) int64 { return failureArrival(r.FirstGPUFailure) }),
			spread(rs, func(r *simulator.Result) int64 { return failureArrival(r.FirstPlaceableGPUFailure) }),
			spread(rs, func(r *simulator.Result) int64 { return placedOfSize(r, 8) }),
			spread(rs, func(r *simulator.Result) int64 { return int64(r.CPUPodsPlaced) }),
			spread(rs, func(r *simulator.Result) int64 { return int64(r.CPUPodsOnGPUNodes) }),
		}
		table = append(table, cells)
	}
	return markdownTable(w, repeatHeader, 3, table)
}

// noFailure stands for "no pod failed": later than any arrival.
const noFailure = math.MaxInt64

// failureArrival is f's arrival number, noFailure if f is nil.
func failureArrival(f *simulator.Failure) int64 {
	if f == nil {
		return noFailure
	}
	return int64(f.Arrival)
}

func placedOfSize(r *simulator.Result, gpus int64) int64 {
	for _, sc := range r.MultiGPU {
		if sc.GPUs == gpus {
			return int64(sc.Placed)
		}
	}
	return 0
}

// spread is "median [min-max]" of value over rs (the lower median for an
// even count, so every figure is one a run produced).
func spread(rs []*simulator.Result, value func(*simulator.Result) int64) string {
	vs := make([]int64, len(rs))
	for i, r := range rs {
		vs[i] = value(r)
	}
	slices.Sort(vs)
	med, lo, hi := vs[(len(vs)-1)/2], vs[0], vs[len(vs)-1]
	if lo == hi {
		return figure(med)
	}
	return fmt.Sprintf("%s [%s-%s]", figure(med), figure(lo), figure(hi))
}

func figure(v int64) string {
	if v == noFailure {
		return "none"
	}
	return fmt.Sprint(v)
}
