package integration

// The simulator (pkg/simulator) replays a workload through the scheduler
// built in-process on a fake API; this test replays the same trace slice
// through the real ml-scheduler binary on the real apiserver and shows the
// two agree.

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/simulator"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

const (
	agreementCase      = "agreement"
	agreementNamespace = "it-agreement"
	// agreementPods of the default trace, in arrival order, on
	// agreementNodes nodes: 120 nodes of mixed shapes hold 290 GPUs, the
	// first 300 pods ask 295, so the last GPU pods fail and the failure
	// path is compared too.
	agreementPods  = 300
	agreementNodes = 120
	// inProcessRuns of the simulator measure its own run-to-run spread
	// (random tie-breaking among equal scores), the yardstick for the
	// binary's differences.
	inProcessRuns = 4
)

// TestSimulatorAgreesWithBinary replays the first pods of the Alibaba
// default trace through (a) simulator.Run, in-process on a fake API, and
// (b) the scheduler binary on the real apiserver via simulator.RunOnCluster,
// and compares the outcomes: with the shipped scheduler config and policy
// (manifests/base) and the ml-scheduler binary, and with the stock
// MostAllocated config (bench/placement) and the stock kube-scheduler binary.
func TestSimulatorAgreesWithBinary(t *testing.T) {
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	read := func(rel string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(root, rel))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	traces := filepath.Join(root, "bench/workloads/traces/alibaba-gpu-v2023")
	allNodes, err := trace.LoadOpenBNodes(filepath.Join(traces, "openb_node_list_all_node.csv"), trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	pods, err := trace.LoadOpenBPods(filepath.Join(traces, "openb_pod_list_default.csv"), trace.Options{Namespace: agreementNamespace})
	if err != nil {
		t.Fatal(err)
	}
	nodes := mixedShapes(allNodes, agreementNodes)
	for _, n := range nodes {
		n.Labels[caseLabel] = agreementCase // for the cleanup; read by no scheduler plugin
	}
	w := &simulator.Workload{Name: fmt.Sprintf("default[:%d]", agreementPods), Nodes: nodes, Pods: pods[:agreementPods]}
	shapes := map[string]int{}
	for _, n := range nodes {
		shapes[nodeShape(n)]++
	}
	t.Logf("workload: the first %d pods of openb_pod_list_default.csv on %d of the trace's %d nodes (%d shapes, round-robin over them in file order)",
		len(w.Pods), len(nodes), len(allNodes), len(shapes))

	// The shipped config serves schedulerName ml-scheduler from the
	// ConfigMap ml-scheduler/ml-scheduler-policy, as the shared scheduler
	// does: stop that one so exactly one scheduler serves the pods (the
	// next test that needs it starts it again).
	stopScheduler()

	t.Run("shipped config, ml-scheduler binary", func(t *testing.T) {
		schedConfig := read("manifests/base/scheduler-config.yaml")
		conf := simulator.Configuration{Name: "shipped", SchedulerConfig: schedConfig, Policy: read("manifests/base/policy.yaml")}
		testAgreement(t, w, conf, "manifests/base/scheduler-config.yaml + policy.yaml", func(ctx context.Context) (*cluster.Scheduler, error) {
			return cluster.StartScheduler(ctx, env.cp, cluster.SchedulerOptions{Name: "agreement-ml-scheduler", Config: schedConfig})
		})
	})
	t.Run("stock MostAllocated, kube-scheduler binary", func(t *testing.T) {
		bin := filepath.Join(env.cp.BinDir, "kube-scheduler")
		if _, err := os.Stat(bin); err != nil {
			// make test does not build it; make test-e2e does.
			t.Skipf("no stock kube-scheduler binary (%v): run hack/build-e2e-binaries.sh", err)
		}
		schedConfig := read("bench/placement/stock-mostallocated.yaml")
		conf := simulator.Configuration{Name: "stock MostAllocated", SchedulerConfig: schedConfig}
		testAgreement(t, w, conf, "bench/placement/stock-mostallocated.yaml", func(ctx context.Context) (*cluster.Scheduler, error) {
			return cluster.StartKubeScheduler(ctx, env.cp, cluster.SchedulerOptions{Name: "agreement-kube-scheduler", Config: schedConfig})
		})
	})
}

// testAgreement replays w through conf in-process (inProcessRuns times)
// and on the cluster through the scheduler start starts, and compares.
func testAgreement(t *testing.T, w *simulator.Workload, conf simulator.Configuration, what string, start func(context.Context) (*cluster.Scheduler, error)) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nodes := w.Nodes

	// (a) In-process, a few times.
	var inproc []*simulator.Result
	began := time.Now()
	for i := 0; i < inProcessRuns; i++ {
		r, err := simulator.Run(ctx, w, conf, simulator.Options{})
		if err != nil {
			t.Fatalf("in-process replay: %v", err)
		}
		inproc = append(inproc, r)
	}
	t.Logf("%d in-process replays in %v", inProcessRuns, time.Since(began).Round(time.Millisecond))

	// (b) The binary, on an empty cluster.
	if list, err := env.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{}); err != nil {
		t.Fatal(err)
	} else if len(list.Items) > 0 {
		t.Fatalf("the cluster holds %d nodes left by other tests (first: %s); RunOnCluster needs it empty", len(list.Items), list.Items[0].Name)
	}
	t.Cleanup(func() { cleanAgreement(t) })
	began = time.Now()
	s, err := start(ctx)
	if err != nil {
		t.Fatalf("starting the scheduler: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s log tail (%s) ---\n%s", s.Name, s.LogPath, s.LogTail(60))
		}
		s.StopGrace = 5 * time.Second
		_ = s.Stop()
	})
	t.Logf("%s (pid %d, %s) with %s healthy after %v", s.Name, s.Pid(), filepath.Base(s.Cmd.Path), what, time.Since(began).Round(time.Millisecond))
	cfg := *env.cp.Config
	cfg.QPS, cfg.Burst = 5000, 5000
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		t.Fatal(err)
	}
	began = time.Now()
	bin, err := simulator.RunOnCluster(ctx, client, w, conf, simulator.ClusterOptions{Settle: time.Second})
	if err != nil {
		t.Fatalf("replay on the cluster: %v", err)
	}
	t.Logf("replay through the binary in %v (pods: %.1fs)", time.Since(began).Round(time.Millisecond), bin.WallSeconds)

	for _, r := range append(append([]*simulator.Result{}, inproc...), bin) {
		t.Logf("%-10s GPUs allocated %d/%d, unschedulable at first attempt %d, GPU pods placed %d/%d, multi-GPU %s, CPU pods placed %d/%d, on GPU nodes %d",
			r.Backend, r.GPUsAllocated, r.ClusterGPUs, r.PodsUnschedulable, r.GPUPodsPlaced, r.GPUPods, multiGPU(r), r.CPUPodsPlaced, r.CPUPods, r.CPUPodsOnGPUNodes)
	}
	if bin.Backend != simulator.BackendCluster || inproc[0].Backend != simulator.BackendInProcess {
		t.Fatalf("backends %q and %q", bin.Backend, inproc[0].Backend)
	}

	// The yardstick: how much the simulator differs from itself (the
	// largest difference between two in-process runs), and, for each
	// measure, the binary's difference from the closest in-process run.
	var self diff
	for i := range inproc {
		for j := i + 1; j < len(inproc); j++ {
			d := compareRuns(inproc[i], inproc[j], nodes)
			self = diff{max(self.outcome, d.outcome), max(self.shape, d.shape), max(self.node, d.node), max(self.spread, d.spread)}
		}
	}
	closest := diff{outcome: len(w.Pods) + 1, shape: len(w.Pods) + 1, node: len(w.Pods) + 1, spread: len(w.Pods) + 1}
	for _, r := range inproc {
		d := compareRuns(r, bin, nodes)
		closest = diff{min(closest.outcome, d.outcome), min(closest.shape, d.shape), min(closest.node, d.node), min(closest.spread, d.spread)}
	}
	n := len(w.Pods)
	share := func(differ int) float64 { return 100 * float64(n-differ) / float64(n) }
	t.Logf("per pod, binary vs the closest in-process run: of %d pods %d differ in outcome (placed/unschedulable), %d in the node shape they landed on, %d in the node; %d would have to move to equal the pods per shape; between two in-process runs at most %d, %d, %d and %d",
		n, closest.outcome, closest.shape, closest.node, closest.spread, self.outcome, self.shape, self.node, self.spread)

	// Tolerances. Score ties are broken at random (selectHost), so two
	// replays may pick different nodes of the same score (of another shape
	// too, when scores round to the same integer) and, later, different
	// pods may not fit. Pods of one size often swap shapes (a on a T4 and b
	// on a P100 node in one run, the other way round in the next), so the
	// per-pod shape match is reported and the pods per shape are what is
	// bounded. For each measure, the binary must differ from the closest
	// in-process run by no more than two in-process runs differ from each
	// other, plus 2 pods (outcomes) or 5% of the pods (pods per shape).
	// Each aggregate must lie within the in-process runs' range widened by
	// 1% of the cluster's GPUs (GPUs allocated) or 2 pods (counts);
	// multi-GPU placed must equal one in-process run's.
	if closest.outcome > self.outcome+2 {
		t.Errorf("%d pods differ in outcome between the binary and the closest in-process run (two in-process runs: at most %d)", closest.outcome, self.outcome)
	}
	if closest.spread > self.spread+n/20 {
		t.Errorf("%d pods would have to move to another node shape to equal the pods per shape of the closest in-process run (two in-process runs: at most %d)", closest.spread, self.spread)
	}
	a, b := inproc[0], bin
	if a.ClusterGPUs != b.ClusterGPUs || a.Pods != b.Pods || a.GPUPods != b.GPUPods {
		t.Fatalf("not the same workload: %d/%d GPUs, %d/%d pods", a.ClusterGPUs, b.ClusterGPUs, a.Pods, b.Pods)
	}
	gpuTol := max(int64(1), a.ClusterGPUs/100)
	var ranges []string
	within := func(what string, get func(*simulator.Result) int64, tol int64) {
		lo, hi := get(inproc[0]), get(inproc[0])
		for _, r := range inproc[1:] {
			lo, hi = min(lo, get(r)), max(hi, get(r))
		}
		v := get(bin)
		if v < lo-tol || v > hi+tol {
			t.Errorf("%s: binary %d, in-process %d..%d (tolerance %d)", what, v, lo, hi, tol)
		}
		rng := fmt.Sprint(lo)
		if hi != lo {
			rng = fmt.Sprintf("%d..%d", lo, hi)
		}
		ranges = append(ranges, fmt.Sprintf("%s %d vs %s", what, v, rng))
	}
	within("GPUs allocated", func(r *simulator.Result) int64 { return r.GPUsAllocated }, gpuTol)
	within("unschedulable at first attempt", func(r *simulator.Result) int64 { return int64(r.PodsUnschedulable) }, 2)
	within("GPU pods placed", func(r *simulator.Result) int64 { return int64(r.GPUPodsPlaced) }, 2)
	within("CPU pods placed", func(r *simulator.Result) int64 { return int64(r.CPUPodsPlaced) }, 2)
	within("CPU pods on GPU nodes", func(r *simulator.Result) int64 { return int64(r.CPUPodsOnGPUNodes) }, 2)
	var multis []string
	for _, r := range inproc {
		multis = append(multis, multiGPU(r))
	}
	if !slices.Contains(multis, multiGPU(b)) {
		t.Errorf("multi-GPU placed: binary %s, in-process %v", multiGPU(b), multis)
	}
	if b.PodsUnschedulable == 0 {
		t.Errorf("no pod failed on the cluster: the workload no longer exercises the failure path")
	}
	// The binary really placed them: the API says so.
	list, err := client.CoreV1().Pods(agreementNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	bound := 0
	for _, p := range list.Items {
		if p.Spec.NodeName != "" && p.Spec.SchedulerName == bin.SchedulerName {
			bound++
		}
	}
	if bound != b.GPUPodsPlaced+b.CPUPodsPlaced {
		t.Errorf("the apiserver has %d pods bound by %s, the replay counted %d", bound, bin.SchedulerName, b.GPUPodsPlaced+b.CPUPodsPlaced)
	}
	if t.Failed() {
		return
	}
	t.Logf("PROVED: %d trace pods on %d trace nodes (%d GPUs), %s: the %s binary on the real apiserver and the in-process simulator "+
		"(%d runs) agree on %.1f%% of the pods' outcomes (placed or unschedulable), %.1f%% of the node shapes they landed on (%d pods off the same pods-per-shape counts) and %.1f%% of the nodes "+
		"(binary vs the closest in-process run; two in-process runs differ in at most %d outcomes, %d shapes (%d off the counts), %d nodes); %s; multi-GPU placed %s (binary vs in-process)",
		n, len(nodes), a.ClusterGPUs, what, filepath.Base(s.Cmd.Path), len(inproc), share(closest.outcome), share(closest.shape), closest.spread, share(closest.node),
		self.outcome, self.shape, self.spread, self.node, strings.Join(ranges, ", "), multiGPU(b))
}

// cleanAgreement force-deletes the replayed pods (no kubelet) and deletes
// the nodes, and waits until the pods are gone, so a next replay can create
// them again.
func cleanAgreement(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	zero := int64(0)
	pods := env.client.CoreV1().Pods(agreementNamespace)
	if err := pods.DeleteCollection(ctx, metav1.DeleteOptions{GracePeriodSeconds: &zero}, metav1.ListOptions{}); err != nil {
		t.Logf("cleanup: deleting pods in %s: %v", agreementNamespace, err)
	}
	if err := env.client.CoreV1().Nodes().DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{LabelSelector: caseLabel + "=" + agreementCase}); err != nil {
		t.Logf("cleanup: deleting nodes: %v", err)
	}
	err := wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := pods.List(ctx, metav1.ListOptions{})
		return err == nil && len(list.Items) == 0, nil
	})
	if err != nil {
		t.Logf("cleanup: pods in %s not gone: %v", agreementNamespace, err)
	}
}

// mixedShapes picks n nodes of the trace, deterministically: the node
// shapes (cpu, memory, GPUs, model) in order of first appearance, one node
// of each in turn (in file order) until n are picked, so every shape is in
// and the small ones are not drowned by the common 8-GPU nodes.
func mixedShapes(nodes []*v1.Node, n int) []*v1.Node {
	var order []string
	byShape := map[string][]*v1.Node{}
	for _, nd := range nodes {
		s := nodeShape(nd)
		if byShape[s] == nil {
			order = append(order, s)
		}
		byShape[s] = append(byShape[s], nd)
	}
	var out []*v1.Node
	for i := 0; len(out) < n && len(out) < len(nodes); i++ {
		for _, s := range order {
			if i < len(byShape[s]) && len(out) < n {
				out = append(out, byShape[s][i].DeepCopy())
			}
		}
	}
	return out
}

// nodeShape is what tells nodes apart for the scheduler: allocatable
// cpu, memory and GPUs, and the GPU model.
func nodeShape(n *v1.Node) string {
	a := n.Status.Allocatable
	g := a[trace.DefaultGPUResource]
	return fmt.Sprintf("%s/%s/%s/%s", a.Cpu(), a.Memory(), g.String(), n.Labels[trace.DefaultGPUModelLabel])
}

// diff counts the pods of two replays of one workload whose outcome
// (unschedulable at first attempt, placed at the end), node shape or node
// ("" if not placed) differ.
// spread is half the L1 distance between the two replays' counts of pods
// per node shape: how many pods would have to move to another shape to
// make the distributions equal, whichever pod is where.
type diff struct{ outcome, shape, node, spread int }

func compareRuns(a, b *simulator.Result, nodes []*v1.Node) (d diff) {
	shapeOf := map[string]string{}
	for _, n := range nodes {
		shapeOf[n.Name] = nodeShape(n)
	}
	perShape := map[string]int{}
	for i := range a.Placements {
		pa, pb := a.Placements[i], b.Placements[i]
		if pa.Name != pb.Name {
			panic("replays of different workloads: " + pa.Name + " vs " + pb.Name)
		}
		if pa.Unschedulable != pb.Unschedulable || (pa.Node == "") != (pb.Node == "") {
			d.outcome++
		}
		if shapeOf[pa.Node] != shapeOf[pb.Node] {
			d.shape++
		}
		if pa.Node != pb.Node {
			d.node++
		}
		perShape[shapeOf[pa.Node]]++
		perShape[shapeOf[pb.Node]]--
	}
	for _, c := range perShape {
		d.spread += max(c, -c)
	}
	d.spread /= 2
	return d
}

func multiGPU(r *simulator.Result) string {
	var parts []string
	for _, sc := range r.MultiGPU {
		parts = append(parts, fmt.Sprintf("%d-GPU %d/%d", sc.GPUs, sc.Placed, sc.Total))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, ", ")
}
