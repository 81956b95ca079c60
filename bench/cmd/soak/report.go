package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/ml-scheduler/ml-scheduler/bench/internal/runinfo"
	"github.com/ml-scheduler/ml-scheduler/bench/internal/stats"
	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// Sample is one reading of the scheduler's metrics.
type Sample struct {
	Minutes      float64 `json:"minutes"`
	HeapInuseMiB float64 `json:"heapInuseMiB"`
	RSSMiB       float64 `json:"rssMiB"`
	Goroutines   float64 `json:"goroutines"`
	// Pending are the soak pods not bound at the time.
	Pending int `json:"pending"`
}

func (s *soak) sampleLoop(ctx context.Context, every time.Duration) {
	s.takeSample(ctx)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			s.takeSample(ctx)
		}
	}
}

func (s *soak) takeSample(ctx context.Context) {
	text, err := s.sched.Metrics(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "soak: reading metrics:", err)
		return
	}
	v := func(name string) float64 {
		x, _, _ := cluster.SampleValue(text, name, nil)
		return x
	}
	smp := Sample{Minutes: time.Since(s.start).Minutes(), HeapInuseMiB: v("go_memstats_heap_inuse_bytes") / (1 << 20),
		RSSMiB: v("process_resident_memory_bytes") / (1 << 20), Goroutines: v("go_goroutines")}
	pending, err := s.client.CoreV1().Pods(namespace).List(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "").String()})
	if err == nil {
		smp.Pending = len(pending.Items)
	}
	s.mu.Lock()
	s.samples = append(s.samples, smp)
	s.mu.Unlock()
	fmt.Printf("%6.1f min  heap %6.1f MiB  RSS %6.1f MiB  goroutines %4.0f  pending %d\n", smp.Minutes, smp.HeapInuseMiB, smp.RSSMiB, smp.Goroutines, smp.Pending)
}

// trend is a least-squares line through (minutes, value) points.
type trend struct{ slope, intercept, residualSD float64 }

func fit(xs, ys []float64) trend {
	n := float64(len(xs))
	if n < 2 {
		return trend{}
	}
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx, sy, sxx, sxy = sx+xs[i], sy+ys[i], sxx+xs[i]*xs[i], sxy+xs[i]*ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return trend{}
	}
	t := trend{slope: (n*sxy - sx*sy) / d}
	t.intercept = (sy - t.slope*sx) / n
	var ss float64
	for i := range xs {
		r := ys[i] - (t.intercept + t.slope*xs[i])
		ss += r * r
	}
	t.residualSD = math.Sqrt(ss / n)
	return t
}

// warmupOf is left out of the trends: informers fill, the learner and the
// index settle. 5 minutes, or a fifth of a shorter run.
func warmupOf(d time.Duration) float64 { return math.Min(5, d.Minutes()/5) }

func (s *soak) write(dir string, duration time.Duration, rate float64, lifetime, edit time.Duration) error {
	dir, err := ensureDir(dir)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	warmup := warmupOf(duration)
	var xs, heap, rss, gor []float64
	maxPending := 0
	for _, smp := range s.samples {
		if smp.Minutes < warmup {
			continue
		}
		xs, heap, rss, gor = append(xs, smp.Minutes), append(heap, smp.HeapInuseMiB), append(rss, smp.RSSMiB), append(gor, smp.Goroutines)
		maxPending = max(maxPending, smp.Pending)
	}
	if len(xs) < 4 {
		return fmt.Errorf("only %d samples after the %.1f-minute warm-up: run longer", len(xs), warmup)
	}
	span := xs[len(xs)-1] - xs[0]
	th, tr, tg := fit(xs, heap), fit(xs, rss), fit(xs, gor)
	var sb strings.Builder
	w := func(f string, a ...any) { fmt.Fprintf(&sb, f, a...) }
	w("# Soak: ml-scheduler under pod churn and policy edits\n\n")
	w("`go run ./bench/cmd/soak -duration %v -rate %g -lifetime %v -policy-every %v`, commit %s, %s, go %s, %s; load average at the end %s.\n\n",
		duration, rate, lifetime, edit, runinfo.Commit(), time.Now().UTC().Format("2006-01-02 15:04 MST"), goVersion(), machine(), runinfo.LoadAverage())
	w("120 nodes (40 A100 ×8 GPUs, 40 L4 ×4, 40 CPU-only) on a real etcd + kube-apiserver; the ml-scheduler binary, one replica. ")
	w("Pods are created at %g per second (a third CPU-only, a third 1-GPU training pods confined to the A100 pool, a third 1-GPU inference pods confined to L4) and each deleted %v after its creation; the policy ConfigMap is rewritten every %v with one of two valid policies in turn. ", rate, lifetime, edit)
	w("Every sample reads the scheduler's /metrics. Trends are least-squares lines over the samples after the first %.1f minutes (warm-up).\n\n", warmup)
	w("Pods created %d, deleted %d (create errors %d); policy edits %d (errors %d); at most %d soak pods pending at a sample after warm-up.\n\n",
		s.created, s.deleted, s.createErr, s.edits, s.editErr, maxPending)
	// The second half alone tells a plateau reached late from steady growth.
	half := len(xs) / 2
	w("| series | first sample after warm-up | last sample | median | trend per 10 min | residual SD | trend over the %.0f minutes ÷ residual SD | second half: trend per 10 min | residual SD |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n", span)
	for _, r := range []struct {
		name string
		ys   []float64
		t    trend
	}{{"heap in use, MiB", heap, th}, {"resident set, MiB", rss, tr}, {"goroutines", gor, tg}} {
		ratio := 0.0
		if r.t.residualSD > 0 {
			ratio = math.Abs(r.t.slope*span) / r.t.residualSD
		}
		h := fit(xs[half:], r.ys[half:])
		w("| %s | %.1f | %.1f | %.1f | %+.2f | %.2f | %.1f | %+.2f | %.2f |\n", r.name, r.ys[0], r.ys[len(r.ys)-1], stats.Median(r.ys), r.t.slope*10, r.t.residualSD, ratio, h.slope*10, h.residualSD)
	}
	w("\nRead: growth stands out from noise where the trend over the run is several times the residual SD; the plot is [soak.svg](soak.svg).\n")
	if err := os.WriteFile(filepath.Join(dir, "results.md"), []byte(sb.String()), 0o644); err != nil {
		return err
	}
	b, _ := json.MarshalIndent(map[string]any{"samples": s.samples, "created": s.created, "deleted": s.deleted, "edits": s.edits,
		"rate": rate, "lifetimeSeconds": lifetime.Seconds(), "durationMinutes": duration.Minutes(), "editSeconds": edit.Seconds(), "createErrors": s.createErr, "editErrors": s.editErr}, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "samples.json"), b, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "soak.svg"), []byte(plot(s.samples)), 0o644)
}
