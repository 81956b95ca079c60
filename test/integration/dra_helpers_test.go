package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// draLabel marks the pods of the DRA cases; the ML profile's policy matches
// them by it.
const draLabel = "itest.ml-scheduler.io/dra"

// draProfile is a scheduler profile the DRA cases run against.
type draProfile struct {
	short         string // in node, pod and namespace names
	schedulerName string
	// rule the pods' ml-scheduler.io/rule annotation must name ("" for a
	// profile without MLPolicy).
	rule string
	// setup prepares the profile for a case (starts its scheduler or
	// applies its policy).
	setup func(t *testing.T, dc *draCase)
}

// stockDRAProfile names the one profile of stockDRAConfig.
const stockDRAProfile = "dra-stock"

// stockDRAConfig is a KubeSchedulerConfiguration with one stock profile (the
// default plugins, DynamicResources among them, no MLPolicy), run by the
// ml-scheduler binary.
const stockDRAConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
profiles:
- schedulerName: ` + stockDRAProfile + "\n"

// stockProfile starts the ml-scheduler binary with stockDRAConfig for the
// test t and stops it when t ends.
func stockProfile(t *testing.T) draProfile {
	t.Helper()
	s, err := cluster.StartScheduler(context.Background(), env.cp, cluster.SchedulerOptions{Name: "dra-stock-scheduler", Config: []byte(stockDRAConfig)})
	if err != nil {
		t.Fatalf("starting the stock profile: %v", err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("--- %s log tail ---\n%s", s.LogPath, s.LogTail(60))
		}
		s.StopGrace = 5 * time.Second
		_ = s.Stop()
	})
	return draProfile{short: "stock", schedulerName: stockDRAProfile, setup: func(*testing.T, *draCase) {}}
}

// mlDRAPolicy is the ML profile's policy for TestDRASharing: one rule
// for their pods, reserveGPUNodes on (the default).
const mlDRAPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: dra-gpus
  match: {podSelector: {matchLabels: {` + draLabel + `: "true"}}}
`

// mlProfile is the shared ml-scheduler (MLPolicy judging DRA GPUs) with
// mlDRAPolicy.
func mlProfile(*testing.T) draProfile {
	return draProfile{short: "ml", schedulerName: cluster.SchedulerName, rule: "dra-gpus", setup: func(t *testing.T, dc *draCase) {
		dc.policy(mlDRAPolicy)
	}}
}

// draCase is one DRA case on one profile: its namespace and the nodes whose
// ResourceSlices it published.
type draCase struct {
	*tcase
	prof draProfile
	ns   string
	// sliced are the nodes whose ResourceSlices the case published.
	sliced []string
}

// newDRACase starts a case named after the profile and scenario. When it
// ends its pods and nodes go first (newCase), then its claims, slices and
// the DeviceClass.
func newDRACase(t *testing.T, prof draProfile, scenario string) *draCase {
	t.Helper()
	name := "dra-" + prof.short + "-" + scenario
	dc := &draCase{prof: prof, ns: "it-" + name}
	// Registered before newCase's cleanup, so it runs after the pods are gone.
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := cluster.DeleteClaims(ctx, env.client, dc.ns); err != nil {
			t.Logf("cleanup: %v", err)
		}
		if err := cluster.DeleteNodeSlices(ctx, env.client, dc.sliced...); err != nil {
			t.Logf("cleanup: %v", err)
		}
		// Other tests expect nvidia.com/gpu served by device plugins only.
		if err := cluster.DeleteDeviceClass(ctx, env.client); err != nil {
			t.Logf("cleanup: %v", err)
		}
	})
	dc.tcase = newCase(t, name, dc.ns)
	prof.setup(t, dc)
	return dc
}

// node is the name of the case's node called short.
func (dc *draCase) node(short string) string { return dc.name + "-" + short }

// gpuNode creates a DRA GPU node named dc.node(short) with gpus devices
// of model, which its label nvidia.com/gpu.product also names.
func (dc *draCase) gpuNode(short, model string, gpus int64, labels map[string]string) string {
	dc.t.Helper()
	l := map[string]string{cluster.GPUModelLabel: model}
	for k, v := range labels {
		l[k] = v
	}
	return dc.draNode(short, model, gpus, l)
}

// draNode creates a DRA GPU node named dc.node(short) with labels and gpus
// devices of model.
func (dc *draCase) draNode(short, model string, gpus int64, labels map[string]string) string {
	dc.t.Helper()
	l := map[string]string{caseLabel: dc.name}
	for k, v := range labels {
		l[k] = v
	}
	s := cluster.NodeSpec{Name: dc.node(short), CPU: "32", Memory: "128Gi", GPUs: gpus, Labels: l}
	if err := cluster.CreateDRANode(dc.ctx, dc.c, s, model); err != nil {
		dc.t.Fatal(err)
	}
	dc.sliced = append(dc.sliced, s.Name)
	return s.Name
}

// spec is a pod of the case on its profile.
func (dc *draCase) spec(name string, labels map[string]string) cluster.PodSpec {
	l := map[string]string{draLabel: "true"}
	for k, v := range labels {
		l[k] = v
	}
	return cluster.PodSpec{Name: name, Namespace: dc.ns, CPU: "1", Memory: "1Gi", Labels: l, SchedulerName: dc.prof.schedulerName}
}

// share creates a pod sharing a GPU by milli thousandths.
func (dc *draCase) share(name string, milli int64, labels map[string]string) {
	dc.t.Helper()
	if _, err := cluster.CreateSharePod(dc.ctx, dc.c, dc.spec(name, labels), milli); err != nil {
		dc.t.Fatal(err)
	}
}

// whole creates a pod asking gpus whole GPUs as nvidia.com/gpu.
func (dc *draCase) whole(name string, gpus int64) {
	dc.t.Helper()
	s := dc.spec(name, nil)
	s.GPUs = gpus
	dc.pod(s)
}

// bound waits until the pod is bound with its claims allocated, checks its
// rule (ML profile) and returns its node and the one gpudra device it holds.
func (dc *draCase) bound(name string) (string, cluster.DeviceShare) {
	dc.t.Helper()
	p, shares, err := cluster.WaitPodShares(dc.ctx, dc.c, dc.ns, name, scheduleTimeout)
	if err != nil {
		dc.t.Fatal(err)
	}
	if len(shares) != 1 {
		dc.t.Fatalf("pod %s/%s on %s holds %d gpudra devices, want 1: %v", dc.ns, name, p.Spec.NodeName, len(shares), shares)
	}
	if shares[0].Node != p.Spec.NodeName {
		dc.t.Fatalf("pod %s/%s is on %s, its claim's device on %s", dc.ns, name, p.Spec.NodeName, shares[0].Node)
	}
	if dc.prof.rule != "" {
		dc.expectRule(p, dc.prof.rule)
	}
	return p.Spec.NodeName, shares[0]
}

// boundShare checks the pod is bound to node with milli of its device.
func (dc *draCase) boundShare(name, node string, milli int64) cluster.DeviceShare {
	dc.t.Helper()
	got, d := dc.bound(name)
	if got != node {
		dc.t.Fatalf("pod %s placed on %s, want %s", name, got, node)
	}
	if d.Share.MilliValue() != milli {
		dc.t.Fatalf("pod %s: claim %s consumes share %s of %s, want %dm", name, d.Claim, d.Share.String(), d.Device, milli)
	}
	return d
}

// waiting checks the pod stays pending with every one of want in its
// PodScheduled message, and returns the message.
func (dc *draCase) waiting(name string, want ...string) string {
	dc.t.Helper()
	msg := dc.pending(dc.ns, name, want...)
	time.Sleep(time.Second)
	dc.stillPending(dc.ns, name)
	return msg
}

// deletePod force-deletes a pod (no kubelet runs).
func (dc *draCase) deletePod(name string) {
	dc.t.Helper()
	zero := int64(0)
	if err := dc.c.CoreV1().Pods(dc.ns).Delete(dc.ctx, name, metav1.DeleteOptions{GracePeriodSeconds: &zero}); err != nil {
		dc.t.Fatal(err)
	}
}

// fmtShares lists devices as "node/device share".
func fmtShares(ds ...cluster.DeviceShare) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = d.String()
	}
	return strings.Join(s, ", ")
}

// podOf reads a pod of the case.
func (dc *draCase) podOf(name string) *v1.Pod {
	dc.t.Helper()
	p, err := dc.c.CoreV1().Pods(dc.ns).Get(dc.ctx, name, metav1.GetOptions{})
	if err != nil {
		dc.t.Fatal(fmt.Errorf("pod %s/%s: %w", dc.ns, name, err))
	}
	return p
}

// gpuOne is a whole GPU's share.
func gpuOne() *resource.Quantity { q := resource.MustParse("1"); return &q }
