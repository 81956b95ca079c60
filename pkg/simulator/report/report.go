// Package report renders simulator results: a table (aligned text or
// markdown, one row per configuration and workload), JSON with stable field
// names, and an SVG plot of the allocation curves.
package report

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// Columns of the table, in order.
var header = []string{
	"workload", "configuration", "GPUs allocated", "first GPU failure", "first failure a node could hold", "GPU pods placed/failed",
	"multi-GPU placed", "CPU pods placed", "CPU pods on GPU nodes", "wall",
}

func rows(results []*simulator.Result) [][]string {
	var out [][]string
	for _, r := range results {
		first, placeable := failureCell(r.FirstGPUFailure), failureCell(r.FirstPlaceableGPUFailure)
		if n := r.GPUPodsFittingNoNode; n > 0 {
			placeable += fmt.Sprintf(" (%d fit no node)", n)
		}
		var multi []string
		for _, sc := range r.MultiGPU {
			multi = append(multi, fmt.Sprintf("%d-GPU %d/%d", sc.GPUs, sc.Placed, sc.Total))
		}
		if len(multi) == 0 {
			multi = []string{"-"}
		}
		out = append(out, []string{
			r.Workload, r.Configuration,
			fmt.Sprintf("%d/%d (%.1f%%)", r.GPUsAllocated, r.ClusterGPUs, r.GPUsAllocatedPercent),
			first, placeable,
			fmt.Sprintf("%d/%d", r.GPUPodsPlaced, r.GPUPodsFailed),
			strings.Join(multi, ", "),
			fmt.Sprintf("%d/%d", r.CPUPodsPlaced, r.CPUPods),
			fmt.Sprintf("%d", r.CPUPodsOnGPUNodes),
			fmt.Sprintf("%.1fs", r.WallSeconds),
		})
	}
	return out
}

func failureCell(f *simulator.Failure) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("#%d at %.1f%%", f.Arrival, f.AllocatedPercent)
}

// Table writes an aligned text table.
func Table(w io.Writer, results []*simulator.Result) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(header, "\t")))
	for _, row := range rows(results) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// Markdown writes a markdown table.
func Markdown(w io.Writer, results []*simulator.Result) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(header, " | ") + " |\n|")
	for i := range header {
		if i < 2 {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows(results) {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Document is the JSON (and YAML) output: the results in order.
type Document struct {
	Results []*simulator.Result `json:"results"`
}

// strip drops the per-pod results unless perPod.
func strip(results []*simulator.Result, perPod bool) Document {
	d := Document{Results: make([]*simulator.Result, len(results))}
	for i, r := range results {
		c := *r
		if !perPod {
			c.Placements = nil
		}
		d.Results[i] = &c
	}
	return d
}

// JSON writes the results, indented; per-pod results only if perPod.
func JSON(w io.Writer, results []*simulator.Result, perPod bool) error {
	data, err := json.MarshalIndent(strip(results, perPod), "", "  ")
	if err != nil {
		return err
	}
	_, err = w.Write(append(data, '\n'))
	return err
}

// YAML writes the results as YAML (the JSON field names).
func YAML(w io.Writer, results []*simulator.Result, perPod bool) error {
	data, err := yaml.Marshal(strip(results, perPod))
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}
