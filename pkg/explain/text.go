package explain

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// WriteText prints e for people: a header of labelled lines, then the
// candidates (placed pod, or a pending pod that fits now) or the reasons and
// the nearest node (pending pod).
func WriteText(out io.Writer, e *Explanation) error {
	var w bytes.Buffer
	if err := writeText(&w, e); err != nil {
		return err
	}
	// tabwriter pads the last cell of a row too: trim it.
	lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
	for i := range lines {
		lines[i] = strings.TrimRight(lines[i], " ")
	}
	_, err := io.WriteString(out, strings.Join(lines, "\n")+"\n")
	return err
}

func writeText(w *bytes.Buffer, e *Explanation) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	sim := &e.Simulation
	line := func(label, format string, args ...interface{}) {
		fmt.Fprintf(tw, "%s:\t%s\n", label, fmt.Sprintf(format, args...))
	}
	line("Pod", "%s (scheduler %s)", e.Pod, e.SchedulerName)
	if e.State == StatePlaced {
		line("State", "placed on node %s", e.Node)
		line("Rule", "%s (annotation %s)", orNone(e.Rule), mlpolicy.AnnotationRule)
		line("Policy", "%s (annotation %s): %s", orNone(e.PolicyHash), mlpolicy.AnnotationPolicyHash, inForce(e))
	} else {
		line("State", "pending")
		line("Scheduler says", "%s", orNone(e.Condition))
		if sim.MatchedRule != "" {
			state := "the policy in force"
			if sim.Policy != e.ActivePolicyHash {
				state = "in force: " + orNone(e.ActivePolicyHash)
			}
			line("Rule", "%s of policy %s (%s)", sim.MatchedRule, sim.Policy, state)
		}
	}
	if sim.Policy != "" {
		line("Re-run", "policy %s (%s): rule %s", sim.Policy, sim.PolicySource, sim.MatchedRule)
	}
	line("Config", "%s", sim.SchedulerConfig)
	line("Nodes", "%d, %d feasible", sim.Nodes, sim.FeasibleNodes)
	if len(sim.Reasons) > 0 {
		fmt.Fprintf(tw, "Refused:\t\n")
		for _, r := range sim.Reasons {
			fmt.Fprintf(tw, "  %d node(s)\t%s [%s]%s\n", r.Nodes, r.Reason, orNone(r.Plugin), examples(r))
		}
	}
	if n := sim.Nearest; n != nil {
		line("Nearest", "%s", nearestText(n))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(sim.Candidates) > 0 {
		fmt.Fprintf(w, "\nTop %d of %d feasible node(s): each score plugin's weighted score, MLPolicy's parts unweighted (0-100):\n", len(sim.Candidates), sim.FeasibleNodes)
		if err := writeCandidates(w, sim.Candidates); err != nil {
			return err
		}
		if e.State == StatePlaced {
			fmt.Fprintf(w, "Node %s ranks %s.\n", e.Node, rankText(sim.PlacedRank))
		}
	}
	for _, n := range sim.Notes {
		fmt.Fprintf(w, "Note: %s.\n", n)
	}
	return nil
}

func writeCandidates(w io.Writer, cands []Candidate) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	var plugins []string
	for _, s := range cands[0].Scores {
		plugins = append(plugins, s.Plugin)
	}
	fmt.Fprintf(tw, "RANK\tNODE\tTOTAL\t%s\tMLPOLICY PARTS\n", strings.Join(plugins, "\t"))
	for _, c := range cands {
		cells := []string{fmt.Sprint(c.Rank), c.Node, fmt.Sprint(c.Total)}
		for _, s := range c.Scores {
			cells = append(cells, fmt.Sprint(s.Score))
		}
		cells = append(cells, partsText(c.MLPolicy))
		fmt.Fprintf(tw, "%s\n", strings.Join(cells, "\t"))
	}
	return tw.Flush()
}

func partsText(p *MLPolicyParts) string {
	if p == nil {
		return "-"
	}
	var out []string
	if p.PackingPart != nil {
		out = append(out, fmt.Sprintf("%s=%d", p.Packing, *p.PackingPart))
	}
	if p.Preference != nil {
		out = append(out, fmt.Sprintf("preference=%d", *p.Preference))
	}
	if p.Colocation != nil {
		out = append(out, fmt.Sprintf("colocation=%d", *p.Colocation))
	}
	if len(out) == 0 {
		return "-"
	}
	return strings.Join(out, " ")
}

func nearestText(n *Nearest) string {
	var parts []string
	if len(n.Lacks) > 0 {
		var l []string
		for _, x := range n.Lacks {
			l = append(l, x.Amount+" "+x.Resource)
		}
		parts = append(parts, "lacks "+joinAnd(l))
	}
	if len(n.Other) > 0 {
		parts = append(parts, "is refused: "+strings.Join(n.Other, "; "))
	}
	return fmt.Sprintf("node %s %s (closest to fitting of the nodes the policy admits)", n.Node, strings.Join(parts, ", and "))
}

func joinAnd(items []string) string {
	if len(items) <= 1 {
		return strings.Join(items, "")
	}
	return strings.Join(items[:len(items)-1], ", ") + " and " + items[len(items)-1]
}

func examples(r ReasonCount) string {
	if r.Nodes <= len(r.Examples) {
		return " (" + strings.Join(r.Examples, ", ") + ")"
	}
	return " (e.g. " + strings.Join(r.Examples, ", ") + ")"
}

func inForce(e *Explanation) string {
	switch {
	case e.ActivePolicyHash == "":
		return "the scheduler reports no policy in force"
	case e.PlacedByActivePolicy != nil && *e.PlacedByActivePolicy:
		return "still the policy in force"
	default:
		return "no longer in force (in force: " + e.ActivePolicyHash + ")"
	}
}

func rankText(r int) string {
	if r == 0 {
		return "nowhere: it is not feasible in the re-run"
	}
	if r == 1 {
		return "first (the top candidate)"
	}
	return fmt.Sprintf("#%d", r)
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
