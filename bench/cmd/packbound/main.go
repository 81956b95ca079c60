// Command packbound bounds what the device choice inside a node is worth
// when GPUs are shared by fractions. It replays an Alibaba openb pod list
// without a scheduler: each pod goes to the node whose expected fragmented
// GPUs (pkg/fragmentation, the measure of the shipped MinFragmentation
// packing, workload learned from the pods seen) grow least, ties to the
// fuller node, CPU pods to CPU-only nodes first. Only the device rule
// changes between runs:
//
//   - first: a share takes the first GPU with room, as Kubernetes 1.37's
//     DRA allocator does (what ml-scheduler gets today);
//   - bestfit: the GPU whose free share is the smallest that fits;
//   - fgd: the GPU after which the node's fragmentation is least (FGD's
//     device-level choice).
//
// It also prints a lower bound on the GPUs that placing every GPU pod of
// the list needs, whatever the scheduler (the shares' bin-packing bound).
//
// It is an experiment for the closing notes of issue 11, not a scheduler:
// no policy, no pools, resources and GPU models only (and no pressure on
// restricted models, so it is meant for the default list, whose pods
// accept every model). Run it from the repository root:
// go run ./bench/cmd/packbound -workload default
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/fragmentation"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

func main() {
	var (
		dir      = flag.String("traces", "bench/workloads/traces/alibaba-gpu-v2023", "directory of the trace CSVs")
		workload = flag.String("workload", "default", "pod list: openb_pod_list_<name>.csv in -traces")
		devices  = flag.String("devices", "first,bestfit,fgd", "comma-separated device rules to compare: first, bestfit, fgd")
	)
	flag.Parse()
	nodes, err := trace.LoadOpenBNodes(filepath.Join(*dir, "openb_node_list_all_node.csv"), trace.Options{})
	if err != nil {
		fail(err)
	}
	pods, err := trace.LoadOpenBPods(filepath.Join(*dir, "openb_pod_list_"+*workload+".csv"), trace.Options{})
	if err != nil {
		fail(err)
	}
	rules, err := parseRules(*devices)
	if err != nil {
		fail(err)
	}
	cluster, err := clusterOf(nodes)
	if err != nil {
		fail(err)
	}
	shapes, err := shapesOf(pods)
	if err != nil {
		fail(err)
	}
	whole, shares := demandOf(shapes)
	lb := sharedDevicesLowerBound(shares)
	fmt.Printf("%s: %d nodes, %d GPUs, %d pods; GPU pods ask %d whole GPUs and %d shares (%.1f GPUs)\n",
		*workload, len(cluster), totalGPUs(cluster), len(shapes), whole, len(shares), sum(shares)/fragmentation.MilliPerGPU)
	fmt.Printf("placing every GPU pod needs at least %d + %d = %d GPUs (shares: Martello-Toth L2 bound, CPU and memory ignored)\n\n",
		whole, lb, whole+int64(lb))
	fmt.Println("| device rule | GPUs unallocated | capacity allocated | first GPU pod not placed | GPU pods placed | wall |")
	fmt.Println("|---|---:|---:|---:|---:|---:|")
	var left []string
	for _, r := range rules {
		start := time.Now()
		res := replay(cluster, shapes, r)
		first := "none"
		if res.firstFail >= 0 {
			first = fmt.Sprintf("#%d (%s), demand %.1f%%", res.firstFail+1, shapes[res.firstFail], 100*res.demandAtFail)
		}
		fmt.Printf("| %s | %.1f | %.1f%% | %s | %d/%d | %.0fs |\n", r, res.unallocated, 100*res.allocated, first,
			res.gpuPlaced, res.gpuPods, time.Since(start).Seconds())
		left = append(left, fmt.Sprintf("- %s: %s", r, res.left))
	}
	fmt.Println("\nGPUs left unallocated at the end:")
	fmt.Println(strings.Join(left, "\n"))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "packbound:", err)
	os.Exit(1)
}

type deviceRule string

const (
	firstFit deviceRule = "first"
	bestFit  deviceRule = "bestfit"
	fgdFit   deviceRule = "fgd"
)

func parseRules(s string) ([]deviceRule, error) {
	var out []deviceRule
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		switch r := deviceRule(f); r {
		case firstFit, bestFit, fgdFit:
			out = append(out, r)
		default:
			return nil, fmt.Errorf("-devices: %q is not a device rule (first, bestfit, fgd)", f)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-devices: empty")
	}
	return out, nil
}

// node is one trace node: what it has and what is free.
type node struct {
	alloc fragmentation.Free
	free  fragmentation.Free
}

func clusterOf(nodes []*v1.Node) ([]node, error) {
	out := make([]node, 0, len(nodes))
	for _, n := range nodes {
		a := n.Status.Allocatable
		gpus := a.Name(trace.DefaultGPUResource, "").Value()
		if gpus > fragmentation.MaxDevices {
			return nil, fmt.Errorf("node %s: %d GPUs, more than %d", n.Name, gpus, fragmentation.MaxDevices)
		}
		f := fragmentation.Free{MilliCPU: a.Cpu().MilliValue(), Memory: a.Memory().Value(), GPUs: gpus}
		if gpus > 0 {
			f.Model = fragmentation.ModelBit(n.Labels[trace.DefaultGPUModelLabel])
			f.Shares.N = uint8(gpus)
			for i := 0; i < int(gpus); i++ {
				f.Shares.Set(i, fragmentation.MilliPerGPU)
			}
		}
		out = append(out, node{alloc: f, free: f})
	}
	return out, nil
}

func totalGPUs(c []node) int64 {
	var n int64
	for _, x := range c {
		n += x.alloc.GPUs
	}
	return n
}

func shapesOf(pods []*v1.Pod) ([]fragmentation.Shape, error) {
	out := make([]fragmentation.Shape, 0, len(pods))
	for _, p := range pods {
		r := p.Spec.Containers[0].Resources.Requests
		s := fragmentation.Shape{MilliCPU: r.Cpu().MilliValue(), Memory: r.Memory().Value(), Models: fragmentation.AnyModel}
		s.GPUs = r.Name(trace.DefaultGPUResource, "").Value()
		if s.GPUs > 0 {
			milli, err := strconv.ParseInt(p.Annotations[trace.AnnotationGPUMilli], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("pod %s: annotation %s: %w", p.Name, trace.AnnotationGPUMilli, err)
			}
			if milli < fragmentation.MilliPerGPU {
				s.GPUs, s.MilliGPU = 0, milli
			}
		}
		if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
			s.Models = fragmentation.ModelsOf(a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values)
		}
		out = append(out, s)
	}
	return out, nil
}
