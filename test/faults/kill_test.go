package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

const (
	kills = 5
	// killGap is the pause after a handover completes and before the next kill.
	killGap = 3 * time.Second
	// recoverTimeout bounds one handover or recovery: far above the 4 s
	// lease, generous for 2 shared cores.
	recoverTimeout = 2 * time.Minute
)

// leaderKill SIGKILLs the leader 5 times, a few seconds apart. After each
// kill a wave of pods arrives (while no one leads), so the new leader has
// pods to bind; each handover is timed from the kill to a new holder of
// the lease and to the first pod bound after that.
func leaderKill(ctx context.Context, t *testing.T, r *run) error {
	for i := 1; i <= kills; i++ {
		idx, p, err := r.rs.waitLeader(ctx, recoverTimeout)
		if err != nil {
			return fmt.Errorf("kill %d: %w", i, err)
		}
		oldHolder := r.rs.holder(ctx)
		killedAt := time.Now()
		if err := r.rs.kill(idx); err != nil {
			return err
		}
		var wave <-chan error
		if i < len(r.waves) {
			done := make(chan error, 1)
			units := r.waves[i]
			go func() { done <- r.w.createUnits(ctx, units) }()
			wave = done
		}
		var acquired time.Time
		var before map[string]bool
		err = wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, recoverTimeout, true, func(ctx context.Context) (bool, error) {
			h := r.rs.holder(ctx)
			acquired = time.Now()
			// Bound by now: the old leader's (or in flight when it died).
			before = r.rec.boundSet()
			return h != "" && h != oldHolder, nil
		})
		if err != nil {
			return fmt.Errorf("kill %d: no replica took the lease from %s: %w", i, oldHolder, err)
		}
		if wave != nil {
			if err := <-wave; err != nil {
				return err
			}
		}
		bound, err := r.rec.waitNewBinding(ctx, acquired, before, recoverTimeout)
		if err != nil {
			return fmt.Errorf("kill %d: %w", i, err)
		}
		rec := recovery{What: fmt.Sprintf("kill %d of %s", i, p.Name), LeaseMs: ms(acquired.Sub(killedAt)), BindMs: ms(bound.Sub(killedAt))}
		r.fig.Recoveries = append(r.fig.Recoveries, rec)
		t.Logf("kill %d: SIGKILLed leader %s (holder %s); lease taken after %dms, next binding after %dms, %d pods bound", i, p.Name, oldHolder, rec.LeaseMs, rec.BindMs, r.rec.bound())
		if i < kills {
			time.Sleep(killGap)
		}
	}
	return nil
}

// apiserverRestart SIGKILLs kube-apiserver and starts it again.
func apiserverRestart(ctx context.Context, t *testing.T, r *run) error {
	return controlPlaneFault(ctx, t, r, "kube-apiserver restart (SIGKILL)", func() (time.Duration, error) {
		return env.cp.RestartAPIServer(ctx, controlplane.Crash, 0)
	})
}

// etcdDown keeps etcd away long enough that the leader cannot renew its
// lease (renewDeadline 3 s): etcd alone restarts in about a second.
const etcdDown = 5 * time.Second

// etcdRestart SIGKILLs etcd and starts it again on the same data.
func etcdRestart(ctx context.Context, t *testing.T, r *run) error {
	return controlPlaneFault(ctx, t, r, fmt.Sprintf("etcd restart (SIGKILL, %v down)", etcdDown), func() (time.Duration, error) {
		return env.cp.RestartEtcd(ctx, controlplane.Crash, etcdDown)
	})
}

const freezeFor = 20 * time.Second

// apiserverFreeze stops kube-apiserver with SIGSTOP for 20 s, then resumes it.
func apiserverFreeze(ctx context.Context, t *testing.T, r *run) error {
	return controlPlaneFault(ctx, t, r, "kube-apiserver SIGSTOP 20s", func() (time.Duration, error) {
		begin := time.Now()
		if err := env.cp.FreezeAPIServer(); err != nil {
			return 0, err
		}
		time.Sleep(freezeFor)
		if err := env.cp.ThawAPIServer(); err != nil {
			return time.Since(begin), err
		}
		err := env.cp.WaitAPIServerReady(ctx)
		return time.Since(begin), err
	})
}

// controlPlaneFault runs fault (which returns once the apiserver is ready
// again) and times the recovery from there to the first pod bound that was not bound before the fault
// ended, judged against a fresh list (the informer may still be catching
// up with bindings made before the fault).
func controlPlaneFault(ctx context.Context, t *testing.T, r *run, what string, fault func() (time.Duration, error)) error {
	boundBefore := r.rec.bound()
	down, err := fault()
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	end := time.Now()
	before := r.rec.boundSet()
	for _, ns := range []string{r.w.confNS, r.w.freeNS} {
		list, err := env.client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: scenarioLabel + "=" + r.w.short})
		if err != nil {
			return fmt.Errorf("listing pods after the %s: %w", what, err)
		}
		for _, p := range list.Items {
			if p.Spec.NodeName != "" {
				before[p.Namespace+"/"+p.Name] = true
			}
		}
	}
	rec := recovery{What: what, FaultMs: ms(down)}
	if len(before) < len(r.w.pods()) {
		bound, err := r.rec.waitNewBinding(ctx, end, before, recoverTimeout)
		if err != nil {
			return fmt.Errorf("after the %s: %w", what, err)
		}
		rec.BindMs = ms(bound.Sub(end))
	} else {
		t.Logf("every pod was bound before the %s ended: no binding left to time", what)
	}
	if _, _, err := r.rs.waitLeader(ctx, recoverTimeout); err != nil {
		return fmt.Errorf("after the %s: %w", what, err)
	}
	r.fig.Recoveries = append(r.fig.Recoveries, rec)
	t.Logf("%s: down %v with %d pods bound (%d when it ended); next binding %dms after it ended", what, down.Round(time.Millisecond), boundBefore, len(before), rec.BindMs)
	return nil
}
