package report

import (
	"fmt"
	"strings"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// sharingHeader are the table's columns for replays of DRA GPUs
// (Result.GPUSharing "dra"), where GPU amounts count fractions.
var sharingHeader = []string{
	"workload", "configuration", "GPU capacity allocated", "GPUs unallocated", "first GPU failure", "GPU pods placed",
	"all placed while demand fit", "8-GPU placed", "CPU pods placed", "allocation check", "wall",
}

func hasSharing(results []*simulator.Result) bool {
	for _, r := range results {
		if r.Sharing != nil {
			return true
		}
	}
	return false
}

// sharingRows are the rows under sharingHeader; a result without
// Metrics.Sharing (whole GPUs) gets "-" in the fraction columns.
func sharingRows(results []*simulator.Result) [][]string {
	var out [][]string
	for _, r := range results {
		row := []string{r.Workload, r.Configuration, "-", "-", sharingFailureCell(r.FirstGPUFailure),
			fmt.Sprintf("%d/%d", r.GPUPodsPlaced, r.GPUPods), "-", sizeCell(r.MultiGPU, 8),
			fmt.Sprintf("%d/%d", r.CPUPodsPlaced, r.CPUPods), "-", fmt.Sprintf("%.1fs", r.WallSeconds)}
		if s := r.Sharing; s != nil {
			row[2] = fmt.Sprintf("%.1f/%d (%.1f%%)", s.CapacityAllocated, r.ClusterGPUs, s.CapacityAllocatedPercent)
			row[3] = fmt.Sprintf("%.1f", s.Unallocated)
			row[6] = yesNo(s.AllPlacedWhileDemandFit)
			row[9] = checkCell(s)
		}
		out = append(out, row)
	}
	return out
}

// sharingFailureCell is the first GPU failure with what it asked and the
// demand arrived by then (fractions counted).
func sharingFailureCell(f *simulator.Failure) string {
	if f == nil {
		return "none"
	}
	ask := fmt.Sprintf("%d GPU", f.GPUs)
	if f.GPUMilli > 0 {
		ask = fmt.Sprintf("%.3g GPU", float64(f.GPUMilli)/1000)
	}
	return fmt.Sprintf("#%d (%s), demand %.1f%%, allocated %.1f%%", f.Arrival, ask, f.DemandPercent, f.AllocatedPercent)
}

// sizeCell is "placed/total" of the pods asking gpus GPUs, "-" if none.
func sizeCell(counts []simulator.SizeCount, gpus int64) string {
	for _, sc := range counts {
		if sc.GPUs == gpus {
			return fmt.Sprintf("%d/%d", sc.Placed, sc.Total)
		}
	}
	return "-"
}

// checkCell says whether the allocations are sound: no device holds more
// than itself, every bound GPU pod's claims hold what it asks.
func checkCell(s *simulator.SharingMetrics) string {
	var bad []string
	if n := len(s.DevicesOverAllocated); n > 0 {
		bad = append(bad, fmt.Sprintf("%d devices over-allocated", n))
	}
	if s.BoundPodsMisallocated > 0 {
		bad = append(bad, fmt.Sprintf("%d bound pods misallocated", s.BoundPodsMisallocated))
	}
	if len(bad) == 0 {
		return fmt.Sprintf("ok (%d claims allocated)", s.ClaimsAllocated)
	}
	return strings.Join(bad, ", ")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
