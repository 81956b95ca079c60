package simulator

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// NewProgressBar returns an Options.Progress that draws a one-line text bar
// on w (a terminal: it rewrites the line with \r), at most ten times a
// second, and ends the line when a replay completes.
func NewProgressBar(w io.Writer) func(Progress) {
	var (
		mu   sync.Mutex
		last time.Time
	)
	const width = 30
	return func(p Progress) {
		mu.Lock()
		defer mu.Unlock()
		end := p.Done == p.Total
		if !end && time.Since(last) < 100*time.Millisecond {
			return
		}
		last = time.Now()
		filled := 0
		if p.Total > 0 {
			filled = width * p.Done / p.Total
		}
		rate := 0.0
		if s := p.Elapsed.Seconds(); s > 0 {
			rate = float64(p.Done) / s
		}
		bar := strings.Repeat("=", filled) + strings.Repeat(" ", width-filled)
		fmt.Fprintf(w, "\r%-32.32s [%s] %d/%d pods, %d unschedulable, %.0f pods/s, %.1fs ",
			p.Workload+" / "+p.Configuration, bar, p.Done, p.Total, p.Unschedulable, rate, p.Elapsed.Seconds())
		if end {
			fmt.Fprintln(w)
		}
	}
}
