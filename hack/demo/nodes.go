package main

import (
	"context"
	"fmt"
	"os"
	"sort"
	"text/tabwriter"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// The team pool label of cluster.yaml and the namespace owning that pool in
// policy.yaml: no pod of another namespace may ever land on these nodes.
const (
	labelTeam = "ml-scheduler.io/team"
	poolOwner = "research"
)

// printNodeMix summarises the sample cluster by node shape.
func printNodeMix(specs []cluster.NodeSpec) {
	type shape struct {
		model, cpu, mem string
		gpus            int64
	}
	count := map[shape]int{}
	owned := map[shape]int{}
	zones, racks := map[string]bool{}, map[string]bool{}
	var gpus int64
	for _, s := range specs {
		k := shape{s.Labels[labelModel], s.CPU, s.Memory, s.GPUs}
		count[k]++
		if s.Labels[labelTeam] != "" {
			owned[k]++
		}
		zones[s.Labels[labelZone]], racks[s.Labels[labelRack]] = true, true
		gpus += s.GPUs
	}
	keys := make([]shape, 0, len(count))
	for k := range count {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if count[keys[i]] != count[keys[j]] {
			return count[keys[i]] > count[keys[j]]
		}
		return keys[i].model+keys[i].cpu+keys[i].mem < keys[j].model+keys[j].cpu+keys[j].mem
	})
	fmt.Printf("  %d nodes, %d GPUs, %d zones, %d racks (a scaled-down model of the Alibaba GPU trace's node mix):\n",
		len(specs), gpus, len(zones), len(racks))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    GPU MODEL\tNODES\tSHARE\tGPUS/NODE\tCPU\tMEMORY\tNOTE")
	for _, k := range keys {
		note := "-"
		if owned[k] > 0 {
			note = fmt.Sprintf("%d labelled %s=%s", owned[k], labelTeam, poolOwner)
		}
		fmt.Fprintf(tw, "    %s\t%d\t%.0f%%\t%d\t%s\t%s\t%s\n", orDash(k.model), count[k],
			100*float64(count[k])/float64(len(specs)), k.gpus, k.cpu, k.mem, note)
	}
	tw.Flush()
}

// nodeMap returns the cluster's nodes by name.
func nodeMap(ctx context.Context, client kubernetes.Interface) (map[string]*v1.Node, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	m := make(map[string]*v1.Node, len(list.Items))
	for i := range list.Items {
		m[list.Items[i].Name] = &list.Items[i]
	}
	return m, nil
}
