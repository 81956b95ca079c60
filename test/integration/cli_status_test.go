package integration

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
	"github.com/ml-scheduler/ml-scheduler/pkg/schedstatus"
)

const clistatusPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: clistatus-none, nodeSelector: {matchLabels: {itest.clistatus/pool: none}}}
rules:
- name: clistatus-confined
  match: {namespaces: [it-clistatus], podSelector: {matchLabels: {ml-scheduler.io/workload: confined}}}
  pools: [clistatus-none]
- name: clistatus-model
  match: {namespaces: [it-clistatus]}
  gpuModels: [H100]
`

// waitReplicas polls the status Leases until ok holds.
func waitReplicas(t *testing.T, ctx context.Context, ok func([]replicastatus.State) bool) []replicastatus.State {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		states, err := replicastatus.Read(ctx, env.client, policyNamespace, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if ok(states) {
			return states
		}
		if time.Now().After(deadline) {
			t.Fatalf("replica status Leases: %+v", states)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func liveWithHash(states []replicastatus.State, hash string) int {
	n := 0
	for _, s := range states {
		if !s.Stale && s.Hash == hash && s.LastError == "" {
			n++
		}
	}
	return n
}

// TestCLIStatus: `kubectl mlsched status` shows the policy each replica has
// in force (from its own Lease), the leader, and the pods left pending for
// policy reasons counted by rule; a second replica shows as a second line.
func TestCLIStatus(t *testing.T) {
	const ns = "it-clistatus"
	tc := newCase(t, "clistatus", ns)
	tc.nodes(gpuNode("clistatus-a100-0", "A100", 4, nil))
	hash := tc.policy(clistatusPolicy)
	confined := map[string]string{workloadLabel: "confined"}
	for i := 0; i < 3; i++ {
		tc.pod(cluster.PodSpec{Name: fmt.Sprintf("confined-%d", i), Namespace: ns, Labels: confined, CPU: "1"})
	}
	tc.pod(cluster.PodSpec{Name: "h100-0", Namespace: ns, CPU: "1", GPUs: 1})
	for i := 0; i < 3; i++ {
		tc.pending(ns, fmt.Sprintf("confined-%d", i), "pod matched rule clistatus-confined of policy "+hash)
	}
	tc.pending(ns, "h100-0", "pod matched rule clistatus-model of policy "+hash)
	waitReplicas(t, tc.ctx, func(s []replicastatus.State) bool { return liveWithHash(s, hash) >= 1 })

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	r := statusJSON(t)
	byRule := map[string]int{}
	for _, g := range r.Pending {
		if strings.HasPrefix(g.Rule, "clistatus-") && g.Hash == hash {
			byRule[g.Rule] = g.Pods
		}
	}
	if byRule["clistatus-confined"] != 3 || byRule["clistatus-model"] != 1 {
		t.Errorf("pending by rule %+v, want clistatus-confined 3, clistatus-model 1", r.Pending)
	}
	shared := replicaOf(r, host)
	if shared == nil || shared.Hash != hash || shared.Generation < 1 || shared.Stale || !shared.Leader ||
		!strings.HasPrefix(r.Leader.Identity, host+"_") || r.ActiveHash != hash {
		t.Fatalf("replica %s: %+v, leader %+v, want hash %s, leading", host, shared, r.Leader, hash)
	}

	// A second replica (its own identity, same leader-election Lease) waits
	// for the lease and publishes the same policy.
	const second = "clistatus-replica-2"
	t.Setenv(replicastatus.IdentityEnv, second)
	s2, err := cluster.StartScheduler(context.Background(), env.cp, cluster.SchedulerOptions{Name: "ml-scheduler-clistatus-2"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s2.StopGrace = 5 * time.Second
		_ = s2.Stop()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		name, _ := replicastatus.LeaseName(second)
		_ = env.client.CoordinationV1().Leases(policyNamespace).Delete(ctx, name, metav1.DeleteOptions{})
	})
	waitReplicas(t, tc.ctx, func(s []replicastatus.State) bool { return liveWithHash(s, hash) >= 2 })
	text := runCLI(t, "status")
	if text.code != 0 {
		t.Fatalf("exit %d: %s", text.code, text.stderr)
	}
	for _, want := range []string{
		"Policy ConfigMap ml-scheduler/ml-scheduler-policy: policy in force " + hash,
		"Leader: " + r.Leader.Identity,
		"Pods of ml-scheduler pending for policy reasons:",
	} {
		if !strings.Contains(text.stdout, want) {
			t.Errorf("text output lacks %q", want)
		}
	}
	lines := 0
	for _, l := range strings.Split(text.stdout, "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 3 && f[0] == host && f[1] == "yes" && f[2] == hash,
			len(f) >= 3 && f[0] == second && f[1] == "-" && f[2] == hash:
			lines++
		case len(f) >= 3 && f[0] == "clistatus-confined" && f[1] == hash && f[2] == "3",
			len(f) >= 3 && f[0] == "clistatus-model" && f[1] == hash && f[2] == "1":
			lines++
		}
	}
	if lines != 4 {
		t.Errorf("text output: %d of the 4 expected replica and rule lines", lines)
	}
	r = statusJSON(t)
	if rep := replicaOf(r, second); rep == nil || rep.Leader || rep.Hash != hash || rep.Stale {
		t.Errorf("second replica %+v, want hash %s, not leading", rep, hash)
	}
	t.Logf("PROVED: kubectl mlsched status showed per replica the policy in force from its own status Lease (%s and %s, both %s, generation and source), the leader (%s, the leader-election Lease's holder, matched to replica %s), and the pods left pending for policy reasons by rule (clistatus-confined 3, clistatus-model 1) parsed from their PodScheduled messages",
		host, second, hash, r.Leader.Identity, host)
}

func statusJSON(t *testing.T) *schedstatus.Report {
	t.Helper()
	res := runCLI(t, "status", "-o", "json")
	if res.code != 0 {
		t.Fatalf("exit %d: %s", res.code, res.stderr)
	}
	var r schedstatus.Report
	if err := json.Unmarshal([]byte(res.stdout), &r); err != nil {
		t.Fatalf("decoding the JSON output: %v", err)
	}
	return &r
}

func replicaOf(r *schedstatus.Report, identity string) *schedstatus.Replica {
	for i := range r.Replicas {
		if r.Replicas[i].Identity == identity {
			return &r.Replicas[i]
		}
	}
	return nil
}
