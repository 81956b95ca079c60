package main

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"time"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
)

func (o *options) markdown(f io.Writer, w *simulator.Workload, runs []*run, results []*simulator.Result, total time.Duration) error {
	fmt.Fprintf(f, "# Placement through the real scheduler binaries on a real apiserver\n\n")
	fmt.Fprintf(f, "`%s`, commit %s, %s, %s, %d CPUs, %s in all.\n\n",
		runinfo.Command("go run ./bench/cmd/realreplay", os.Args[1:]), o.commit, time.Now().UTC().Format("2006-01-02"), runtime.Version(), runtime.NumCPU(), total.Round(time.Second))
	fmt.Fprintf(f, "Workload: `%s` (%d pods) on `%s` (%d nodes, %d GPUs). "+
		"For each configuration a fresh etcd + kube-apiserver v1.37.2 (processes on loopback) and the scheduler binary started with that "+
		"KubeSchedulerConfiguration (client QPS/burst %d, leader election off); the pods are replayed by `simulator.RunOnCluster` "+
		"one at a time in arrival order, each once the previous one is bound or reported unschedulable (replay client QPS/burst %d). "+
		"A GPU-sharing pod (gpu_milli < 1000) asks one whole GPU.\n\n",
		o.pods, len(w.Pods), o.nodes, len(w.Nodes), results[0].ClusterGPUs, o.schedulerQPS, o.schedulerQPS)
	fmt.Fprintf(f, "| configuration | files | binary | start-up | run | replay | pods/s | scheduler CPU |\n|---|---|---|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		files := "`" + r.configPath + "`"
		if r.policyPath != "" {
			files += " + `" + r.policyPath + "`"
		}
		fmt.Fprintf(f, "| %s | %s | `%s` (%s) | %.1fs | %.1fs | %.1fs | %.1f | %.1fs |\n", r.name, files, r.binary, r.version,
			r.startup.Seconds(), r.result.WallSeconds, r.replay.Seconds(), r.rate(), r.schedCPU)
	}
	fmt.Fprintf(f, "\nStart-up: the control plane and the scheduler until healthy. Run (the table's wall column): the simulator's wall time, "+
		"creating the nodes, writing the policy and waiting for the scheduler to apply it, the replay, reading the end state "+
		"(in-process rows: building the scheduler instead of the policy wait). Replay: from the first pod's outcome to the last one's; "+
		"pods/s over it. Scheduler CPU: the scheduler process's user+system time (/proc) at the end.\n\n")
	if err := report.Markdown(f, results); err != nil {
		return err
	}
	fmt.Fprintf(f, "\nColumns as in `kubectl mlsched simulate`: GPUs allocated at the end (of the cluster's); the first pod asking GPUs that could not be "+
		"placed when it arrived (its arrival number, and the GPUs allocated at that moment); pods asking GPUs placed/not placed at the end; "+
		"multi-GPU pods placed by size; CPU-only pods placed, and how many of them sit on GPU nodes; the run's wall time (see above). "+
		"Score ties are broken at random by the scheduler, so runs differ slightly.\n")
	if o.inProcess {
		o.agreementMarkdown(f, w, runs)
	}
	return nil
}
