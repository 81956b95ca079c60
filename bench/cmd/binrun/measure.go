package main

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Measurement is one scheduler's run over one batch of pods, seen from the API.
type Measurement struct {
	Scenario  string `json:"scenario"`
	Scheduler string `json:"scheduler"`
	Rep       int    `json:"rep"`
	Pods      int    `json:"pods"`
	Bound     int    `json:"bound"`
	// Throughput: bound pods over the time from the first create to the last
	// binding, and percentiles of one-second samples (as scheduler_perf).
	Throughput    float64 `json:"throughputPodsPerSecond"`
	ThroughputP50 float64 `json:"throughputP50"`
	ThroughputP99 float64 `json:"throughputP99"`
	// Creation-to-binding latency: from the create call's return to the
	// driver's watch seeing spec.nodeName set, ms.
	LatencyP50 float64 `json:"latencyP50Ms"`
	LatencyP99 float64 `json:"latencyP99Ms"`
	// Scheduler process CPU time (user+system) during the run, per bound pod.
	CPUPerPod float64 `json:"schedulerCPUMsPerPod"`
	// RSSMiB and PeakRSSMiB: the scheduler's resident memory at the end of
	// the run and at its peak (/proc/<pid>/status VmRSS, VmHWM).
	RSSMiB     float64 `json:"schedulerRSSMiB"`
	PeakRSSMiB float64 `json:"schedulerPeakRSSMiB"`
	Seconds    float64 `json:"seconds"`
	Error      string  `json:"error,omitempty"`
}

// measure creates the pods, waits until all are bound (or timeout) and
// returns what the API showed.
func measure(ctx context.Context, client kubernetes.Interface, pods []*v1.Pod, pid int, timeout time.Duration) Measurement {
	m := Measurement{Pods: len(pods)}
	ns, runID := pods[0].Namespace, pods[0].Labels["bench-run"]
	var (
		mu      sync.Mutex
		created = map[string]time.Time{}
		bound   = map[string]time.Time{}
		done    = make(chan struct{})
	)
	onPod := func(obj any) {
		p, ok := obj.(*v1.Pod)
		if !ok || p.Spec.NodeName == "" || p.Labels["bench-run"] != runID {
			return
		}
		now := time.Now()
		mu.Lock()
		defer mu.Unlock()
		if _, seen := bound[p.Name]; !seen {
			bound[p.Name] = now
			if len(bound) == len(pods) {
				close(done)
			}
		}
	}
	lw := cache.NewListWatchFromClient(client.CoreV1().RESTClient(), "pods", ns, fields.Everything())
	_, informer := cache.NewInformerWithOptions(cache.InformerOptions{
		ListerWatcher: lw, ObjectType: &v1.Pod{},
		Handler: cache.ResourceEventHandlerFuncs{AddFunc: onPod, UpdateFunc: func(_, o any) { onPod(o) }},
	})
	ictx, stop := context.WithCancel(ctx)
	defer stop()
	go informer.RunWithContext(ictx)
	if !cache.WaitForCacheSync(ictx.Done(), informer.HasSynced) {
		m.Error = "pod informer did not sync"
		return m
	}

	cpu0, _ := cpuSeconds(pid)
	start := time.Now()
	err := parallel(len(pods), 16, func(i int) error {
		if _, err := client.CoreV1().Pods(ns).Create(ctx, pods[i], metav1.CreateOptions{}); err != nil {
			return err
		}
		t := time.Now()
		mu.Lock()
		created[pods[i].Name] = t
		mu.Unlock()
		return nil
	})
	if err != nil {
		m.Error = "creating pods: " + err.Error()
		return m
	}
	select {
	case <-done:
	case <-time.After(timeout):
		m.Error = fmt.Sprintf("timed out after %s", timeout)
	}
	cpu1, _ := cpuSeconds(pid)

	mu.Lock()
	defer mu.Unlock()
	m.Bound = len(bound)
	var lat []float64
	var last time.Time
	for name, b := range bound {
		if c, ok := created[name]; ok {
			lat = append(lat, float64(b.Sub(c).Microseconds())/1000)
		}
		if b.After(last) {
			last = b
		}
	}
	if m.Bound == 0 {
		return m
	}
	m.Seconds = last.Sub(start).Seconds()
	m.Throughput = float64(m.Bound) / m.Seconds
	m.LatencyP50, m.LatencyP99 = percentile(lat, 50), percentile(lat, 99)
	m.CPUPerPod = (cpu1 - cpu0) * 1000 / float64(m.Bound)
	// One-second samples of bindings from the first binding on.
	var first time.Time = last
	for _, b := range bound {
		if b.Before(first) {
			first = b
		}
	}
	secs := int(math.Ceil(last.Sub(first).Seconds()))
	if secs > 1 {
		counts := make([]float64, secs)
		for _, b := range bound {
			i := int(b.Sub(first).Seconds())
			if i >= secs {
				i = secs - 1
			}
			counts[i]++
		}
		// The last second is partial: leave it out.
		counts = counts[:secs-1]
		m.ThroughputP50, m.ThroughputP99 = percentile(counts, 50), percentile(counts, 99)
	}
	return m
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64{}, xs...)
	sort.Float64s(s)
	i := int(math.Ceil(float64(len(s))*p/100)) - 1
	return s[max(i, 0)]
}

// deletePods removes a run's pods at once (no kubelet: grace period 0).
func deletePods(ctx context.Context, client kubernetes.Interface, ns, runID string) error {
	zero := int64(0)
	sel := metav1.ListOptions{LabelSelector: "bench-run=" + runID}
	if err := client.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, sel); err != nil {
		return err
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		l, err := client.CoreV1().Pods(ns).List(ctx, sel)
		if err == nil && len(l.Items) == 0 {
			return nil
		}
		time.Sleep(500 * time.Millisecond)
	}
	return fmt.Errorf("pods of run %s still present after 2m", runID)
}
