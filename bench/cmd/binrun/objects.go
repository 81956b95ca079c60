package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"text/template"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"
)

// The node and pod templates are scheduler_perf's (bench/workloads): Go text
// templates with .Index, .Count and a few arithmetic functions, rendered
// here with the same functions so both harnesses see the same objects.
var templateFuncs = template.FuncMap{
	"Mod":         func(a, b int) int { return a % b },
	"DivideInt":   func(a, b int) int { return a / b },
	"MultiplyInt": func(a, b int) int { return a * b },
}

func loadTemplate(path string) (*template.Template, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return template.New(path).Funcs(templateFuncs).Parse(string(b))
}

func render(t *template.Template, env map[string]any, obj any) error {
	var buf bytes.Buffer
	if err := t.Execute(&buf, env); err != nil {
		return err
	}
	return yaml.UnmarshalStrict(buf.Bytes(), obj)
}

// parallel runs f(0..n-1) on workers goroutines and returns the first error.
func parallel(n, workers int, f func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if i >= n || stop {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// createNodes renders and creates count nodes, status included.
func createNodes(ctx context.Context, client kubernetes.Interface, tmplPath string, count int) error {
	t, err := loadTemplate(tmplPath)
	if err != nil {
		return err
	}
	return parallel(count, 16, func(i int) error {
		n := &v1.Node{}
		if err := render(t, map[string]any{"Index": i, "Count": count}, n); err != nil {
			return fmt.Errorf("node %d: %w", i, err)
		}
		n.GenerateName = ""
		n.Name = fmt.Sprintf("node-%05d", i)
		n.Labels["kubernetes.io/hostname"] = n.Name
		status := n.Status
		created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		created.Status = status
		_, err = client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{})
		return err
	})
}

// podsFor renders the measured pods of one run.
func podsFor(tmplPath string, count int, constraints, namespace, schedulerName, runID string) ([]*v1.Pod, error) {
	t, err := loadTemplate(tmplPath)
	if err != nil {
		return nil, err
	}
	pods := make([]*v1.Pod, count)
	for i := range pods {
		p := &v1.Pod{}
		if err := render(t, map[string]any{"Index": i, "Count": count, "constraints": constraints}, p); err != nil {
			return nil, fmt.Errorf("pod %d: %w", i, err)
		}
		p.GenerateName = ""
		p.Name = fmt.Sprintf("%s-%05d", runID, i)
		p.Namespace = namespace
		p.Labels["bench-run"] = runID
		p.Spec.SchedulerName = schedulerName
		pods[i] = p
	}
	return pods, nil
}
