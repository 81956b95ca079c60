package main

import (
	"fmt"
	"io"

	v1 "k8s.io/api/core/v1"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// agreement compares, pod by pod, one configuration's replay through the
// real binary with its in-process replay.
type agreement struct {
	pods int
	// sameOutcome: reported unschedulable at the first attempt in both or
	// neither, and placed at the end in both or neither.
	sameOutcome int
	// firstDivergence is the arrival of the first pod whose outcome
	// differs (0: none).
	firstDivergence int
	// Of the pods placed in both replays: how many, how many on a node of
	// the same shape, and on the same node.
	placedInBoth, sameShape, sameNode int
	// offCounts is how many pods would have to move to another shape
	// (unplaced counting as one) to make the pods-per-shape counts equal.
	offCounts int
}

// nodeShape is what tells nodes apart for the scheduler here: allocatable
// cpu, memory and GPUs, and the GPU model.
func nodeShape(n *v1.Node, gpu v1.ResourceName, modelLabel string) string {
	a := n.Status.Allocatable
	g := a[gpu]
	return fmt.Sprintf("%s/%s/%s/%s", a.Cpu(), a.Memory(), g.String(), n.Labels[modelLabel])
}

func compareReplays(real, inProcess *simulator.Result, nodes []*v1.Node, gpu v1.ResourceName, modelLabel string) agreement {
	shapeOf := map[string]string{"": "unplaced"}
	for _, n := range nodes {
		shapeOf[n.Name] = nodeShape(n, gpu, modelLabel)
	}
	perShape := map[string]int{}
	a := agreement{pods: len(real.Placements)}
	for i := range real.Placements {
		pr, pi := real.Placements[i], inProcess.Placements[i]
		if pr.Unschedulable == pi.Unschedulable && (pr.Node == "") == (pi.Node == "") {
			a.sameOutcome++
		} else if a.firstDivergence == 0 {
			a.firstDivergence = pr.Arrival
		}
		if pr.Node != "" && pi.Node != "" {
			a.placedInBoth++
			if shapeOf[pr.Node] == shapeOf[pi.Node] {
				a.sameShape++
			}
			if pr.Node == pi.Node {
				a.sameNode++
			}
		}
		perShape[shapeOf[pr.Node]]++
		perShape[shapeOf[pi.Node]]--
	}
	for _, c := range perShape {
		a.offCounts += max(c, -c)
	}
	a.offCounts /= 2
	return a
}

func percent(n, of int) float64 {
	if of == 0 {
		return 0
	}
	return 100 * float64(n) / float64(of)
}

// agreementMarkdown writes the per-pod comparison of each configuration's
// two replays.
func (o *options) agreementMarkdown(f io.Writer, w *simulator.Workload, runs []*run) {
	gpu, model := v1.ResourceName(o.gpuResource), o.gpuModelLabel
	fmt.Fprintf(f, "\n## Real binary against the in-process simulator, per pod\n\n"+
		"Each configuration's replay through the real binary against its in-process replay (`--in-process`): pods with the same outcome "+
		"(reported unschedulable at their first attempt, and placed at the end, in both replays or in neither) and the first pod whose outcome "+
		"differs; of the pods placed in both replays, those on a node of the same shape (cpu, memory, GPUs, GPU model) and on the same node; "+
		"and how many pods would have to move to another shape (unplaced counting as one) to make the pods-per-shape counts equal.\n\n")
	fmt.Fprintf(f, "| configuration | same outcome | first outcome divergence | placed in both | same node shape | same node | pods off the per-shape counts |\n"+
		"|---|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range runs {
		a := compareReplays(r.result, r.inProcess, w.Nodes, gpu, model)
		first := "none"
		if a.firstDivergence > 0 {
			first = fmt.Sprintf("#%d", a.firstDivergence)
		}
		fmt.Fprintf(f, "| %s | %d/%d (%.2f%%) | %s | %d | %d (%.1f%%) | %d (%.1f%%) | %d |\n", r.name,
			a.sameOutcome, a.pods, percent(a.sameOutcome, a.pods), first, a.placedInBoth,
			a.sameShape, percent(a.sameShape, a.placedInBoth), a.sameNode, percent(a.sameNode, a.placedInBoth), a.offCounts)
	}
	fmt.Fprintf(f, "\nScore ties are broken at random (selectHost): pods of one size land on different nodes of equal score, of another shape too "+
		"when scores round to the same integer, so after a while the two clusters hold slightly different free capacity and a few pods fit in "+
		"one and not the other. Pods of one size swap shapes between replays, so the per-pod shape match is lower than the per-shape counts "+
		"suggest; node identity is not expected to match (identical nodes tie).\n")
}
