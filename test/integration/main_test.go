// Package integration tests ml-scheduler end to end: a real etcd and
// kube-apiserver v1.37.2, the real ml-scheduler binary running as a second
// scheduler, and the placement policy in its ConfigMap. Each test logs a line
// starting with "PROVED:" saying what it established.
package integration

import (
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// TestRealControlPlane runs first: it shows the tests talk to a real
// kube-apiserver v1.37.2 backed by etcd.
func TestRealControlPlane(t *testing.T) {
	ctx := ctxFor(t)
	v, err := env.client.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	t.Logf("kube-apiserver version from discovery: %s (platform %s, go %s) at %s", v.GitVersion, v.Platform, v.GoVersion, env.cp.URL)
	if !strings.HasPrefix(v.GitVersion, "v1.37.2") {
		t.Fatalf("apiserver version %s, want v1.37.2", v.GitVersion)
	}
	// A round trip through etcd: the object comes back with a resourceVersion.
	ns, err := env.client.CoreV1().Namespaces().Get(ctx, policyNamespace, metav1.GetOptions{})
	if err != nil || ns.ResourceVersion == "" {
		t.Fatalf("namespace %s: %v (resourceVersion %q)", policyNamespace, err, ns.ResourceVersion)
	}
	t.Logf("PROVED: the tests run against a real kube-apiserver %s (discovery) storing objects in etcd (%s)", v.GitVersion, env.cp.EtcdURL)
}

// TestNoPolicyAtStart: started with no policy ConfigMap, the scheduler keeps
// its pods pending and says why; creating the ConfigMap schedules them.
func TestNoPolicyAtStart(t *testing.T) {
	ctx := ctxFor(t)
	// The scheduler must start with no ConfigMap: restart it if an earlier
	// test (run order changed with -run/-shuffle) already created one.
	_, err := env.client.CoreV1().ConfigMaps(policyNamespace).Get(ctx, policyName, metav1.GetOptions{})
	if err == nil || env.sched != nil {
		stopScheduler()
		if err := env.client.CoreV1().ConfigMaps(policyNamespace).Delete(ctx, policyName, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			t.Fatal(err)
		}
	}
	const ns = "it-nopolicy"
	tc := newCase(t, "nopolicy", ns)
	tc.nodes(cpuNode("nopolicy-cpu-0", "8", "32Gi", nil), cpuNode("nopolicy-cpu-1", "8", "32Gi", nil))
	for _, name := range []string{"early-0", "early-1"} {
		tc.pod(cluster.PodSpec{Name: name, Namespace: ns, CPU: "1"})
	}
	for _, name := range []string{"early-0", "early-1"} {
		msg := tc.pending(ns, name, "no valid placement policy is loaded", "ConfigMap "+policyNamespace+"/"+policyName)
		t.Logf("%s pending: %s", name, msg)
	}
	// Still pending a moment later: nothing but a policy will place them.
	time.Sleep(time.Second)
	tc.stillPending(ns, "early-0")

	var hash string
	p, took := tc.timeToBind(ns, "early-0", 10*time.Second, func() {
		hash = writePolicy(t, ctx, `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: nopolicy-late
  match: {namespaces: [it-nopolicy]}
`)
	})
	waitPolicyInForce(t, ctx, hash)
	tc.expectRule(p, "nopolicy-late")
	tc.expectRule(tc.scheduled(ns, "early-1"), "nopolicy-late")
	if ev := waitConfigMapEvent(t, ctx, "PolicyApplied", "Normal", hash); ev.Message == "" {
		t.Fatal("empty PolicyApplied event")
	}
	t.Logf("PROVED: with no policy ConfigMap the scheduler keeps its pods pending with %q; creating the ConfigMap (policy %s) scheduled them by rule nopolicy-late (the first bound %v after the ConfigMap was created), and a PolicyApplied Event and the active-hash annotation report it", "no valid placement policy is loaded", hash, took.Round(time.Millisecond))
}
