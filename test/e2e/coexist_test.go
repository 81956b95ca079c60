package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// coexistence: the stock scheduler and ml-scheduler share one cluster, each
// on its own Lease, each placing only the pods that name it.
func coexistence(ctx context.Context, t *testing.T, e *Env) {
	// The sample pods, as a user applies them, and a plain web pod of team-b.
	if _, err := e.Run(ctx, "apply", "-k", samplePods); err != nil {
		t.Fatal(err)
	}
	bob := e.ImpersonatedClient(t, teamBUser, teamBDevs)
	web := testPod("web-0", teamB, "", nil) // no schedulerName: the default scheduler
	if _, err := bob.CoreV1().Pods(teamB).Create(ctx, web, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		ns, name, scheduler, nodePrefix string
	}{
		{research, "train-0", "ml-scheduler", "a100-"},
		{teamB, "serve-0", "ml-scheduler", "l4-"},
		{teamB, "web-0", e.DefaultScheduler, ""}, // any node but a pool node
	}
	var placed []string
	for _, w := range want {
		p := waitBound(ctx, t, e.Admin, w.ns, w.name, time.Minute)
		if w.nodePrefix == "" && isPoolNode(ctx, t, e, p.Spec.NodeName) || !strings.HasPrefix(p.Spec.NodeName, w.nodePrefix) {
			t.Errorf("%s/%s on %s, want a %s* node", w.ns, w.name, p.Spec.NodeName, w.nodePrefix)
		}
		by := scheduledBy(ctx, t, e.Admin, p)
		if len(by) != 1 || by[0] != w.scheduler {
			t.Errorf("%s/%s: Scheduled events reported by %v, want exactly one by %s", w.ns, w.name, by, w.scheduler)
		}
		placed = append(placed, fmt.Sprintf("%s/%s→%s by %s", w.ns, w.name, p.Spec.NodeName, w.scheduler))
	}
	// No pod was ever touched by the other scheduler: every scheduling
	// event in the tenant namespaces comes from the pod's own scheduler.
	for _, ns := range []string{research, teamB} {
		checkEventsMatchScheduler(ctx, t, e.Admin, ns)
	}
	// Two leases, two holders.
	leases := e.Admin.CoordinationV1().Leases
	stock, err := leases("kube-system").Get(ctx, "kube-scheduler", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("stock scheduler lease: %v", err)
	}
	ours, err := leases(mlNamespace).Get(ctx, mlLease, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("ml-scheduler lease: %v", err)
	}
	if stock.Spec.HolderIdentity == nil || ours.Spec.HolderIdentity == nil || *stock.Spec.HolderIdentity == *ours.Spec.HolderIdentity {
		t.Errorf("leases not held separately: kube-system/kube-scheduler %v, %s/%s %v", stock.Spec.HolderIdentity, mlNamespace, mlLease, ours.Spec.HolderIdentity)
	}
	if t.Failed() {
		return
	}
	proved(t, "coexistence: %s; every Scheduled/FailedScheduling event in %s,%s came from the pod's own scheduler; leases kube-system/kube-scheduler and %s/%s held apart",
		strings.Join(placed, ", "), research, teamB, mlNamespace, mlLease)
}

// waitBound waits until the pod has a node.
func waitBound(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string, timeout time.Duration) *v1.Pod {
	t.Helper()
	pod, err := cluster.WaitScheduled(ctx, c, ns, name, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

// waitUnschedulable waits for PodScheduled=False and returns its message.
func waitUnschedulable(ctx context.Context, t *testing.T, c kubernetes.Interface, ns, name string, timeout time.Duration) string {
	t.Helper()
	msg, err := cluster.WaitUnschedulable(ctx, c, ns, name, timeout)
	if err != nil {
		t.Fatalf("pod %s/%s not reported unschedulable: %v", ns, name, err)
	}
	return msg
}

// scheduledBy lists the reporting controllers of the pod's Scheduled events.
func scheduledBy(ctx context.Context, t *testing.T, c kubernetes.Interface, p *v1.Pod) []string {
	t.Helper()
	var by []string
	// Events are written asynchronously after the binding.
	_ = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := c.CoreV1().Events(p.Namespace).List(ctx, metav1.ListOptions{
			FieldSelector: "involvedObject.name=" + p.Name + ",reason=Scheduled"})
		if err != nil {
			return false, nil
		}
		by = by[:0]
		for _, ev := range evs.Items {
			if ev.InvolvedObject.UID == p.UID {
				for i := int32(0); i < max(ev.Count, 1); i++ {
					by = append(by, reporter(ev))
				}
			}
		}
		return len(by) > 0, nil
	})
	return by
}

func reporter(ev v1.Event) string {
	if ev.ReportingController != "" {
		return ev.ReportingController
	}
	return ev.Source.Component
}

// checkEventsMatchScheduler fails on any scheduling event reported by a
// scheduler other than the pod's.
func checkEventsMatchScheduler(ctx context.Context, t *testing.T, c kubernetes.Interface, ns string) {
	t.Helper()
	evs, err := c.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, ev := range evs.Items {
		if ev.InvolvedObject.Kind != "Pod" || (ev.Reason != "Scheduled" && ev.Reason != "FailedScheduling") {
			continue
		}
		p, err := c.CoreV1().Pods(ns).Get(ctx, ev.InvolvedObject.Name, metav1.GetOptions{})
		if err != nil || p.UID != ev.InvolvedObject.UID {
			continue
		}
		if got := reporter(ev); got != p.Spec.SchedulerName {
			t.Errorf("%s event on %s/%s (scheduler %s) reported by %s", ev.Reason, ns, p.Name, p.Spec.SchedulerName, got)
		}
	}
}
