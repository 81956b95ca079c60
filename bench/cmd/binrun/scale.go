package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// backgroundNamespace holds the pods that fill a large cluster before the
// measured runs: bound already (spec.nodeName set), tiny requests, so they
// cost every scheduler the memory and informer work of a busy cluster
// without changing where the measured pods fit.
const backgroundNamespace = "background"

// createBackgroundPods creates count bound pods (trace.BackgroundPods)
// spread round-robin over the cluster's nodes, with a client of its own
// whose rate limit is raised (the admin client's would take minutes for
// 100k pods).
func createBackgroundPods(ctx context.Context, cfg *rest.Config, count int) error {
	cfg = rest.CopyConfig(cfg)
	cfg.QPS, cfg.Burst = 5000, 5000
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{ResourceVersion: "0"})
	if err != nil {
		return err
	}
	nodes := make([]*v1.Node, len(list.Items))
	for i := range list.Items {
		nodes[i] = &list.Items[i]
	}
	pods, err := trace.BackgroundPods(nodes, count, backgroundNamespace)
	if err != nil {
		return err
	}
	return parallel(count, 32, func(i int) error {
		_, err := client.CoreV1().Pods(backgroundNamespace).Create(ctx, pods[i], metav1.CreateOptions{})
		return err
	})
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
