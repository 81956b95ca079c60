package main

import (
	"fmt"
	"math"
	"runtime"
	"strings"
)

func goVersion() string { return runtime.Version() }

func machine() string { return fmt.Sprintf("%d CPUs", runtime.NumCPU()) }

// plot draws memory (heap in use, resident set) and goroutines against
// minutes, one panel each.
func plot(samples []Sample) string {
	const panelW, panelH, left, top, gap = 640.0, 220.0, 70.0, 40.0, 70.0
	width, height := left+panelW+140, top+2*panelH+gap+50
	tmax := 1.0
	for _, s := range samples {
		tmax = math.Max(tmax, s.Minutes)
	}
	var sb strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&sb, f, a...) }
	w(`<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" font-family="sans-serif" font-size="12">`+"\n", width, height)
	w(`<rect width="100%%" height="100%%" fill="white"/>` + "\n")
	w(`<text x="%.0f" y="20" font-size="15" font-weight="bold">ml-scheduler under churn: memory and goroutines over time</text>`+"\n", left)
	panel := func(y0 float64, title string, series []struct {
		name, color string
		v           func(Sample) float64
	}) {
		ymax := 1.0
		for _, s := range samples {
			for _, sr := range series {
				ymax = math.Max(ymax, sr.v(s))
			}
		}
		ymax *= 1.1
		xOf := func(m float64) float64 { return left + m/tmax*panelW }
		yOf := func(v float64) float64 { return y0 + panelH - v/ymax*panelH }
		w(`<rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" fill="none" stroke="#333"/>`+"\n", left, y0, panelW, panelH)
		w(`<text x="%.0f" y="%.0f" font-weight="bold">%s</text>`+"\n", left, y0-6, title)
		for i := 0; i <= 4; i++ {
			v := ymax * float64(i) / 4
			w(`<text x="%.0f" y="%.1f" text-anchor="end">%.0f</text>`+"\n", left-5, yOf(v)+4, v)
			w(`<line x1="%.0f" y1="%.1f" x2="%.0f" y2="%.1f" stroke="#eee"/>`+"\n", left, yOf(v), left+panelW, yOf(v))
		}
		for i := 0; i <= 6; i++ {
			m := tmax * float64(i) / 6
			w(`<text x="%.1f" y="%.0f" text-anchor="middle">%.0f</text>`+"\n", xOf(m), y0+panelH+16, m)
		}
		w(`<text x="%.0f" y="%.0f" text-anchor="middle">minutes</text>`+"\n", left+panelW/2, y0+panelH+32)
		for i, sr := range series {
			var pts []string
			for _, s := range samples {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(s.Minutes), yOf(sr.v(s))))
			}
			w(`<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", sr.color, strings.Join(pts, " "))
			w(`<text x="%.0f" y="%.0f" fill="%s">%s</text>`+"\n", left+panelW+10, y0+20+float64(i)*16, sr.color, sr.name)
		}
	}
	type series = struct {
		name, color string
		v           func(Sample) float64
	}
	panel(top, "memory, MiB", []series{
		{"heap in use", "#d62728", func(s Sample) float64 { return s.HeapInuseMiB }},
		{"resident set", "#1f77b4", func(s Sample) float64 { return s.RSSMiB }},
	})
	panel(top+panelH+gap, "goroutines", []series{{"goroutines", "#2ca02c", func(s Sample) float64 { return s.Goroutines }}})
	w("</svg>\n")
	return sb.String()
}
