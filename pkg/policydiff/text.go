package policydiff

import (
	"fmt"
	"io"

	"k8s.io/cli-runtime/pkg/printers"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// WriteText prints the report for a terminal: the running pods no longer
// admitted, the queue pods whose outcome changes, the metrics side by side.
func WriteText(out io.Writer, r *Report) error {
	fmt.Fprintf(out, "Policy change on %s (%d nodes, %d running pods, %d pending pods of %s)\n", r.Snapshot, r.Nodes, r.Running, r.Queue, r.SchedulerName)
	fmt.Fprintf(out, "  old policy %s (%s)\n  new policy %s (%s)\n", r.Old.Hash, r.Old.Source, r.New.Hash, r.New.Source)
	if r.GangPodsSkipped > 0 {
		fmt.Fprintf(out, "  %d pending pod(s) of PodGroups not replayed (gangs are judged with their PodGroup; the replay places single pods)\n", r.GangPodsSkipped)
	}

	fmt.Fprintf(out, "\nRunning pods the new policy would no longer admit where they are: %d\n", len(r.NoLongerAdmitted))
	if err := writeRefusals(out, r.NoLongerAdmitted); err != nil {
		return err
	}
	if len(r.StillRefused) > 0 {
		fmt.Fprintf(out, "\nRunning pods neither policy admits where they are: %d\n", len(r.StillRefused))
		if err := writeRefusals(out, r.StillRefused); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "\nPending pods that would become schedulable: %d\n", len(r.NewlySchedulable))
	if err := writeChanges(out, r.NewlySchedulable, "NODE (NEW POLICY)"); err != nil {
		return err
	}
	fmt.Fprintf(out, "\nPending pods the old policy places and the new one would not: %d\n", len(r.NoLongerSchedulable))
	if err := writeChanges(out, r.NoLongerSchedulable, "NODE (OLD POLICY)"); err != nil {
		return err
	}
	if r.Queue == 0 {
		fmt.Fprintln(out, "\nNo pending pods to replay.")
		return nil
	}

	fmt.Fprintf(out, "\nThe pending queue (%d pod(s)) replayed on the running pods:\n", r.Queue)
	w := printers.GetNewTabWriter(out)
	o, n := r.OldMetrics, r.NewMetrics
	fmt.Fprintln(w, "METRIC\tOLD POLICY\tNEW POLICY")
	row := func(name, a, b string) { fmt.Fprintf(w, "%s\t%s\t%s\n", name, a, b) }
	row("pods placed", fmt.Sprintf("%d/%d", o.Placed, o.Pods), fmt.Sprintf("%d/%d", n.Placed, n.Pods))
	row("unschedulable at first attempt", fmt.Sprint(o.Unschedulable), fmt.Sprint(n.Unschedulable))
	row("GPUs allocated", gpus(o), gpus(n))
	row("first GPU failure", failure(o.FirstGPUFailure), failure(n.FirstGPUFailure))
	row("first placeable GPU failure", failure(o.FirstPlaceableGPUFailure), failure(n.FirstPlaceableGPUFailure))
	row("partly used GPU nodes", fmt.Sprint(o.PartlyUsedGPUNodes), fmt.Sprint(n.PartlyUsedGPUNodes))
	row("free GPUs on partly used nodes", fmt.Sprint(o.FreeGPUsOnPartlyUsed), fmt.Sprint(n.FreeGPUsOnPartlyUsed))
	if o.Domains != nil && n.Domains != nil {
		d := func(m *simulator.DomainMetrics) string {
			return fmt.Sprintf("%d empty, %d partly used, %d full", m.Empty, m.PartlyUsed, m.Full)
		}
		row("domains ("+o.Domains.TopologyKey+")", d(o.Domains), d(n.Domains))
	}
	return w.Flush()
}

func writeRefusals(out io.Writer, refs []Refusal) error {
	if len(refs) == 0 {
		return nil
	}
	w := printers.GetNewTabWriter(out)
	fmt.Fprintln(w, "POD\tNODE\tRULE\tPLACED BY\tREASON")
	for _, ref := range refs {
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", ref.Pod, ref.Node, ref.Rule, dash(ref.PlacedRule), ref.Reason)
	}
	return w.Flush()
}

func writeChanges(out io.Writer, cs []Change, nodeHeader string) error {
	if len(cs) == 0 {
		return nil
	}
	w := printers.GetNewTabWriter(out)
	fmt.Fprintf(w, "POD\tGPUS\tRULE (NEW POLICY)\t%s\n", nodeHeader)
	for _, c := range cs {
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\n", c.Pod, c.GPUs, c.Rule, c.Node)
	}
	return w.Flush()
}

func gpus(m Metrics) string {
	return fmt.Sprintf("%d/%d (%.1f%%)", m.GPUsAllocated, m.ClusterGPUs, m.GPUsAllocatedPercent)
}

func failure(f *simulator.Failure) string {
	if f == nil {
		return "none"
	}
	return fmt.Sprintf("#%d %s (%d GPUs, at %.1f%% allocated)", f.Arrival, f.Pod, f.GPUs, f.AllocatedPercent)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
