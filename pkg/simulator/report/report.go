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

// gangHeader are the columns added when some result has pod groups.
var gangHeader = []string{
	"domains empty/partly used/full", "free GPUs in partly used domains", "gangs placed/waiting", "gangs in one domain/across", "gangs placed by size",
}

// columns are the table's columns: the pod-group ones only when some
// result has pod groups, so tables of other workloads stay as they were;
// sharingHeader's when some result replays DRA GPUs.
func columns(results []*simulator.Result) []string {
	if hasSharing(results) {
		return sharingHeader
	}
	if !hasGangs(results) {
		return header
	}
	return append(append([]string{}, header...), gangHeader...)
}

func hasGangs(results []*simulator.Result) bool {
	for _, r := range results {
		if r.Gangs != nil {
			return true
		}
	}
	return false
}

// gangCells are r's cells under gangHeader, "-" where r has no such metric.
func gangCells(r *simulator.Result) []string {
	cells := []string{"-", "-", "-", "-", "-"}
	if d := r.Domains; d != nil {
		cells[0] = fmt.Sprintf("%d/%d/%d", d.Empty, d.PartlyUsed, d.Full)
		cells[1] = fmt.Sprintf("%d", d.FreeGPUsInPartlyUsed)
	}
	if g := r.Gangs; g != nil {
		cells[2] = fmt.Sprintf("%d/%d", g.Placed, g.Waiting)
		if r.Domains != nil {
			cells[3] = fmt.Sprintf("%d/%d", g.WithinOneDomain, g.AcrossDomains)
		}
		var sizes []string
		for _, sz := range g.BySize {
			sizes = append(sizes, fmt.Sprintf("%d-pod %d/%d", sz.Pods, sz.Placed, sz.Total))
		}
		if len(sizes) > 0 {
			cells[4] = strings.Join(sizes, ", ")
		}
	}
	return cells
}

func rows(results []*simulator.Result) [][]string {
	if hasSharing(results) {
		return sharingRows(results)
	}
	gangs := hasGangs(results)
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
		if gangs {
			out[len(out)-1] = append(out[len(out)-1], gangCells(r)...)
		}
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
	fmt.Fprintln(tw, strings.ToUpper(strings.Join(columns(results), "\t")))
	for _, row := range rows(results) {
		fmt.Fprintln(tw, strings.Join(row, "\t"))
	}
	return tw.Flush()
}

// Markdown writes a markdown table.
func Markdown(w io.Writer, results []*simulator.Result) error {
	return markdownTable(w, columns(results), 2, rows(results))
}

// markdownTable writes a markdown table whose first left columns are text,
// left-aligned, and the others figures, right-aligned.
func markdownTable(w io.Writer, cols []string, left int, rows [][]string) error {
	var b strings.Builder
	b.WriteString("| " + strings.Join(cols, " | ") + " |\n|")
	for i := range cols {
		if i < left {
			b.WriteString("---|")
		} else {
			b.WriteString("---:|")
		}
	}
	b.WriteString("\n")
	for _, row := range rows {
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
