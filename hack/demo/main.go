// Command demo is `make demo`: a real etcd + kube-apiserver on loopback, a
// sample GPU cluster modelled on the Alibaba GPU trace, the sample placement
// policy in its ConfigMap, ml-scheduler placing sample ML pods, a live policy
// edit, a rejected one, inference pods sharing GPUs through DRA, then
// teardown. It exits non-zero when a pod does not end where the policy says
// it must.
//
//	go run ./hack/demo [-dir hack/demo]    (ML_SCHEDULER_BIN_DIR: etcd, kube-apiserver, ml-scheduler)
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

func main() {
	dir := flag.String("dir", "", "directory with cluster.yaml, pods.yaml and the policy files (default: hack/demo of this repository)")
	verbosity := flag.Int("scheduler-v", 2, "ml-scheduler log verbosity (-v); 10 logs every plugin's score (keep the log with ML_SCHEDULER_KEEP=1)")
	flag.Parse()

	d := &demo{start: time.Now(), verbosity: *verbosity}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := d.run(ctx, *dir)
	interrupted := err != nil && ctx.Err() != nil
	stop()

	fmt.Printf("\nTimings: control plane ready %s, ml-scheduler ready %s, total %s\n",
		d.cpReady.Round(time.Millisecond), d.schedReady.Round(time.Millisecond), time.Since(d.start).Round(time.Millisecond))
	switch {
	case interrupted:
		fmt.Fprintln(os.Stderr, "demo interrupted; everything it started is stopped")
		os.Exit(130)
	case err != nil:
		fmt.Fprintf(os.Stderr, "\ndemo FAILED: %v\n", err)
		os.Exit(1)
	}
	fmt.Println("demo OK: every pod is where the policy says it must be")
}

type demo struct {
	start       time.Time
	cpReady     time.Duration // since start
	schedReady  time.Duration // since start
	client      kubernetes.Interface
	col         *collector
	violations  []string
	v1, v2, bad *policyFile
	pods        []*demoPod
	dir         string
	teardown    []func()
	verbosity   int // ml-scheduler's -v
	// binDir and kubeconfig run kubectl-mlsched against the control plane.
	binDir, kubeconfig string
}

func (d *demo) onTeardown(f func()) { d.teardown = append(d.teardown, f) }

func (d *demo) step(n int, title string) {
	fmt.Printf("\n== [%d/9] %s  (t=%s)\n", n, title, time.Since(d.start).Round(100*time.Millisecond))
}

func (d *demo) run(ctx context.Context, dir string) (err error) {
	if err := d.load(dir); err != nil {
		return err
	}
	// Teardown runs however run ends: success, failure or Ctrl-C.
	defer func() {
		if len(d.teardown) == 0 {
			return
		}
		d.step(9, "Teardown")
		for i := len(d.teardown) - 1; i >= 0; i-- {
			d.teardown[i]()
		}
	}()

	d.step(1, "Control plane: etcd + kube-apiserver from .cache/bin")
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) { fmt.Printf("  "+f+"\n", a...) }})
	if err != nil {
		return err
	}
	d.onTeardown(func() {
		t := time.Now()
		cp.Stop()
		fmt.Printf("  control plane (etcd, kube-apiserver) stopped in %s\n", time.Since(t).Round(time.Millisecond))
	})
	d.cpReady = time.Since(d.start)
	d.client = cp.Client()
	d.binDir, d.kubeconfig = cp.BinDir, cp.Kubeconfig
	ver, err := d.client.Discovery().ServerVersion()
	if err != nil {
		return fmt.Errorf("discovery: %w", err)
	}
	fmt.Printf("  discovery: kube-apiserver %s (%s, %s)\n", ver.GitVersion, ver.GoVersion, ver.Platform)
	if !strings.HasPrefix(ver.GitVersion, "v1.37.2") {
		fmt.Printf("  WARNING: expected v1.37.2; run `make build` to rebuild .cache/bin\n")
	}

	d.step(2, "Sample GPU cluster: "+filepath.Join(d.dir, "cluster.yaml"))
	nodes, err := cluster.LoadNodes(filepath.Join(d.dir, "cluster.yaml"))
	if err != nil {
		return err
	}
	if err := cluster.EnsureNamespaces(ctx, d.client, append([]string{policyNamespace}, namespacesOf(d.pods)...)...); err != nil {
		return err
	}
	if err := cluster.CreateNodes(ctx, d.client, nodes); err != nil {
		return err
	}
	printNodeMix(nodes)
	byName, err := nodeMap(ctx, d.client)
	if err != nil {
		return err
	}
	d.col = &collector{client: d.client, nodes: byName, policyNames: map[string]string{d.v1.hash: "v1", d.v2.hash: "v2"}}

	d.step(3, "Placement policy "+d.v1.name+" into ConfigMap "+policyNamespace+"/"+policyName+", then start ml-scheduler")
	if err := d.checkPolicy(ctx, d.v1); err != nil {
		return err
	}
	if err := cluster.ApplyPolicy(ctx, d.client, policyNamespace, policyName, d.v1.text); err != nil {
		return err
	}
	t := time.Now()
	sched, err := cluster.StartScheduler(ctx, cp, cluster.SchedulerOptions{Verbosity: d.verbosity})
	if err != nil {
		return err
	}
	d.onTeardown(func() {
		if len(d.violations) > 0 || (err != nil && ctx.Err() == nil) {
			fmt.Printf("  --- last lines of %s ---\n%s\n", sched.LogPath, sched.LogTail(25))
		}
		t := time.Now()
		if err := sched.Stop(); err != nil {
			fmt.Printf("  stopping ml-scheduler: %v\n", err)
		}
		fmt.Printf("  ml-scheduler stopped in %s\n", time.Since(t).Round(time.Millisecond))
	})
	fmt.Printf("  ml-scheduler (%s) pid %d healthy in %s; log %s\n", binaryVersion(filepath.Join(cp.BinDir, "ml-scheduler")),
		sched.Pid(), time.Since(t).Round(time.Millisecond), sched.LogPath)
	if _, err := cluster.WaitPolicyStatus(ctx, d.client, policyNamespace, policyName, statusTimeout,
		func(s cluster.PolicyStatus) bool { return s.ActiveHash == d.v1.hash }); err != nil {
		return err
	}
	d.schedReady = time.Since(d.start)
	fmt.Printf("  annotation %s=%s (policy v1) %s after start\n", cluster.AnnotationActiveHash, d.v1.hash, time.Since(t).Round(time.Millisecond))
	if err := d.printEvent(ctx, policywatch.ReasonApplied, d.v1.hash); err != nil {
		return err
	}

	d.step(4, "Wave 1: sample ML pods under policy v1")
	if err := d.runWave(ctx, 1, "", "Wave 1 (policy v1):"); err != nil {
		return err
	}
	if err := d.explainWave(ctx, 1); err != nil {
		return err
	}

	d.step(5, "Live edit: "+d.v2.name+" (edits in its header) replaces policy v1")
	for _, l := range strings.Split(d.v2.text, "\n")[1:] {
		if !strings.HasPrefix(l, "#  ") {
			break
		}
		fmt.Println("  " + strings.TrimPrefix(l, "#  "))
	}
	if err := d.checkPolicy(ctx, d.v2); err != nil {
		return err
	}
	if err := d.simulateEdit(ctx, d.v2); err != nil {
		return err
	}
	took, err := applyAndWait(ctx, d.client, d.v2)
	if err != nil {
		return err
	}
	fmt.Printf("  annotation %s: %s (v1) -> %s (v2) in %s after the ConfigMap update\n",
		cluster.AnnotationActiveHash, d.v1.hash, d.v2.hash, took.Round(time.Millisecond))
	if err := d.printEvent(ctx, policywatch.ReasonApplied, d.v2.hash); err != nil {
		return err
	}

	d.step(6, "Wave 2 under policy v2 (inference: BinPack, P100 allowed), and the wave-1 pods that were pending")
	if err := d.runWave(ctx, 2, d.v2.hash, "Wave 2 (policy v2) and wave-1 pods re-judged by v2:"); err != nil {
		return err
	}

	d.step(7, "Bad edit: "+d.bad.name+" must be rejected, v2 stays in force")
	if err := d.badEdit(ctx); err != nil {
		return err
	}
	if err := d.runWave(ctx, 3, d.v2.hash, "A pod submitted after the rejected edit:"); err != nil {
		return err
	}

	if err := d.status(ctx); err != nil {
		return err
	}
	if err := d.reportMetrics(ctx, sched); err != nil {
		return err
	}

	d.step(8, "GPU sharing through DRA: inference pods asking a share of one GPU (ResourceClaims), on two nodes whose GPUs are ResourceSlices")
	if err := d.sharing(ctx, d.v2); err != nil {
		return err
	}
	if len(d.violations) > 0 {
		return fmt.Errorf("%d expectation(s) failed:\n  %s", len(d.violations), strings.Join(d.violations, "\n  "))
	}
	return nil
}

// load reads the demo's data files before anything starts.
func (d *demo) load(dir string) error {
	if dir == "" {
		root, err := controlplane.RepoRoot()
		if err != nil {
			return err
		}
		dir = filepath.Join(root, "hack", "demo")
	}
	d.dir = dir
	var err error
	if d.pods, err = loadPods(filepath.Join(dir, "pods.yaml")); err != nil {
		return err
	}
	for _, p := range []struct {
		dst  **policyFile
		name string
	}{{&d.v1, "policy.yaml"}, {&d.v2, "policy-v2.yaml"}, {&d.bad, "policy-bad.yaml"}} {
		if *p.dst, err = readPolicy(dir, p.name); err != nil {
			return err
		}
	}
	switch {
	case d.v1.err != nil:
		return fmt.Errorf("%s: %w", d.v1.name, d.v1.err)
	case d.v2.err != nil:
		return fmt.Errorf("%s: %w", d.v2.name, d.v2.err)
	case d.bad.err == nil:
		return fmt.Errorf("%s is valid, but the demo needs a policy the scheduler rejects", d.bad.name)
	}
	return nil
}

// runWave submits the pods of a wave, waits for them (and, after the first
// wave, re-checks earlier pods that have an afterEdit expectation), prints
// the table and records violated expectations.
func (d *demo) runWave(ctx context.Context, n int, wantHash, title string) error {
	pods := wave(d.pods, n)
	t := time.Now()
	if err := submit(ctx, d.client, pods); err != nil {
		return err
	}
	fmt.Printf("  submitted %d pod(s)\n", len(pods))
	type item struct {
		p *demoPod
		e expectation
	}
	var items []item
	if n == 2 {
		for _, p := range wave(d.pods, 1) {
			if p.AfterEdit != nil {
				items = append(items, item{p, *p.AfterEdit})
			}
		}
	}
	for _, p := range pods {
		items = append(items, item{p, p.Expect})
	}
	var rows []row
	var expects []expectation
	var bad []string
	for _, it := range items {
		r, err := d.col.collect(ctx, it.p, it.e, wantHash)
		if err != nil {
			return err
		}
		rows = append(rows, r)
		expects = append(expects, it.e)
		bad = append(bad, check(r, it.e, labelTeam, poolOwner)...)
		if n == 3 && r.node != nil && r.placement.PolicyHash != d.v2.hash {
			bad = append(bad, fmt.Sprintf("%s: placed by policy %q, want v2 %s", r.key(), r.placement.PolicyHash, d.v2.hash))
		}
	}
	bad = append(bad, checkRacks(rows, expects)...)
	d.col.printTable(title, rows)
	fmt.Printf("  (settled in %s)\n", time.Since(t).Round(time.Millisecond))
	for _, b := range bad {
		fmt.Printf("  FAIL %s\n", b)
	}
	if len(bad) == 0 {
		fmt.Printf("  OK: %d pod(s) as expected; no pod outside namespace %s is on its pool\n", len(rows), poolOwner)
	}
	d.violations = append(d.violations, bad...)
	return nil
}

// badEdit applies the invalid policy and shows how the scheduler says no.
func (d *demo) badEdit(ctx context.Context) error {
	for _, l := range strings.Split(d.bad.text, "\n") {
		if strings.Contains(l, "# no such pool") || strings.Contains(l, "# typo") {
			fmt.Println("  " + strings.TrimSpace(l))
		}
	}
	t := time.Now()
	if err := cluster.ApplyPolicy(ctx, d.client, policyNamespace, policyName, d.bad.text); err != nil {
		return err
	}
	st, err := cluster.WaitPolicyStatus(ctx, d.client, policyNamespace, policyName, statusTimeout,
		func(s cluster.PolicyStatus) bool { return s.LastError != "" })
	if err != nil {
		return err
	}
	fmt.Printf("  rejected in %s\n", time.Since(t).Round(time.Millisecond))
	if err := d.printEvent(ctx, policywatch.ReasonRejected, d.v2.hash); err != nil {
		return err
	}
	fmt.Printf("  annotation %s: %s\n", cluster.AnnotationLastError, st.LastError)
	fmt.Printf("  annotation %s: %s", cluster.AnnotationActiveHash, st.ActiveHash)
	if st.ActiveHash != d.v2.hash {
		fmt.Println()
		return fmt.Errorf("after the bad edit the active policy is %q, want v2 %s", st.ActiveHash, d.v2.hash)
	}
	fmt.Println(" (still v2)")
	return nil
}

// printEvent prints the newest Event with the reason on the policy ConfigMap
// that mentions the text.
func (d *demo) printEvent(ctx context.Context, reason, mentions string) error {
	msg, err := lastEvent(ctx, d.client, reason, mentions)
	if err != nil {
		return err
	}
	fmt.Printf("  Event %s on ConfigMap %s/%s: %s\n", reason, policyNamespace, policyName, msg)
	return nil
}

// binaryVersion is what `ml-scheduler --version` says.
func binaryVersion(bin string) string {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return "version unknown: " + err.Error()
	}
	return strings.TrimSpace(string(out))
}
