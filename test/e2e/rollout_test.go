package e2e

import (
	"context"
	"net/http"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

const policyKey = "policy.yaml"

// rolloutBrokenPolicy: a rolling restart, replica by replica as the
// manifests' Deployment does it (maxSurge 0, maxUnavailable 1: the next
// old pod goes only once the new one is ready), while the policy ConfigMap
// holds a broken policy. The running replicas refuse the edit and keep the
// good policy; the first new replica starts, is alive, and stays unready
// (/readyz), so the roll stops there, and the old leader keeps scheduling.
// Once the policy is fixed the new replica becomes ready, the roll goes on,
// and when the old leader goes a new replica takes the Lease and schedules.
//
// Local replicas only: kwok's kubelets do not run the ml-scheduler pods, so
// the Deployment controller cannot see their readiness here; the steps it
// would take are taken by the test. On kind, `kubectl rollout restart`
// does this for real.
func rolloutBrokenPolicy(ctx context.Context, t *testing.T, e *Env) {
	r, ok := e.Replicas.(*localReplicas)
	if !ok {
		t.Skip("replicas are pods: the Deployment controller rolls them")
	}
	leader, err := r.Leader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	standby, dead := "", ""
	r.mu.Lock()
	for name, p := range r.procs {
		done, _ := p.Exited()
		switch {
		case done:
			dead = name
		case name != leader:
			standby = name
		}
	}
	r.mu.Unlock()
	if standby == "" {
		if dead == "" {
			t.Fatal("no standby replica and none to recreate")
		}
		// The replica an earlier scenario killed: its ReplicaSet would
		// have recreated it.
		standby = "ml-scheduler-recreated"
		if err := r.startOne(ctx, t, standby, dead); err != nil {
			t.Fatal(err)
		}
		if err := controlplane.WaitHealthy(ctx, r.url(standby, r.readiness), true, time.Minute); err != nil {
			t.Fatalf("%s not ready: %v", standby, err)
		}
	}
	cms := e.Admin.CoreV1().ConfigMaps(mlNamespace)
	cm, err := cms.Get(ctx, mlPolicyCM, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	good := cm.Data[policyKey]
	setPolicy := func(text string) {
		t.Helper()
		cm, err := cms.Get(ctx, mlPolicyCM, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		cm.Data[policyKey] = text
		if _, err := cms.Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	defer setPolicy(good)

	// 1. The edit that breaks it: refused, the good policy stays in force.
	setPolicy("apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules: [{name: broken, pools: [no-such-pool]}]\n")
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := cms.Get(ctx, mlPolicyCM, metav1.GetOptions{})
		return err == nil && cm.Annotations[policywatch.AnnotationLastError] != "", nil
	}); err != nil {
		t.Fatalf("the broken policy was not reported refused: %v", err)
	}

	// 2. The roll replaces the standby first: its replacement is alive but
	// not ready while the ConfigMap is broken.
	if err := r.Stop(standby); err != nil {
		t.Fatal(err)
	}
	first := "ml-scheduler-rolled-0"
	if err := r.startOne(ctx, t, first, standby); err != nil {
		t.Fatal(err)
	}
	if err := controlplane.WaitHealthy(ctx, r.url(first, r.liveness), true, time.Minute); err != nil {
		t.Fatalf("%s %s: %v", first, r.liveness, err)
	}
	const hold = 10 * time.Second
	for end := time.Now().Add(hold); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		// Alive and answering, but not ready: kube-scheduler's failing
		// health checks answer 500.
		if code, err := r.probe(first, r.readiness); err != nil || code != http.StatusInternalServerError {
			t.Fatalf("%s %s with a broken policy ConfigMap: %d (%v), want 500", first, r.readiness, code, err)
		}
	}

	// 3. Meanwhile the old leader schedules by the good policy.
	bob := e.ImpersonatedClient(t, teamBUser, teamBDevs)
	bindOne := func(name string) (string, time.Duration) {
		t.Helper()
		start := time.Now()
		if _, err := bob.CoreV1().Pods(teamB).Create(ctx, testPod(name, teamB, "ml-scheduler", nil), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var node string
		if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			p, err := e.Admin.CoreV1().Pods(teamB).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			node = p.Spec.NodeName
			return node != "", nil
		}); err != nil {
			t.Fatalf("pod %s/%s not bound: %v", teamB, name, err)
		}
		return node, time.Since(start)
	}
	duringNode, duringTook := bindOne("rollout-during")
	if l, err := r.Leader(ctx); err != nil || l != leader {
		t.Fatalf("leader during the stalled roll: %q (%v), want %s still", l, err, leader)
	}

	// 4. Fixed: the new replica becomes ready, the roll can go on.
	setPolicy(good)
	fixed := time.Now()
	if err := controlplane.WaitHealthy(ctx, r.url(first, r.readiness), true, time.Minute); err != nil {
		t.Fatalf("%s not ready after the policy was fixed: %v", first, err)
	}
	readyAfter := time.Since(fixed)

	// 5. The old leader goes (SIGTERM releases its Lease) and its
	// replacement starts; a new replica takes the Lease and schedules.
	stopped := time.Now()
	if err := r.Stop(leader); err != nil {
		t.Fatal(err)
	}
	second := "ml-scheduler-rolled-1"
	if err := r.startOne(ctx, t, second, leader); err != nil {
		t.Fatal(err)
	}
	var newLeader string
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		newLeader, err = r.Leader(ctx)
		return err == nil, nil
	}); err != nil {
		t.Fatalf("no leader after the old one stopped: %v", err)
	}
	handover := time.Since(stopped)
	afterNode, _ := bindOne("rollout-after")
	if err := controlplane.WaitHealthy(ctx, r.url(second, r.readiness), true, time.Minute); err != nil {
		t.Fatalf("%s not ready: %v", second, err)
	}
	for _, name := range []string{"rollout-during", "rollout-after"} {
		_ = bob.CoreV1().Pods(teamB).Delete(ctx, name, metav1.DeleteOptions{})
	}
	proved(t, "rolling restart with a broken policy ConfigMap: the running replicas refused it; the first new replica was alive but unready for %v (/readyz), so the roll stopped there, and leader %s kept scheduling by the good policy (%s/rollout-during on %s in %v); after the fix it was ready in %v; the old leader stopped, %s took the Lease %v later and bound %s/rollout-after on %s; replicas now %s",
		hold, leader, teamB, duringNode, duringTook.Round(time.Millisecond), readyAfter.Round(time.Millisecond),
		newLeader, handover.Round(time.Millisecond), teamB, afterNode, first+" and "+second)
}
