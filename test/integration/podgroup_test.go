package integration

// Gang scheduling of PodGroups (scheduling.k8s.io/v1beta1): on, with the
// shared control plane (which serves the API) and the shared ml-scheduler
// (started with the gates); and off, on a control plane without the API,
// where the binary, started with the same gates, turns them off itself.

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	schedulingv1beta1 "k8s.io/api/scheduling/v1beta1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/internal/gangsupport"
)

const (
	gangOnLog  = "Gang scheduling is on"
	gangOffLog = "PodGroup API scheduling.k8s.io/v1beta1 not served by the apiserver: gang scheduling is off"
	gatesArg   = "--feature-gates=GenericWorkload=true,TopologyAwareWorkloadScheduling=true"
)

// TestGangPodGroup: a gang of 3 (minCount 3) waits until its third pod
// exists, then all three bind, and the PodGroup reports them scheduled.
func TestGangPodGroup(t *testing.T) {
	const ns, group = "it-gang", "gang-0"
	tc := newCase(t, "gang", ns)
	tc.nodes(cpuNode("gang-cpu-0", "8", "32Gi", nil), cpuNode("gang-cpu-1", "8", "32Gi", nil))
	tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: gang
  match: {namespaces: [it-gang]}
`)
	if !slices.Contains(tc.s.Cmd.Args, gatesArg) {
		t.Fatalf("ml-scheduler started without %s: %q", gatesArg, tc.s.Cmd.Args)
	}
	log := readLog(t, tc.s.LogPath)
	if !strings.Contains(log, gangOnLog) || strings.Contains(log, gangOffLog) {
		t.Fatalf("ml-scheduler log lacks %q (or says it is off)", gangOnLog)
	}

	pgs := tc.c.SchedulingV1beta1().PodGroups(ns)
	pg := &schedulingv1beta1.PodGroup{
		ObjectMeta: metav1.ObjectMeta{Name: group, Namespace: ns},
		Spec: schedulingv1beta1.PodGroupSpec{SchedulingPolicy: schedulingv1beta1.PodGroupSchedulingPolicy{
			Gang: &schedulingv1beta1.GangSchedulingPolicy{MinCount: 3},
		}},
	}
	if _, err := pgs.Create(tc.ctx, pg, metav1.CreateOptions{}); err != nil {
		t.Fatalf("creating PodGroup: %v", err)
	}
	t.Cleanup(func() { _ = pgs.Delete(context.Background(), group, metav1.DeleteOptions{}) })

	members := []string{"worker-0", "worker-1", "worker-2"}
	for _, name := range members[:2] {
		if p := createGangPod(t, tc.ctx, tc.c, ns, name, group); p.Spec.SchedulingGroup == nil {
			t.Fatalf("the apiserver dropped spec.schedulingGroup of %s: GenericWorkload is off there", name)
		}
	}
	// Two of three: a plain scheduler would bind them at once; the gang waits.
	time.Sleep(3 * time.Second)
	for _, name := range members[:2] {
		tc.stillPending(ns, name)
	}
	begin := time.Now()
	createGangPod(t, tc.ctx, tc.c, ns, members[2], group)
	nodes := map[string]string{}
	for _, name := range members {
		nodes[name] = tc.scheduled(ns, name).Spec.NodeName
	}
	took := time.Since(begin)

	var cond *metav1.Condition
	err := wait.PollUntilContextTimeout(tc.ctx, 200*time.Millisecond, 15*time.Second, true, func(ctx context.Context) (bool, error) {
		got, err := pgs.Get(ctx, group, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		cond = apimeta.FindStatusCondition(got.Status.Conditions, schedulingv1beta1.PodGroupInitiallyScheduled)
		return cond != nil && cond.Status == metav1.ConditionTrue, nil
	})
	if err != nil {
		t.Fatalf("PodGroup %s condition %s: %+v (%v)", group, schedulingv1beta1.PodGroupInitiallyScheduled, cond, err)
	}
	t.Logf("PROVED: with the PodGroup API served and ml-scheduler started with %s (it logged %q), a gang PodGroup with minCount 3 kept its first 2 pods pending for 3s, then all 3 pods bound %v after the third was created (%v); the PodGroup reports %s=True (%s)",
		gatesArg, gangOnLog, took.Round(time.Millisecond), nodes, cond.Type, cond.Reason)
}

// TestPodGroupAPINotServed: on a control plane that does not serve the
// PodGroup API, ml-scheduler started with the gates logs one warning, turns
// them off, becomes ready and binds plain pods. The stock kube-scheduler
// with the gate on, for contrast, never gets ready and binds nothing.
func TestPodGroupAPINotServed(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cp, err := controlplane.Start(ctx, controlplane.Options{WithoutPodGroupAPI: true, Logf: t.Logf})
	if err != nil {
		t.Fatalf("starting a control plane without the PodGroup API: %v", err)
	}
	t.Cleanup(cp.Stop)
	client := cp.Client()
	if served, err := discovery.IsResourceEnabled(client.Discovery(), gangsupport.PodGroups); err != nil || served {
		t.Fatalf("podgroups served = %v (err %v), want not served", served, err)
	}
	const ns = "it-nogang"
	if err := cluster.EnsureNamespaces(ctx, client, policyNamespace, ns); err != nil {
		t.Fatal(err)
	}
	if err := cluster.ApplyPolicy(ctx, client, policyNamespace, policyName, `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: nogang
  match: {namespaces: [it-nogang]}
`); err != nil {
		t.Fatal(err)
	}
	if err := cluster.CreateNodes(ctx, client, []cluster.NodeSpec{cpuNode("nogang-cpu-0", "8", "32Gi", nil)}); err != nil {
		t.Fatal(err)
	}

	begin := time.Now()
	s, err := cluster.StartScheduler(ctx, cp, cluster.SchedulerOptions{Name: "nogang-ml-scheduler"})
	if err != nil {
		t.Fatalf("starting ml-scheduler: %v", err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s ---\n%s", s.LogPath, s.LogTail(60))
		}
	})
	if !slices.Contains(s.Cmd.Args, gatesArg) {
		t.Fatalf("ml-scheduler started without %s: %q", gatesArg, s.Cmd.Args)
	}
	if err := controlplane.WaitHealthy(ctx, s.URL("/readyz"), true, time.Minute); err != nil {
		t.Fatalf("ml-scheduler not ready: %v", err)
	}
	ready := time.Since(begin)

	plain, err := cluster.CreatePod(ctx, client, cluster.PodSpec{Name: "plain-0", Namespace: ns, CPU: "1"})
	if err != nil {
		t.Fatal(err)
	}
	// A pod that names a group anyway: the apiserver drops the field.
	named := createGangPod(t, ctx, client, ns, "named-0", "no-such-group")
	if named.Spec.SchedulingGroup != nil {
		t.Fatalf("the apiserver kept spec.schedulingGroup: GenericWorkload is on there")
	}
	for _, p := range []*v1.Pod{plain, named} {
		if _, err := cluster.WaitScheduled(ctx, client, ns, p.Name, scheduleTimeout); err != nil {
			t.Fatalf("pod %s: %v", p.Name, err)
		}
	}

	log := readLog(t, s.LogPath)
	var warnings []string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, gangOffLog) {
			warnings = append(warnings, line)
		}
	}
	if len(warnings) != 1 {
		t.Fatalf("%d lines say %q, want exactly 1:\n%s", len(warnings), gangOffLog, strings.Join(warnings, "\n"))
	}
	for _, bad := range []string{"v1beta1.PodGroup", gangOnLog} {
		if strings.Contains(log, bad) {
			t.Errorf("ml-scheduler log mentions %q", bad)
		}
	}
	t.Logf("PROVED: on a kube-apiserver without the PodGroup API, ml-scheduler started with %s logged once\n  %s\nwas ready %v after start, and bound a plain pod and one whose schedulingGroup the apiserver dropped",
		gatesArg, strings.TrimSpace(warnings[0]), ready.Round(time.Millisecond))

	t.Run("stock kube-scheduler with the gate", func(t *testing.T) {
		stockWithGate(t, ctx, cp, ns)
	})
}

// stockWithGate shows what the check prevents: kube-scheduler v1.37.2 with
// GenericWorkload on waits for a PodGroup informer that cannot sync.
func stockWithGate(t *testing.T, ctx context.Context, cp *controlplane.ControlPlane, ns string) {
	bin := filepath.Join(cp.BinDir, "kube-scheduler")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no stock kube-scheduler binary (%v): run hack/build-e2e-binaries.sh", err)
	}
	const profile = "stock-gated"
	s, err := cluster.StartKubeScheduler(ctx, cp, cluster.SchedulerOptions{
		Name:      "gated-kube-scheduler",
		Config:    []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: " + profile + "\n"),
		ExtraArgs: []string{"--feature-gates=GenericWorkload=true"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })
	if _, err := cluster.CreatePod(ctx, cp.Client(), cluster.PodSpec{Name: "stock-0", Namespace: ns, CPU: "1", SchedulerName: profile}); err != nil {
		t.Fatal(err)
	}
	const pending = 15 * time.Second
	if _, err := cluster.WaitScheduled(ctx, cp.Client(), ns, "stock-0", pending); err == nil {
		t.Fatal("the stock kube-scheduler with GenericWorkload bound a pod on an apiserver without PodGroups")
	}
	readyErr := controlplane.WaitHealthy(ctx, s.URL("/readyz"), true, time.Second)
	log := readLog(t, s.LogPath)
	if readyErr == nil || !strings.Contains(log, "v1beta1.PodGroup") {
		t.Fatalf("expected /readyz failing and PodGroup list errors; readyz: %v\n%s", readyErr, s.LogTail(30))
	}
	var first string
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "v1beta1.PodGroup") {
			first = line
			break
		}
	}
	t.Logf("PROVED: the stock kube-scheduler v1.37.2 with --feature-gates=GenericWorkload=true on the same apiserver bound nothing in %v and stayed unready (%v), logging\n  %s",
		pending, readyErr, strings.TrimSpace(first))
}

// createGangPod creates a pod of ml-scheduler naming the PodGroup group.
func createGangPod(t *testing.T, ctx context.Context, c kubernetes.Interface, ns, name, group string) *v1.Pod {
	t.Helper()
	p := cluster.PodSpec{Name: name, Namespace: ns, CPU: "1"}.Pod()
	p.Spec.SchedulingGroup = &v1.PodSchedulingGroup{PodGroupName: ptr.To(group)}
	got, err := c.CoreV1().Pods(ns).Create(ctx, p, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("creating pod %s/%s: %v", ns, name, err)
	}
	return got
}

func readLog(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
