package main

import (
	"fmt"
	"io"
	"runtime"
	"strings"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/gangstream"
)

func singles(w *simulator.Workload) int {
	n := 0
	for _, p := range w.Pods {
		if p.Spec.SchedulingGroup == nil {
			n++
		}
	}
	return n
}

// asked is the GPUs the replayed pods ask.
func asked(r *simulator.Result) int64 {
	var n int64
	for _, p := range r.Placements {
		n += p.GPUs
	}
	return n
}

func writeHead(w io.Writer, o gangstream.Options, demands []int, seeds []uint64, started time.Time, loadBefore string) {
	fmt.Fprintf(w, "# Rack fragmentation under a stream of gangs\n\n")
	fmt.Fprintf(w, "`make bench-gang-placement` (`go run ./bench/cmd/gangplacement -seeds %s -racks %d -nodes-per-rack %d -gpus-per-node %d -demands %s -mix %s`), "+
		"commit %s, %s, %s, %d CPUs, %s total; load average (1 min) %s at the start, %s at the end: other work on the machine slows the replays, so wall times vary with it.\n\n",
		seedList(seeds), o.Racks, o.NodesPerRack, o.GPUsPerNode, intList(demands), mixString(o.Mix),
		runinfo.Commit(), time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), time.Since(started).Round(time.Second), loadBefore, runinfo.LoadAverage())
	fmt.Fprintf(w, "The cluster: %d racks (label `%s`) of %d nodes of %d GPUs. The stream (`pkg/simulator/gangstream`, one per seed): jobs drawn by weight from %s "+
		"(PODSxGPUS:WEIGHT; 0 pods is a single pod outside any PodGroup) until they ask the demand level's %% of the cluster's GPUs; a gang is a PodGroup of minCount = its pods. "+
		"Each is replayed in-process by `pkg/simulator` through the real kube-scheduler v1.37.2 framework with the gates GenericWorkload and "+
		"TopologyAwareWorkloadScheduling on: a gang's PodGroup and pods are created together, the next job once every pod is bound or reported unschedulable; no pod leaves.\n\n",
		o.Racks, gangstream.RackLabel, o.NodesPerRack, o.GPUsPerNode, mixString(o.Mix))
	fmt.Fprintf(w, "Configurations: ")
	for i, c := range configurations {
		if i > 0 {
			io.WriteString(w, "; ")
		}
		fmt.Fprintf(w, "**%s**: `%s`", c.name, c.config)
		if c.policy != "" {
			fmt.Fprintf(w, " + `%s`", c.policy)
		}
		if c.constraint {
			fmt.Fprintf(w, ", PodGroups with `schedulingConstraints.topology: [{key: %s}]`", gangstream.RackLabel)
		}
	}
	io.WriteString(w, ".\n\nRacks are counted at the end by GPUs: empty (none allocated), partly used, full. Free GPUs in partly used racks are what "+
		"a gang kept within one rack can use only if it fits the rest. A gang is placed when its minCount pods are bound, else waiting; "+
		"placed gangs are within one rack or across racks. Score ties are broken at random by the scheduler, so runs of one seed differ slightly.\n")
}

// writeSummary is one row per configuration: each seed's partly used racks,
// gangs waiting and GPUs allocated; level is by seed, then configuration.
func writeSummary(w io.Writer, seeds []uint64, level [][]*simulator.Result) {
	fmt.Fprintf(w, "\nSeeds %s, each cell lists them in order:\n\n", seedList(seeds))
	io.WriteString(w, "| configuration | partly used racks | mean | free GPUs in partly used racks | empty racks | gangs waiting | gangs across racks | GPUs allocated |\n")
	io.WriteString(w, "|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for i, c := range configurations {
		var partly, free, empty, waiting, across, alloc []string
		sum := 0
		for _, rs := range level {
			r := rs[i]
			d, g := r.Domains, r.Gangs
			sum += d.PartlyUsed
			partly = append(partly, fmt.Sprint(d.PartlyUsed))
			free = append(free, fmt.Sprint(d.FreeGPUsInPartlyUsed))
			empty = append(empty, fmt.Sprint(d.Empty))
			waiting = append(waiting, fmt.Sprintf("%d/%d", g.Waiting, g.Gangs))
			across = append(across, fmt.Sprint(g.AcrossDomains))
			alloc = append(alloc, fmt.Sprintf("%.1f%%", r.GPUsAllocatedPercent))
		}
		j := func(v []string) string { return strings.Join(v, " / ") }
		fmt.Fprintf(w, "| %s | %s | %.1f | %s | %s | %s | %s | %s |\n", c.name, j(partly), float64(sum)/float64(len(seeds)),
			j(free), j(empty), j(waiting), j(across), j(alloc))
	}
}

func intList(v []int) string {
	var s []string
	for _, n := range v {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ",")
}

func seedList(seeds []uint64) string {
	var s []string
	for _, n := range seeds {
		s = append(s, fmt.Sprint(n))
	}
	return strings.Join(s, ",")
}
