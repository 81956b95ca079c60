package e2e

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
)

const handoverPods = 20

// leaderHandover: with pods pending, the leader is killed (SIGKILL, no lease
// release); the other replica takes the lease and binds the rest. Every pod
// ends bound, each exactly once, and no node is over-committed.
func leaderHandover(ctx context.Context, t *testing.T, e *Env) {
	oldLeader, err := e.Replicas.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	lease := func() string {
		l, err := e.Admin.CoordinationV1().Leases(mlNamespace).Get(ctx, mlLease, metav1.GetOptions{})
		if err != nil || l.Spec.HolderIdentity == nil {
			return ""
		}
		return *l.Spec.HolderIdentity
	}
	oldHolder := lease()
	free := freeGPUs(ctx, t, e.Admin, "l4-")

	// Every nodeName a pod ever shows, from the first event on.
	rec := &bindingRecorder{nodes: map[string][]string{}}
	rec.started.Add(1)
	wctx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go rec.run(wctx, e.Admin)
	rec.waitStarted()

	bob := e.ImpersonatedClient(t, teamBUser, teamBDevs)
	for i := 0; i < handoverPods; i++ {
		p := testPod(fmt.Sprintf("handover-%02d", i), teamB, "ml-scheduler", nil)
		p.Labels = map[string]string{"ml-scheduler.io/workload": "inference", "e2e": "handover"}
		p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resourceQ("1")}
		if _, err := bob.CoreV1().Pods(teamB).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// The leader fills the L4 pool; the rest wait, marked unschedulable.
	var bound, pending int
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		bound, pending = countHandover(ctx, e.Admin)
		return bound == free && pending == handoverPods-free, nil
	})
	if err != nil {
		t.Fatalf("before the kill: want %d bound and %d pending, have %d and %d: %v", free, handoverPods-free, bound, pending, err)
	}

	killedAt := time.Now()
	if err := e.Replicas.Kill(ctx, oldLeader); err != nil {
		t.Fatal(err)
	}
	t.Logf("killed leader %s (lease holder %s) with %d pods bound, %d pending", oldLeader, oldHolder, bound, pending)
	// Capacity for the pending pods arrives while no one leads.
	createNodes(ctx, t, e,
		node{name: "l4-2", zone: "zone-c", cpu: "32", memory: "128Gi", gpus: 8, gpuModel: "NVIDIA-L4", pool: "l4"},
		node{name: "l4-3", zone: "zone-c", cpu: "32", memory: "128Gi", gpus: 8, gpuModel: "NVIDIA-L4", pool: "l4"})

	var newHolder string
	err = wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		newHolder = lease()
		return newHolder != "" && newHolder != oldHolder, nil
	})
	if err != nil {
		t.Fatalf("no replica took over the lease: %v", err)
	}
	tookOver := time.Since(killedAt)
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		bound, pending = countHandover(ctx, e.Admin)
		return bound == handoverPods, nil
	})
	if err != nil {
		t.Fatalf("after the handover: %d of %d pods bound: %v", bound, handoverPods, err)
	}
	allBound := time.Since(killedAt)
	newLeader, err := e.Replicas.Leader(ctx)
	if err != nil || newLeader == oldLeader {
		t.Fatalf("new leader %q (was %q): %v", newLeader, oldLeader, err)
	}

	// Exactly once: one nodeName per pod ever seen, one Scheduled event,
	// one "Successfully bound" across both replicas' logs.
	stopWatch()
	rec.mu.Lock()
	for name, nodes := range rec.nodes {
		if len(nodes) != 1 {
			t.Errorf("pod %s was seen on nodes %v", name, nodes)
		}
	}
	rec.mu.Unlock()
	pods, err := e.Admin.CoreV1().Pods(teamB).List(ctx, metav1.ListOptions{LabelSelector: "e2e=handover"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range pods.Items {
		if by := scheduledBy(ctx, t, e.Admin, &pods.Items[i]); len(by) != 1 || by[0] != "ml-scheduler" {
			t.Errorf("pod %s: Scheduled events from %v, want exactly one from ml-scheduler", pods.Items[i].Name, by)
		}
	}
	overcommitted(ctx, t, e.Admin)
	perReplica := map[string]int{}
	if logs := e.Replicas.Logs(); logs != nil {
		binds := map[string]int{}
		re := regexp.MustCompile(`"Successfully bound pod to node" pod="` + teamB + `/(handover-\d+)"`)
		for name, log := range logs {
			for _, m := range re.FindAllStringSubmatch(log, -1) {
				binds[m[1]]++
				perReplica[name]++
			}
		}
		for _, p := range pods.Items {
			if binds[p.Name] != 1 {
				t.Errorf("pod %s bound %d times according to the replicas' logs", p.Name, binds[p.Name])
			}
		}
	}
	if t.Failed() {
		return
	}
	proved(t, "leader-handover: killed leader %s with %d/%d pods pending; %s took the lease %v after the kill and all %d pods were bound %v after it; 0 pods lost, each bound exactly once (1 nodeName ever, 1 Scheduled event, 1 bind in the logs: %v), no node over-committed",
		oldLeader, handoverPods-free, handoverPods, newLeader, tookOver.Round(10*time.Millisecond), handoverPods, allBound.Round(10*time.Millisecond), perReplica)
}

// countHandover counts the handover pods bound and marked unschedulable.
func countHandover(ctx context.Context, c kubernetes.Interface) (bound, pending int) {
	pods, err := c.CoreV1().Pods(teamB).List(ctx, metav1.ListOptions{LabelSelector: "e2e=handover"})
	if err != nil {
		return 0, 0
	}
	for _, p := range pods.Items {
		switch {
		case p.Spec.NodeName != "":
			bound++
		case cluster.Unschedulable(&p) != "":
			pending++
		}
	}
	return bound, pending
}

// freeGPUs is the GPU capacity left on nodes named prefix*.
func freeGPUs(ctx context.Context, t *testing.T, c kubernetes.Interface, prefix string) int {
	t.Helper()
	free := 0
	for n, used := range gpuUse(ctx, t, c) {
		if strings.HasPrefix(n.Name, prefix) {
			free += int(n.Status.Allocatable.Name("nvidia.com/gpu", "").Value()) - used
		}
	}
	return free
}

// overcommitted fails for any node whose pods ask for more GPUs than it has.
func overcommitted(ctx context.Context, t *testing.T, c kubernetes.Interface) {
	t.Helper()
	for n, used := range gpuUse(ctx, t, c) {
		if have := int(n.Status.Allocatable.Name("nvidia.com/gpu", "").Value()); used > have {
			t.Errorf("node %s: pods hold %d GPUs, it has %d", n.Name, used, have)
		}
	}
}

func gpuUse(ctx context.Context, t *testing.T, c kubernetes.Interface) map[*v1.Node]int {
	t.Helper()
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := c.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	byNode := map[string]int{}
	for _, p := range pods.Items {
		for _, ctr := range p.Spec.Containers {
			byNode[p.Spec.NodeName] += int(ctr.Resources.Limits.Name("nvidia.com/gpu", "").Value())
		}
	}
	out := map[*v1.Node]int{}
	for i := range nodes.Items {
		out[&nodes.Items[i]] = byNode[nodes.Items[i].Name]
	}
	return out
}

// bindingRecorder watches the handover pods and records every distinct
// nodeName each one shows.
type bindingRecorder struct {
	mu      sync.Mutex
	nodes   map[string][]string
	started sync.WaitGroup
	once    sync.Once
}

func (r *bindingRecorder) waitStarted() { r.started.Wait() }

func (r *bindingRecorder) run(ctx context.Context, c kubernetes.Interface) {
	defer r.once.Do(r.started.Done)
	rv := ""
	for ctx.Err() == nil {
		w, err := c.CoreV1().Pods(teamB).Watch(ctx, metav1.ListOptions{LabelSelector: "e2e=handover", ResourceVersion: rv})
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			continue
		}
		r.once.Do(r.started.Done)
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*v1.Pod)
			if !ok || ev.Type == watch.Error {
				rv = "" // expired: start over from a fresh list
				break
			}
			rv = p.ResourceVersion
			if p.Spec.NodeName == "" {
				continue
			}
			r.mu.Lock()
			seen := r.nodes[p.Name]
			if len(seen) == 0 || seen[len(seen)-1] != p.Spec.NodeName {
				r.nodes[p.Name] = append(seen, p.Spec.NodeName)
			}
			r.mu.Unlock()
		}
		w.Stop()
	}
}
