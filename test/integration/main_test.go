// Package integration tests ml-scheduler end to end: a real etcd and
// kube-apiserver v1.37.2, the real ml-scheduler binary running as a second
// scheduler, and the placement policy in its ConfigMap. Each test logs a line
// starting with "PROVED:" saying what it established.
package integration

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
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

// TestNoPolicyAtStart: started with no policy ConfigMap, and then with a
// broken one, the scheduler reports not ready on /readyz and schedules
// nothing (it does not run for leader: pkg/policyready); a valid policy
// makes it ready and schedules the waiting pods.
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
	notReady := func(when string) string {
		t.Helper()
		code, body := readyz(t, tc.s)
		if code != http.StatusInternalServerError || !strings.Contains(body, "[-]sched-handler-sync failed") {
			t.Fatalf("%s: /readyz answered %d, want it failing on sched-handler-sync:\n%s", when, code, body)
		}
		return fmt.Sprintf("%d, %s", code, firstFailed(body))
	}
	// Give it time to have scheduled them, were it running.
	time.Sleep(2 * time.Second)
	tc.stillPending(ns, "early-0")
	noConfigMap := notReady("no ConfigMap")

	if err := cluster.ApplyPolicy(ctx, env.client, policyNamespace, policyName, "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules: [{name: x, pools: [missing]}]\n"); err != nil {
		t.Fatal(err)
	}
	// The replica read and refused it: its error is on the ConfigMap.
	if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := env.client.CoreV1().ConfigMaps(policyNamespace).Get(ctx, policyName, metav1.GetOptions{})
		return err == nil && strings.Contains(cm.Annotations[policywatch.AnnotationLastError], "missing"), nil
	}); err != nil {
		t.Fatalf("the broken policy was not reported refused on the ConfigMap: %v", err)
	}
	tc.stillPending(ns, "early-0")
	broken := notReady("broken policy")

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
	if code, body := readyz(t, tc.s); code != http.StatusOK {
		t.Fatalf("/readyz answered %d with a valid policy in force:\n%s", code, body)
	}
	if ev := waitConfigMapEvent(t, ctx, "PolicyApplied", "Normal", hash); ev.Message == "" {
		t.Fatal("empty PolicyApplied event")
	}
	t.Logf("PROVED: with no policy ConfigMap /readyz fails (%s) and no pod is scheduled; with a broken policy it still fails (%s); the valid policy %s made it ready and scheduled the pods by rule nopolicy-late (the first bound %v after the ConfigMap was written)", noConfigMap, broken, hash, took.Round(time.Millisecond))
}

// readyz reads the scheduler's /readyz?verbose.
func readyz(t *testing.T, s *cluster.Scheduler) (int, string) {
	t.Helper()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	defer client.CloseIdleConnections()
	resp, err := client.Get(s.URL("/readyz?verbose"))
	if err != nil {
		t.Fatalf("/readyz: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// firstFailed is the first failing check of a verbose health answer.
func firstFailed(body string) string {
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "[-]") {
			return l
		}
	}
	return ""
}
