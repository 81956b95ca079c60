package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// backgroundNamespace holds the pods that fill a large cluster before the
// measured runs: bound already (spec.nodeName set), tiny requests, so they
// cost every scheduler the memory and informer work of a busy cluster
// without changing where the measured pods fit.
const backgroundNamespace = "background"

// createBackgroundPods creates count bound pods spread round-robin over
// nodeNames, with a client of its own whose rate limit is raised (the
// admin client's would take minutes for 100k pods).
func createBackgroundPods(ctx context.Context, cfg *rest.Config, nodeNames []string, count int) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 5000, 5000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	req := v1.ResourceList{v1.ResourceCPU: resource.MustParse("1m"), v1.ResourceMemory: resource.MustParse("1Mi")}
	return parallel(count, 32, func(i int) error {
		p := &v1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bg-%06d", i), Namespace: backgroundNamespace,
				Labels: map[string]string{"app": fmt.Sprintf("bg-%d", i%50)}},
			Spec: v1.PodSpec{
				NodeName:      nodeNames[i%len(nodeNames)],
				SchedulerName: "background",
				Containers: []v1.Container{{Name: "c", Image: "registry.k8s.io/pause:3.10",
					Resources: v1.ResourceRequirements{Requests: req}}},
			},
		}
		_, err := client.CoreV1().Pods(backgroundNamespace).Create(ctx, p, metav1.CreateOptions{})
		return err
	})
}

// nodeNames lists the cluster's node names.
func nodeNames(ctx context.Context, client kubernetes.Interface) ([]string, error) {
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return nil, err
	}
	names := make([]string, len(list.Items))
	for i := range list.Items {
		names[i] = list.Items[i].Name
	}
	return names, nil
}

// residentMiB reads a process's resident set size now (VmRSS) and at its
// peak (VmHWM) from /proc/<pid>/status, in MiB.
func residentMiB(pid int) (rss, peak float64, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		kb, perr := strconv.ParseFloat(f[1], 64)
		switch f[0] {
		case "VmRSS:":
			rss, err = kb/1024, perr
		case "VmHWM:":
			peak, err = kb/1024, perr
		}
		if err != nil {
			return 0, 0, fmt.Errorf("/proc/%d/status %s: %w", pid, f[0], err)
		}
	}
	return rss, peak, nil
}
