package main

import (
	"context"
	"fmt"
	"html"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator/report"
)

const (
	metricPlaced     = "ml_scheduler_pods_placed_total"
	metricRejections = "ml_scheduler_pod_rejections_total"
)

// bar is one bar of the metrics plot: a label and a count.
type bar struct {
	label string
	value float64
}

// policyMetrics is what the demo's scrape of /metrics says.
type policyMetrics struct {
	placed     []bar // per rule
	rejections []bar // per "rule: reason"
}

// reportMetrics scrapes the scheduler's /metrics at the end of the demo,
// checks the placements per rule against the rule annotations of the bound
// pods, prints both counters as tables and writes them as an SVG bar chart.
func (d *demo) reportMetrics(ctx context.Context, sched *cluster.Scheduler) error {
	fmt.Printf("\n== Scheduler /metrics: the policy at work (%s)\n", sched.URL("/metrics"))
	want, err := d.placedByAnnotation(ctx)
	if err != nil {
		return err
	}
	// PostBind counts a pod just after its binding: give the last ones a moment.
	var m policyMetrics
	var scrapeErr error
	_ = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		m, scrapeErr = scrapePolicyMetrics(ctx, sched)
		return scrapeErr == nil && slices.Equal(m.placed, want), nil
	})
	if scrapeErr != nil {
		return fmt.Errorf("scraping %s: %w", sched.URL("/metrics"), scrapeErr)
	}
	if !slices.Equal(m.placed, want) {
		d.violations = append(d.violations, fmt.Sprintf("%s per rule %v, but the bound pods' %s annotations count %v",
			metricPlaced, m.placed, mlpolicy.AnnotationRule, want))
	}

	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  RULE\tPODS PLACED (%s)\n", metricPlaced)
	for _, b := range m.placed {
		fmt.Fprintf(tw, "  %s\t%.0f\n", b.label, b.value)
	}
	fmt.Fprintf(tw, "  \t\n  RULE: REASON\tFAILED ATTEMPTS (%s)\n", metricRejections)
	for _, b := range m.rejections {
		fmt.Fprintf(tw, "  %s\t%.0f\n", b.label, b.value)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Printf("  (placements match the %s annotations of the %d bound pods; a pending pod counts once per scheduling attempt, e.g. again when a policy swap re-activates it)\n",
		mlpolicy.AnnotationRule, int(sum(want)))

	root, err := controlplane.RepoRoot()
	if err != nil {
		return err
	}
	path := filepath.Join(root, ".cache", "demo", "metrics.svg")
	if err := report.WriteFile(path, func(w io.Writer) error { return writeMetricsSVG(w, m) }); err != nil {
		return err
	}
	fmt.Printf("  plot: %s\n", path)
	return nil
}

// placedByAnnotation counts ml-scheduler's bound pods by their rule annotation.
func (d *demo) placedByAnnotation(ctx context.Context) ([]bar, error) {
	pods, err := d.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	n := map[string]float64{}
	for _, p := range pods.Items {
		if rule, ok := p.Annotations[mlpolicy.AnnotationRule]; ok && p.Spec.NodeName != "" {
			n[rule]++
		}
	}
	return sortedBars(n), nil
}

func scrapePolicyMetrics(ctx context.Context, sched *cluster.Scheduler) (policyMetrics, error) {
	text, err := sched.Metrics(ctx)
	if err != nil {
		return policyMetrics{}, err
	}
	placed, err := cluster.ParseSamples(text, metricPlaced)
	if err != nil {
		return policyMetrics{}, err
	}
	rejections, err := cluster.ParseSamples(text, metricRejections)
	if err != nil {
		return policyMetrics{}, err
	}
	p, r := map[string]float64{}, map[string]float64{}
	for _, s := range placed {
		p[s.Labels["rule"]] += s.Value
	}
	for _, s := range rejections {
		r[s.Labels["rule"]+": "+s.Labels["reason"]] += s.Value
	}
	return policyMetrics{placed: sortedBars(p), rejections: sortedBars(r)}, nil
}

// sortedBars returns the non-zero counts by label.
func sortedBars(m map[string]float64) []bar {
	var out []bar
	for k, v := range m {
		if v != 0 {
			out = append(out, bar{k, v})
		}
	}
	slices.SortFunc(out, func(a, b bar) int { return strings.Compare(a.label, b.label) })
	return out
}

func sum(bs []bar) float64 {
	t := 0.0
	for _, b := range bs {
		t += b.value
	}
	return t
}

// writeMetricsSVG draws the two counters as horizontal bar charts, one
// above the other, each bar labelled with its count.
func writeMetricsSVG(w io.Writer, m policyMetrics) error {
	const (
		width, left, barH, gap, top = 760.0, 250.0, 18.0, 6.0, 50.0
		plotW                       = width - left - 60
	)
	sections := []struct {
		title, color string
		bars         []bar
	}{
		{"Pods placed per rule (" + metricPlaced + ")", "#1f77b4", m.placed},
		{"Failed scheduling attempts per rule and reason (" + metricRejections + ")", "#d62728", m.rejections},
	}
	height := top
	for _, s := range sections {
		height += 30 + float64(max(len(s.bars), 1))*(barH+gap) + 20
	}
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="20" y="26" font-size="15" font-weight="bold">ml-scheduler /metrics at the end of make demo</text>` + "\n")
	y := top
	for _, s := range sections {
		p(`<text x="20" y="%.1f" font-weight="bold">%s</text>`+"\n", y+14, html.EscapeString(s.title))
		y += 30
		maxV := 1.0
		for _, bb := range s.bars {
			maxV = max(maxV, bb.value)
		}
		if len(s.bars) == 0 {
			p(`<text x="%.1f" y="%.1f" fill="#555">none</text>`+"\n", left, y+barH-4)
			y += barH + gap
		}
		for _, bb := range s.bars {
			bw := bb.value / maxV * plotW
			p(`<text x="%.1f" y="%.1f" text-anchor="end">%s</text>`+"\n", left-8, y+barH-5, html.EscapeString(bb.label))
			p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"/>`+"\n", left, y, bw, barH, s.color)
			p(`<text x="%.1f" y="%.1f">%.0f</text>`+"\n", left+bw+6, y+barH-5, bb.value)
			y += barH + gap
		}
		y += 20
	}
	p("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
