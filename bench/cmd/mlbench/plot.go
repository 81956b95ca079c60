package main

import (
	"fmt"
	"math"
	"strings"
)

var plotColors = map[string]string{"default": "#1f77b4", "ml10": "#d62728", "affinity": "#2ca02c", "bindonly": "#7f7f7f", "ml10event": "#ff7f0e"}

// svg plots median throughput against node count for the four main
// profiles, one panel per scenario, min-max as error bars. The x axis is
// logarithmic in the node count.
func (r *Results) svg(m *Matrix) string {
	const panelW, panelH, left, top, bottom, gap = 420.0, 300.0, 60.0, 50.0, 60.0, 40.0
	width := left + float64(len(m.Scenarios))*(panelW+gap) + 160
	height := top + panelH + bottom
	// Gang runs plot pod groups/s, the others pods/s.
	unit, conv := "pods/s", func(v float64, _ int) float64 { return v }
	if m.Gang {
		unit, conv = "pod groups/s", func(v float64, n int) float64 { return groupsPerSecond(v, m.Pods[n]) }
	}
	ymax := 0.0
	for _, md := range r.Medians {
		ymax = math.Max(ymax, conv(md.Max, md.Nodes))
	}
	ymax = niceCeil(ymax * 1.05)
	var sb strings.Builder
	w := func(format string, a ...any) { fmt.Fprintf(&sb, format, a...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="%.0f" y="20" font-size="15" font-weight="bold">Scheduling throughput vs node count (median %s, min-max bars; %s, %d CPUs)</text>`+"\n", left, unit, r.Mode, r.Machine.CPUs)

	lo, hi := math.Log(float64(m.Sizes[0])), math.Log(float64(m.Sizes[len(m.Sizes)-1]))
	if hi == lo {
		lo, hi = lo-1, hi+1
	}
	for pi, sc := range m.Scenarios {
		x0 := left + float64(pi)*(panelW+gap)
		xOf := func(n int) float64 { return x0 + 30 + (math.Log(float64(n))-lo)/(hi-lo)*(panelW-60) }
		yOf := func(v float64) float64 { return top + panelH - v/ymax*panelH }
		w(`<text x="%.0f" y="%.0f" font-weight="bold">%s pods</text>`+"\n", x0+panelW/2-40, top-10, sc)
		w(`<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", x0, top, panelW, panelH)
		for i := 0; i <= 5; i++ {
			v := ymax * float64(i) / 5
			y := yOf(v)
			w(`<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#ddd"/>`+"\n", x0, y, x0+panelW, y)
			w(`<text x="%.0f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", x0-5, y+4, v)
		}
		for _, n := range m.Sizes {
			w(`<text x="%.1f" y="%.0f" text-anchor="middle">%d</text>`+"\n", xOf(n), top+panelH+18, n)
		}
		w(`<text x="%.0f" y="%.0f" text-anchor="middle">nodes</text>`+"\n", x0+panelW/2, top+panelH+38)
		for _, p := range m.Profiles {
			var pts []string
			for _, n := range m.Sizes {
				md, ok := r.median(m, sc, n, p.Name)
				if !ok {
					continue
				}
				x, y := xOf(n), yOf(conv(md.Throughput.Average, n))
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", x, y))
				w(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s"/>`+"\n", x, yOf(conv(md.Min, n)), x, yOf(conv(md.Max, n)), plotColors[p.Name])
				w(`<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>`+"\n", x, y, plotColors[p.Name])
			}
			if len(pts) > 1 {
				w(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), plotColors[p.Name])
			}
		}
	}
	lx := left + float64(len(m.Scenarios))*(panelW+gap)
	w(`<text x="%.0f" y="%.0f" transform="rotate(-90 %.0f %.0f)" text-anchor="middle">%s</text>`+"\n", 15.0, top+panelH/2, 15.0, top+panelH/2, unit)
	for i, p := range m.Profiles {
		y := top + 20 + float64(i)*22
		w(`<line x1="%.0f" y1="%.0f" x2="%.0f" y2="%.0f" stroke="%s" stroke-width="3"/>`+"\n", lx, y, lx+20, y, plotColors[p.Name])
		w(`<text x="%.0f" y="%.0f">%s %s</text>`+"\n", lx+26, y+4, p.Label, p.Name)
	}
	w("</svg>\n")
	return sb.String()
}

func niceCeil(v float64) float64 {
	if v <= 0 {
		return 1
	}
	step := math.Pow(10, math.Floor(math.Log10(v))) / 2
	return math.Ceil(v/step) * step
}
