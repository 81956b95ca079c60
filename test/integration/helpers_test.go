package integration

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
)

const (
	policyNamespace = "ml-scheduler"
	policyName      = "ml-scheduler-policy"

	// caseLabel marks the nodes a test case creates, so its cleanup deletes
	// exactly those.
	caseLabel = "itest.ml-scheduler.io/case"

	workloadLabel = "ml-scheduler.io/workload"
	gpuProduct    = "nvidia.com/gpu.product"
	zoneLabel     = "topology.kubernetes.io/zone"

	// scheduleTimeout bounds waiting for one pod to be bound or marked
	// unschedulable: generous for 2 shared cores, far below the 5-minute
	// unschedulable flush that would hide a missing requeue.
	scheduleTimeout = 30 * time.Second
)

// env is the package's one control plane and one ml-scheduler, shared by all
// tests, which run one at a time. Each test case applies its own policy and
// creates its own namespaces and nodes, and deletes its pods and nodes when
// it ends, so the next case starts on an empty cluster.
var env struct {
	cp     *controlplane.ControlPlane
	client kubernetes.Interface

	mu    sync.Mutex
	sched *cluster.Scheduler
}

// TestMain starts etcd and kube-apiserver once for the package.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	ctx := context.Background()
	begin := time.Now()
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, f+"\n", a...)
	}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the control plane: %v\n", err)
		return 1
	}
	defer cp.Stop()
	env.cp, env.client = cp, cp.Client()
	if err := cluster.EnsureNamespaces(ctx, env.client, policyNamespace); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		return 1
	}
	fmt.Fprintf(os.Stderr, "control plane up in %v\n", time.Since(begin).Round(time.Millisecond))
	defer stopScheduler()
	return m.Run()
}

// scheduler returns the shared ml-scheduler, starting it on first use. On
// failure of the calling test the tail of its log is printed.
func scheduler(t *testing.T) *cluster.Scheduler {
	t.Helper()
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.sched == nil {
		begin := time.Now()
		opts := cluster.SchedulerOptions{}
		// ML_SCHEDULER_TEST_V raises the scheduler's klog verbosity for debugging.
		if v, err := strconv.Atoi(os.Getenv("ML_SCHEDULER_TEST_V")); err == nil {
			opts.Verbosity = v
		}
		s, err := cluster.StartScheduler(context.Background(), env.cp, opts)
		if err != nil {
			t.Fatalf("starting ml-scheduler: %v", err)
		}
		env.sched = s
		t.Logf("ml-scheduler (pid %d) healthy on port %d after %v", s.Pid(), s.Port, time.Since(begin).Round(time.Millisecond))
	}
	s := env.sched
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- ml-scheduler log tail (%s) ---\n%s", s.LogPath, s.LogTail(80))
		}
	})
	return s
}

// stopScheduler stops the shared scheduler if it runs.
func stopScheduler() {
	env.mu.Lock()
	defer env.mu.Unlock()
	if env.sched != nil {
		env.sched.StopGrace = 5 * time.Second
		_ = env.sched.Stop()
		env.sched = nil
	}
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// tcase is one test case: its namespaces and the nodes it creates.
type tcase struct {
	t    *testing.T
	ctx  context.Context
	c    kubernetes.Interface
	name string
	s    *cluster.Scheduler
}

// newCase starts a case: the shared scheduler runs, the namespaces exist, and
// when the case ends its pods are force-deleted and its nodes deleted.
func newCase(t *testing.T, name string, namespaces ...string) *tcase {
	t.Helper()
	tc := &tcase{t: t, ctx: ctxFor(t), c: env.client, name: name}
	tc.s = scheduler(t)
	if err := cluster.EnsureNamespaces(tc.ctx, tc.c, namespaces...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// No kubelet and no controllers: pods are force-deleted, nodes deleted.
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		zero := int64(0)
		for _, ns := range namespaces {
			if err := tc.c.CoreV1().Pods(ns).DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
				t.Logf("cleanup: deleting pods in %s: %v", ns, err)
			}
		}
		if err := tc.c.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: caseLabel + "=" + name}); err != nil {
			t.Logf("cleanup: deleting nodes of %s: %v", name, err)
		}
	})
	return tc
}

// with returns the case bound to a subtest's t, so failures stop the subtest.
func (tc *tcase) with(t *testing.T) *tcase {
	c := *tc
	c.t = t
	return &c
}

// nodes creates the case's nodes, labelled with the case name.
func (tc *tcase) nodes(specs ...cluster.NodeSpec) {
	tc.t.Helper()
	for i := range specs {
		l := map[string]string{caseLabel: tc.name}
		for k, v := range specs[i].Labels {
			l[k] = v
		}
		specs[i].Labels = l
	}
	if err := cluster.CreateNodes(tc.ctx, tc.c, specs); err != nil {
		tc.t.Fatal(err)
	}
}

// policy applies a policy and waits until the scheduler reports it in force
// (annotation active hash = the hash the policy package computes, no error).
// It returns the hash.
func (tc *tcase) policy(yaml string) string {
	tc.t.Helper()
	return applyPolicy(tc.t, tc.ctx, yaml)
}

func applyPolicy(t *testing.T, ctx context.Context, yaml string) string {
	t.Helper()
	want := writePolicy(t, ctx, yaml)
	waitPolicyInForce(t, ctx, want)
	return want
}

// writePolicy writes the policy into the ConfigMap without waiting for the
// scheduler, and returns the hash it will report.
func writePolicy(t *testing.T, ctx context.Context, yaml string) string {
	t.Helper()
	want := policyHash(t, yaml)
	if err := cluster.ApplyPolicy(ctx, env.client, policyNamespace, policyName, yaml); err != nil {
		t.Fatalf("applying policy: %v", err)
	}
	return want
}

// waitPolicyInForce waits until the ConfigMap reports the policy with hash
// want in force and no error.
func waitPolicyInForce(t *testing.T, ctx context.Context, want string) {
	t.Helper()
	if _, err := cluster.WaitPolicyStatus(ctx, env.client, policyNamespace, policyName, 15*time.Second, func(s cluster.PolicyStatus) bool {
		return s.ActiveHash == want && s.LastError == ""
	}); err != nil {
		t.Fatalf("policy %s not reported in force: %v", want, err)
	}
}

// policyHash is the hash the scheduler will report for a valid policy.
func policyHash(t *testing.T, yaml string) string {
	t.Helper()
	p, err := policy.Load([]byte(yaml))
	if err != nil {
		t.Fatalf("test policy is invalid: %v", err)
	}
	return p.Hash()
}

// pod creates a pod with our scheduler.
func (tc *tcase) pod(s cluster.PodSpec) *v1.Pod {
	tc.t.Helper()
	p, err := cluster.CreatePod(tc.ctx, tc.c, s)
	if err != nil {
		tc.t.Fatal(err)
	}
	return p
}

// scheduled waits for the pod to be bound and returns it.
func (tc *tcase) scheduled(ns, name string) *v1.Pod {
	tc.t.Helper()
	p, err := cluster.WaitScheduled(tc.ctx, tc.c, ns, name, scheduleTimeout)
	if err != nil {
		tc.t.Fatal(err)
	}
	return p
}

// place creates a pod, waits for it to be bound, checks it is on one of
// nodes and that its rule annotation names rule. It returns the node.
func (tc *tcase) place(s cluster.PodSpec, rule string, nodes ...string) string {
	tc.t.Helper()
	tc.pod(s)
	p := tc.scheduled(s.Namespace, s.Name)
	if len(nodes) > 0 && !slices.Contains(nodes, p.Spec.NodeName) {
		tc.t.Fatalf("pod %s/%s placed on %s, want one of %v", s.Namespace, s.Name, p.Spec.NodeName, nodes)
	}
	tc.expectRule(p, rule)
	return p.Spec.NodeName
}

// expectRule checks the rule annotation of a bound pod names rule.
func (tc *tcase) expectRule(p *v1.Pod, rule string) {
	tc.t.Helper()
	got, err := cluster.PlacedRule(tc.ctx, tc.c, p, 10*time.Second)
	if err != nil {
		tc.t.Fatal(err)
	}
	if got != rule {
		tc.t.Fatalf("pod %s/%s: annotation %s = %q, want %q", p.Namespace, p.Name, mlpolicy.AnnotationRule, got, rule)
	}
}

// placedPolicy returns the policy hash on a bound pod (the annotation its
// Binding carried).
func (tc *tcase) placedPolicy(p *v1.Pod) string {
	tc.t.Helper()
	pl, err := cluster.PlacementOf(tc.ctx, tc.c, p, 10*time.Second)
	if err != nil {
		tc.t.Fatal(err)
	}
	return pl.PolicyHash
}

// pending waits until the scheduler marks the pod unschedulable and checks
// the PodScheduled condition message contains every one of want.
func (tc *tcase) pending(ns, name string, want ...string) string {
	tc.t.Helper()
	msg, err := cluster.WaitUnschedulable(tc.ctx, tc.c, ns, name, scheduleTimeout)
	if err != nil {
		tc.t.Fatalf("pod %s/%s not marked unschedulable: %v", ns, name, err)
	}
	for _, w := range want {
		if !strings.Contains(msg, w) {
			tc.t.Fatalf("pod %s/%s unschedulable message lacks %q:\n%s", ns, name, w, msg)
		}
	}
	return msg
}

// stillPending checks the pod has not been bound.
func (tc *tcase) stillPending(ns, name string) {
	tc.t.Helper()
	p, err := tc.c.CoreV1().Pods(ns).Get(tc.ctx, name, metav1.GetOptions{})
	if err != nil {
		tc.t.Fatal(err)
	}
	if p.Spec.NodeName != "" {
		tc.t.Fatalf("pod %s/%s was bound to %s", ns, name, p.Spec.NodeName)
	}
}

// gpuNode is a GPU node spec with the model in nvidia.com/gpu.product.
func gpuNode(name, model string, gpus int64, extra map[string]string) cluster.NodeSpec {
	l := map[string]string{gpuProduct: model}
	for k, v := range extra {
		l[k] = v
	}
	return cluster.NodeSpec{Name: name, CPU: "32", Memory: "128Gi", GPUs: gpus, Labels: l}
}

// cpuNode is a node without GPUs.
func cpuNode(name, cpu, memory string, labels map[string]string) cluster.NodeSpec {
	return cluster.NodeSpec{Name: name, CPU: cpu, Memory: memory, Labels: labels}
}

// timeToBind runs change and returns the pod once it is bound, with the time
// from the start of change to the binding, observed through a watch started
// before change (no polling delay). It fails the test after timeout.
func (tc *tcase) timeToBind(ns, name string, timeout time.Duration, change func()) (*v1.Pod, time.Duration) {
	tc.t.Helper()
	pods := tc.c.CoreV1().Pods(ns)
	p, err := pods.Get(tc.ctx, name, metav1.GetOptions{})
	if err != nil {
		tc.t.Fatal(err)
	}
	w, err := pods.Watch(tc.ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", name).String(),
		ResourceVersion: p.ResourceVersion,
	})
	if err != nil {
		tc.t.Fatal(err)
	}
	defer w.Stop()
	begin := time.Now()
	change()
	deadline := time.After(timeout)
	for {
		select {
		case ev, open := <-w.ResultChan():
			if !open {
				tc.t.Fatalf("watch of pod %s/%s closed", ns, name)
			}
			if got, ok := ev.Object.(*v1.Pod); ok && got.Spec.NodeName != "" {
				return got, time.Since(begin)
			}
		case <-deadline:
			p, _ := pods.Get(tc.ctx, name, metav1.GetOptions{})
			tc.t.Fatalf("pod %s/%s not bound within %v of the change (%s)", ns, name, timeout, cluster.Unschedulable(p))
		}
	}
}
