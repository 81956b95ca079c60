package report

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
)

// palette colours the configurations in order.
var palette = []string{"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

// SVG plots the results' allocation curves: x = GPUs asked by the pods
// arrived so far, y = GPUs allocated, both in % of the cluster's GPUs; one
// line per result, the ideal y = x (capped at 100%) dashed, and each
// result's first GPU failure marked with a circle. With DRA GPUs
// (Result.Sharing) the amounts count fractions.
func SVG(w io.Writer, title string, results []*simulator.Result) error {
	const (
		plotW, plotH              = 440.0, 370.0
		left, top, bottom         = 70.0, 50.0, 60.0
		yMax                      = 100.0
		legendLine, legendSpacing = 24.0, 34.0
	)
	// The legend, right of the plot, is as wide as its longest line
	// (about 7 px a character at 12 px).
	longest := len("ideal (y = x, at most 100)")
	for _, r := range results {
		longest = max(longest, len(r.Configuration), len("end 100.0%, first failure #00000 at 100%")*10/12)
	}
	right := 20 + legendLine + 6 + 7*float64(longest) + 20
	width, height := left+plotW+right, top+plotH+bottom
	xMax := 100.0
	for _, r := range results {
		for _, p := range r.Curve {
			xMax = math.Max(xMax, p.DemandPercent)
		}
	}
	xMax = math.Ceil(xMax/20) * 20
	xOf := func(v float64) float64 { return left + v/xMax*plotW }
	yOf := func(v float64) float64 { return top + plotH - math.Min(v, yMax)/yMax*plotH }

	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	p(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	p(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	p(`<text x="%.0f" y="24" font-size="15" font-weight="bold">%s</text>`+"\n", left, html.EscapeString(title))
	// Grid and ticks.
	for v := 0.0; v <= xMax+1e-9; v += 20 {
		x := xOf(v)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", x, top, x, top+plotH)
		p(`<text x="%.1f" y="%.1f" text-anchor="middle">%.0f</text>`+"\n", x, top+plotH+16, v)
	}
	for v := 0.0; v <= yMax+1e-9; v += 20 {
		y := yOf(v)
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#e5e5e5"/>`+"\n", left, y, left+plotW, y)
		p(`<text x="%.1f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-6, y+4, v)
	}
	p(`<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#333"/>`+"\n", left, top, plotW, plotH)
	unit := "% of cluster GPUs"
	if hasSharing(results) {
		unit = "% of cluster GPUs, fractions counted"
	}
	p(`<text x="%.1f" y="%.1f" text-anchor="middle">arrived GPU demand (%s)</text>`+"\n", left+plotW/2, top+plotH+40, unit)
	p(`<text x="18" y="%.1f" text-anchor="middle" transform="rotate(-90 18 %.1f)">GPUs allocated (%s)</text>`+"\n", top+plotH/2, top+plotH/2, unit)
	// The ideal: everything that arrived is placed, up to a full cluster.
	p(`<polyline points="%.1f,%.1f %.1f,%.1f %.1f,%.1f" fill="none" stroke="#999" stroke-width="1.5" stroke-dasharray="6,4"/>`+"\n",
		xOf(0), yOf(0), xOf(100), yOf(100), xOf(xMax), yOf(100))

	lx := left + plotW + 20
	p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#999" stroke-width="1.5" stroke-dasharray="6,4"/>`+"\n", lx, top+10, lx+legendLine, top+10)
	p(`<text x="%.1f" y="%.1f">ideal (y = x, at most 100)</text>`+"\n", lx+legendLine+6, top+14)
	for i, r := range results {
		color := palette[i%len(palette)]
		var pts []string
		for _, c := range r.Curve {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(c.DemandPercent), yOf(c.AllocatedPercent)))
		}
		p(`<polyline points="%s" fill="none" stroke="%s" stroke-width="2"/>`+"\n", strings.Join(pts, " "), color)
		if f := r.FirstGPUFailure; f != nil {
			p(`<circle cx="%.1f" cy="%.1f" r="4.5" fill="white" stroke="%s" stroke-width="2"><title>first GPU failure: pod #%d at %.1f%% allocated</title></circle>`+"\n",
				xOf(f.DemandPercent), yOf(f.AllocatedPercent), color, f.Arrival, f.AllocatedPercent)
		}
		y := top + 10 + float64(i+1)*legendSpacing
		p(`<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", lx, y, lx+legendLine, y, color)
		p(`<text x="%.1f" y="%.1f">%s</text>`+"\n", lx+legendLine+6, y+4, html.EscapeString(r.Configuration))
		first := "no GPU failure"
		if f := r.FirstGPUFailure; f != nil {
			first = fmt.Sprintf("first failure #%d at %.0f%%", f.Arrival, f.AllocatedPercent)
		}
		end := r.GPUsAllocatedPercent
		if r.Sharing != nil {
			end = r.Sharing.CapacityAllocatedPercent
		}
		p(`<text x="%.1f" y="%.1f" font-size="10" fill="#555">end %.1f%%, %s</text>`+"\n", lx+legendLine+6, y+17, end, first)
	}
	n := len(results)
	p(`<circle cx="%.1f" cy="%.1f" r="4.5" fill="white" stroke="#333" stroke-width="2"/>`+"\n", lx+legendLine/2, top+10+float64(n+1)*legendSpacing)
	p(`<text x="%.1f" y="%.1f">first GPU pod not placed</text>`+"\n", lx+legendLine+6, top+14+float64(n+1)*legendSpacing)
	p("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}
