package integration

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

// updatePolicyTimed writes policy text into the ConfigMap and returns how long
// it took from the update request to the scheduler's status annotations
// satisfying ok, seen through a watch (no polling delay).
func updatePolicyTimed(t *testing.T, ctx context.Context, text string, ok func(cluster.PolicyStatus) bool) (cluster.PolicyStatus, time.Duration) {
	t.Helper()
	cms := env.client.CoreV1().ConfigMaps(policyNamespace)
	cm, err := cms.Get(ctx, policyName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w, err := cms.Watch(ctx, metav1.ListOptions{
		FieldSelector:   fields.OneTermEqualSelector("metadata.name", policyName).String(),
		ResourceVersion: cm.ResourceVersion,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	cm.Data["policy.yaml"] = text
	begin := time.Now()
	if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	timeout := time.After(15 * time.Second)
	var last cluster.PolicyStatus
	for {
		select {
		case ev, open := <-w.ResultChan():
			if !open {
				t.Fatalf("ConfigMap watch closed; last status %+v", last)
			}
			if ev.Type != watch.Modified {
				continue
			}
			got := ev.Object.(*v1.ConfigMap)
			last = cluster.PolicyStatus{ActiveHash: got.Annotations[cluster.AnnotationActiveHash], LastError: got.Annotations[cluster.AnnotationLastError]}
			if ok(last) {
				return last, time.Since(begin)
			}
		case <-timeout:
			t.Fatalf("policy status not reported within 15s of the ConfigMap update; last %+v", last)
		}
	}
}

// TestPolicyEditChangesPlacement: an edit of the policy moves the next pods
// and the ConfigMap reports the new hash within a second.
func TestPolicyEditChangesPlacement(t *testing.T) {
	const ns = "it-edit"
	tc := newCase(t, "edit", ns)
	tc.nodes(
		gpuNode("edit-t4-0", "Tesla-T4", 4, nil), gpuNode("edit-t4-1", "Tesla-T4", 4, nil),
		gpuNode("edit-l4-0", "NVIDIA-L4", 4, nil), gpuNode("edit-l4-1", "NVIDIA-L4", 4, nil),
	)
	const tmpl = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: inference
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  gpuModels: [%s]
  gpuPacking: Spread
`
	hashA := tc.policy(fmt.Sprintf(tmpl, "Tesla-T4"))
	inference := map[string]string{workloadLabel: "inference"}
	tc.place(cluster.PodSpec{Name: "infer-a", Namespace: ns, GPUs: 1, Labels: inference}, "inference", "edit-t4-0", "edit-t4-1")

	textB := fmt.Sprintf(tmpl, "NVIDIA-L4")
	hashB := policyHash(t, textB)
	st, took := updatePolicyTimed(t, tc.ctx, textB, func(s cluster.PolicyStatus) bool { return s.ActiveHash != hashA })
	if st.ActiveHash != hashB || st.LastError != "" {
		t.Fatalf("after the edit the ConfigMap reports %+v, want hash %s and no error", st, hashB)
	}
	t.Logf("ConfigMap update -> active-hash annotation %s -> %s in %v", hashA, hashB, took.Round(time.Millisecond))
	if took > 3*time.Second {
		t.Errorf("the scheduler took %v to report the new policy, want well under a second (3s allowed on a loaded machine)", took)
	}
	waitConfigMapEvent(t, tc.ctx, "PolicyApplied", v1.EventTypeNormal, hashB)

	for i := 0; i < 2; i++ {
		name := fmt.Sprintf("infer-b-%d", i)
		tc.place(cluster.PodSpec{Name: name, Namespace: ns, GPUs: 1, Labels: inference}, "inference", "edit-l4-0", "edit-l4-1")
		p, _ := tc.c.CoreV1().Pods(ns).Get(tc.ctx, name, metav1.GetOptions{})
		if got := tc.placedPolicy(p); got != hashB {
			t.Fatalf("pod %s: policy-hash annotation %q, want the new policy %s", name, got, hashB)
		}
	}
	t.Logf("PROVED: editing the policy ConfigMap (inference moved from Tesla-T4 to NVIDIA-L4) moves the next inference pods to the L4 nodes, their policy-hash annotations name the new policy %s, and the active-hash annotation changed %v after the update", hashB, took.Round(time.Millisecond))
}

// TestBadPolicyRejected: invalid edits are rejected with the field named, the
// last good policy stays in force, and a good edit clears the error.
func TestBadPolicyRejected(t *testing.T) {
	const ns = "it-bad"
	tc := newCase(t, "bad", ns)
	tc.nodes(
		gpuNode("bad-t4-0", "Tesla-T4", 4, nil), gpuNode("bad-t4-1", "Tesla-T4", 4, nil),
		gpuNode("bad-l4-0", "NVIDIA-L4", 4, nil),
	)
	const pools = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: t4, nodeSelector: {matchLabels: {nvidia.com/gpu.product: Tesla-T4}}}
`
	good := pools + `rules:
- name: inference
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  pools: [t4]
`
	hashA := tc.policy(good)
	inference := map[string]string{workloadLabel: "inference"}
	tc.place(cluster.PodSpec{Name: "before", Namespace: ns, GPUs: 1, Labels: inference}, "inference", "bad-t4-0", "bad-t4-1")

	bad := []struct {
		name, text, field string
	}{
		{"unknown_pool", pools + `rules:
- name: inference
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  pools: [l4]
`, `rules[0].pools[0]: Not found: "l4"`},
		{"unknown_field", pools + `rules:
- name: inference
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  gpuModel: [NVIDIA-L4]
`, `unknown field "rules[0].gpuModel"`},
		{"bad_operator", pools + `rules:
- name: inference
  match:
    podSelector:
      matchExpressions:
      - {key: ml-scheduler.io/workload, operator: Inn, values: [inference]}
  gpuModels: [NVIDIA-L4]
`, `rules[0].match.podSelector.matchExpressions[0].operator: Unsupported value: "Inn"`},
	}
	for i, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			tc := tc.with(t)
			st, took := updatePolicyTimed(t, tc.ctx, b.text, func(s cluster.PolicyStatus) bool { return strings.Contains(s.LastError, b.field) })
			if st.ActiveHash != hashA {
				t.Fatalf("active hash changed to %q by a rejected policy, want %s", st.ActiveHash, hashA)
			}
			ev := waitConfigMapEvent(t, tc.ctx, "PolicyRejected", v1.EventTypeWarning, b.field, "policy "+hashA)
			t.Logf("rejected in %v; policy-error annotation: %s", took.Round(time.Millisecond), st.LastError)
			t.Logf("Warning PolicyRejected event: %s", ev.Message)
			// The old policy still places pods: T4 only, rule inference, hash A.
			name := fmt.Sprintf("after-%d", i)
			tc.place(cluster.PodSpec{Name: name, Namespace: ns, GPUs: 1, Labels: inference}, "inference", "bad-t4-0", "bad-t4-1")
			p, _ := tc.c.CoreV1().Pods(ns).Get(tc.ctx, name, metav1.GetOptions{})
			if got := tc.placedPolicy(p); got != hashA {
				t.Fatalf("pod %s placed by policy %q, not the old policy %s", name, got, hashA)
			}
			t.Logf("PROVED: a policy with %s is rejected: Warning Event PolicyRejected and the policy-error annotation name %q, the active hash stays %s, and a new pod is still placed by the old policy (rule inference on a T4 node)", strings.ReplaceAll(b.name, "_", " "), b.field, hashA)
		})
		if t.Failed() {
			return
		}
	}

	fixed := pools + `- {name: l4, nodeSelector: {matchLabels: {nvidia.com/gpu.product: NVIDIA-L4}}}
rules:
- name: inference
  match: {podSelector: {matchLabels: {ml-scheduler.io/workload: inference}}}
  pools: [l4]
`
	hashB := policyHash(t, fixed)
	st, _ := updatePolicyTimed(t, tc.ctx, fixed, func(s cluster.PolicyStatus) bool { return s.ActiveHash == hashB })
	if st.LastError != "" {
		t.Fatalf("policy-error still %q after a good edit", st.LastError)
	}
	tc.place(cluster.PodSpec{Name: "fixed", Namespace: ns, GPUs: 1, Labels: inference}, "inference", "bad-l4-0")
	t.Logf("PROVED: a good edit after rejected ones is applied (hash %s), clears the policy-error annotation, and places the next pod by the new policy (bad-l4-0)", hashB)
}

// TestPolicySwapActivatesPendingPod: a pod the old policy refused is
// scheduled promptly once a new policy admits it, although a policy swap is
// no cluster event the scheduling queue knows of.
func TestPolicySwapActivatesPendingPod(t *testing.T) {
	const ns = "it-swap"
	tc := newCase(t, "swap", ns)
	tc.nodes(cpuNode("swap-green-0", "8", "32Gi", map[string]string{"example.com/color": "green"}))
	const tmpl = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: blue, nodeSelector: {matchLabels: {example.com/color: blue}}}
- {name: green, nodeSelector: {matchLabels: {example.com/color: green}}}
rules:
- name: %s
  match: {namespaces: [it-swap]}
  pools: [%s]
`
	hashA := tc.policy(fmt.Sprintf(tmpl, "swap-blue", "blue"))
	tc.pod(cluster.PodSpec{Name: "p0", Namespace: ns, CPU: "1"})
	msg := tc.pending(ns, "p0", "rule swap-blue of policy "+hashA, "pool blue", "0 node(s) qualify")
	t.Logf("p0 pending under policy A: %s", msg)

	var hashB string
	p, took := tc.timeToBind(ns, "p0", 10*time.Second, func() {
		hashB = writePolicy(t, tc.ctx, fmt.Sprintf(tmpl, "swap-green", "green"))
	})
	waitPolicyInForce(t, tc.ctx, hashB)
	if p.Spec.NodeName != "swap-green-0" {
		t.Fatalf("p0 on %s, want swap-green-0", p.Spec.NodeName)
	}
	tc.expectRule(p, "swap-green")
	if got := tc.placedPolicy(p); got != hashB {
		t.Fatalf("policy-hash annotation %q, want policy %s", got, hashB)
	}
	t.Logf("PROVED: a pod pending under policy A (pool blue, no node) was scheduled %v after swapping in policy B (pool green) by rule swap-green: the swap re-activates pending pods, no 5-minute flush needed", took.Round(time.Millisecond))
}

// TestMetrics: the scheduler's /metrics count a rejected edit and expose the
// hash of the policy in force, the same as the ConfigMap annotation.
func TestMetrics(t *testing.T) {
	tc := newCase(t, "metrics")
	hash := tc.policy(`apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: metrics-good
  match: {namespaces: [it-metrics]}
`)
	scrape := func() string {
		t.Helper()
		text, err := tc.s.Metrics(tc.ctx)
		if err != nil {
			t.Fatalf("scraping %s: %v", tc.s.URL("/metrics"), err)
		}
		return text
	}
	value := func(text, name string, labels map[string]string) (float64, bool) {
		t.Helper()
		v, ok, err := cluster.SampleValue(text, name, labels)
		if err != nil {
			t.Fatal(err)
		}
		return v, ok
	}
	rejected := map[string]string{"result": "rejected"}
	before, _ := value(scrape(), "ml_scheduler_policy_reloads_total", rejected)

	st, _ := updatePolicyTimed(t, tc.ctx, `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
rules:
- name: metrics-bad
  match: {namespaces: [it-metrics]}
  gpuPacking: Tight
`, func(s cluster.PolicyStatus) bool { return strings.Contains(s.LastError, "rules[0].gpuPacking") })
	if st.ActiveHash != hash {
		t.Fatalf("active hash %q after a rejected edit, want %s", st.ActiveHash, hash)
	}
	text := scrape()
	after, ok := value(text, "ml_scheduler_policy_reloads_total", rejected)
	if !ok || after < before+1 {
		t.Fatalf("ml_scheduler_policy_reloads_total{result=\"rejected\"} = %v (present %v), was %v before the bad edit", after, ok, before)
	}
	infos, err := cluster.ParseSamples(text, "ml_scheduler_policy_info")
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 1 || infos[0].Labels["hash"] != st.ActiveHash || infos[0].Value != 1 {
		t.Fatalf("ml_scheduler_policy_info = %+v, want one sample {hash=%q} 1 (the ConfigMap annotation)", infos, st.ActiveHash)
	}
	if v, ok := value(text, "ml_scheduler_policy_last_reload_success", nil); !ok || v != 0 {
		t.Fatalf("ml_scheduler_policy_last_reload_success = %v (present %v), want 0 after a rejected edit", v, ok)
	}
	gen, ok := value(text, "ml_scheduler_policy_generation", nil)
	if !ok || gen < 1 {
		t.Fatalf("ml_scheduler_policy_generation = %v (present %v), want >= 1", gen, ok)
	}
	t.Logf("PROVED: /metrics on %s counted the bad edit (ml_scheduler_policy_reloads_total{result=\"rejected\"} %v -> %v), ml_scheduler_policy_info{hash=%q} 1 matches the ConfigMap's active-hash annotation, generation %v, last_reload_success 0", tc.s.URL("/metrics"), before, after, st.ActiveHash, gen)
}
