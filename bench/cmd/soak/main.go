// Command soak runs the ml-scheduler binary under steady pod churn for a
// long time and samples its memory and goroutines (issue 10, item 3):
// pods are created at a steady rate and deleted after a lifetime, the
// policy ConfigMap is rewritten every minute (two valid policies in
// turn), and every -sample the scheduler's /metrics is read
// (go_memstats_heap_inuse_bytes, go_goroutines,
// process_resident_memory_bytes). It writes results.md, samples.json and
// soak.svg under -out.
//
//	go run ./bench/cmd/soak -duration 30m -out bench/results/soak
//
// Run it from the repository root; it needs .cache/bin (make build).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

const (
	namespace       = "soak"
	policyNamespace = "ml-scheduler"
	policyName      = "ml-scheduler-policy"
)

// The two policies the churn alternates between: both valid, different
// packing, so every edit is a real swap (new hash, index rebuilt).
const policyText = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: a100, nodeSelector: {matchLabels: {pool: a100}}}
- {name: l4, nodeSelector: {matchLabels: {pool: l4}}}
rules:
- name: training
  match: {podSelector: {matchLabels: {kind: training}}}
  pools: [a100]
  gpuPacking: %s
- name: inference
  match: {podSelector: {matchLabels: {kind: inference}}}
  pools: [l4]
reserveGPUNodes: true
`

var packings = []string{"BinPack", "MinFragmentation"}

func main() {
	duration := flag.Duration("duration", 30*time.Minute, "how long the churn runs")
	rate := flag.Float64("rate", 10, "pods created per second")
	lifetime := flag.Duration("lifetime", 30*time.Second, "how long a pod lives before it is deleted")
	sample := flag.Duration("sample", 15*time.Second, "how often the scheduler's metrics are read")
	edit := flag.Duration("policy-every", time.Minute, "how often the policy ConfigMap is rewritten")
	out := flag.String("out", "bench/results/soak", "output directory")
	from := flag.String("from", "", "write the report again from a samples.json of an earlier run (its flags are read from it) instead of running")
	flag.Parse()
	if *from != "" {
		if err := rewrite(*from, *out); err != nil {
			fatal(err)
		}
		return
	}
	if *rate <= 0 || *duration <= 0 || *lifetime <= 0 || *sample <= 0 || *edit <= 0 {
		fatal(fmt.Errorf("-rate, -duration, -lifetime, -sample and -policy-every must be positive"))
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()

	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) { fmt.Printf(f+"\n", a...) }})
	if err != nil {
		fatal(err)
	}
	defer cp.Stop()
	client := cp.Client()
	if err := cluster.EnsureNamespaces(ctx, client, policyNamespace, namespace); err != nil {
		fatal(err)
	}
	if err := cluster.ApplyPolicy(ctx, client, policyNamespace, policyName, fmt.Sprintf(policyText, packings[0])); err != nil {
		fatal(err)
	}
	nodes := []cluster.NodeSpec{
		{Name: "a100", Count: 40, CPU: "64", Memory: "512Gi", GPUs: 8, Labels: map[string]string{"pool": "a100", "nvidia.com/gpu.product": "A100"}},
		{Name: "l4", Count: 40, CPU: "32", Memory: "128Gi", GPUs: 4, Labels: map[string]string{"pool": "l4", "nvidia.com/gpu.product": "L4"}},
		{Name: "cpu", Count: 40, CPU: "32", Memory: "128Gi"},
	}
	if err := cluster.CreateNodes(ctx, client, cluster.Expand(nodes)); err != nil {
		fatal(err)
	}
	sched, err := cluster.StartScheduler(ctx, cp, cluster.SchedulerOptions{Verbosity: 1})
	if err != nil {
		fatal(err)
	}
	defer func() { _ = sched.Stop() }()
	fmt.Printf("ml-scheduler pid %d; churn %.0f pods/s, lifetime %v, policy edit every %v, for %v\n", sched.Pid(), *rate, *lifetime, *edit, *duration)

	run := &soak{client: client, sched: sched, start: time.Now()}
	runCtx, stop := context.WithTimeout(ctx, *duration)
	defer stop()
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); run.churn(runCtx, *rate, *lifetime) }()
	go func() { defer wg.Done(); run.editPolicy(runCtx, *edit) }()
	go func() { defer wg.Done(); run.sampleLoop(runCtx, *sample) }()
	wg.Wait()
	if ctx.Err() != nil {
		fatal(ctx.Err())
	}
	if err := run.write(*out, *duration, *rate, *lifetime, *edit); err != nil {
		fatal(err)
	}
	fmt.Printf("results in %s\n", *out)
}

// rewrite writes the report of an earlier run from its samples.json.
func rewrite(path, out string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var saved struct {
		Samples         []Sample `json:"samples"`
		Created         int      `json:"created"`
		Deleted         int      `json:"deleted"`
		Edits           int      `json:"edits"`
		Rate            float64  `json:"rate"`
		LifetimeSeconds float64  `json:"lifetimeSeconds"`
		DurationMinutes float64  `json:"durationMinutes"`
		EditSeconds     float64  `json:"editSeconds"`
	}
	if err := json.Unmarshal(b, &saved); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if saved.EditSeconds == 0 {
		saved.EditSeconds = 60 // runs before editSeconds was saved used the default
	}
	s := &soak{samples: saved.Samples, created: saved.Created, deleted: saved.Deleted, edits: saved.Edits}
	return s.write(out, time.Duration(saved.DurationMinutes*float64(time.Minute)), saved.Rate,
		time.Duration(saved.LifetimeSeconds*float64(time.Second)), time.Duration(saved.EditSeconds*float64(time.Second)))
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "soak:", err)
	os.Exit(1)
}

// soak is one run's state; the counters are read at the end.
type soak struct {
	client kubernetes.Interface
	sched  *cluster.Scheduler
	start  time.Time

	mu                          sync.Mutex
	created, deleted, createErr int
	edits, editErr              int
	samples                     []Sample
}

// churn creates pods at rate per second, alternating CPU, training and
// inference pods, and deletes each after lifetime.
func (s *soak) churn(ctx context.Context, rate float64, lifetime time.Duration) {
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	type live struct {
		name string
		at   time.Time
	}
	var queue []live
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			for len(queue) > 0 && now.Sub(queue[0].at) >= lifetime {
				err := s.client.CoreV1().Pods(namespace).Delete(ctx, queue[0].name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				queue = queue[1:]
				if err == nil {
					s.count(&s.deleted)
				}
			}
			spec := cluster.PodSpec{Name: fmt.Sprintf("p-%07d", i), Namespace: namespace, CPU: "500m", Memory: "1Gi"}
			switch i % 3 {
			case 1:
				spec.Labels, spec.GPUs = map[string]string{"kind": "training"}, 1
			case 2:
				spec.Labels, spec.GPUs = map[string]string{"kind": "inference"}, 1
			}
			if _, err := cluster.CreatePod(ctx, s.client, spec); err != nil {
				if ctx.Err() == nil {
					s.count(&s.createErr)
				}
				continue
			}
			s.count(&s.created)
			queue = append(queue, live{spec.Name, now})
		}
	}
}

func (s *soak) editPolicy(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for i := 1; ; i++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			err := cluster.ApplyPolicy(ctx, s.client, policyNamespace, policyName, fmt.Sprintf(policyText, packings[i%len(packings)]))
			if err != nil {
				s.count(&s.editErr)
			} else {
				s.count(&s.edits)
			}
		}
	}
}

func (s *soak) count(c *int) {
	s.mu.Lock()
	*c++
	s.mu.Unlock()
}

// ensureDir makes the output directory.
func ensureDir(dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	return abs, os.MkdirAll(abs, 0o755)
}
