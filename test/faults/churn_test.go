package faults

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
)

const (
	churnWrites = 1000
	churnFor    = time.Minute
)

// policyChurn rewrites the policy ConfigMap 1000 times in about a minute
// while pods keep arriving: two of every three writes valid, alternating
// the pool the confined namespace gets (b, a, b, ...), one invalid (three
// kinds in turn). Half way it deletes the ConfigMap and creates it again.
// The last write is valid; its hash is what every replica must end with,
// and the time until the ConfigMap reports it in force is the recovery.
func policyChurn(ctx context.Context, t *testing.T, r *run) error {
	arrivals := r.createRest(ctx, churnFor/time.Duration(max(1, len(r.waves)-1)))
	begin := time.Now()
	gap := churnFor / churnWrites
	valid := 0
	var recreatedMs int64
	for i := 0; i < churnWrites; i++ {
		if d := time.Until(begin.Add(time.Duration(i) * gap)); d > 0 {
			time.Sleep(d)
		}
		last := i == churnWrites-1
		var text, hash string
		if i%3 == 2 && !last {
			text = r.ps.invalidText(i / 3)
		} else {
			pool := poolB
			if valid%2 == 1 {
				pool = poolA
			}
			valid++
			var err error
			if text, hash, err = r.ps.valid(pool); err != nil {
				return err
			}
		}
		if i == churnWrites/2 {
			// Deleted, then recreated a moment later: the replicas keep
			// the policy they have in between.
			t0 := time.Now()
			if err := r.ps.recreate(ctx, text, 500*time.Millisecond); err != nil {
				return fmt.Errorf("write %d (delete and recreate): %w", i, err)
			}
			recreatedMs = ms(time.Since(t0))
		} else if err := r.ps.patch(ctx, text); err != nil {
			return fmt.Errorf("write %d: %w", i, err)
		}
		r.ps.wrote(hash)
	}
	took := time.Since(begin)
	end := time.Now()
	if _, err := cluster.WaitPolicyStatus(ctx, env.client, mlNamespace, r.w.policyName, recoverTimeout, func(s cluster.PolicyStatus) bool {
		return s.ActiveHash == r.ps.lastValid && s.LastError == ""
	}); err != nil {
		return fmt.Errorf("after the churn: %w", err)
	}
	r.fig.Recoveries = append(r.fig.Recoveries, recovery{
		What:      fmt.Sprintf("%d policy writes (%d invalid, ConfigMap deleted and recreated in %dms) in %v", r.ps.writes-1, r.ps.invalid, recreatedMs, took.Round(time.Millisecond)),
		FaultMs:   ms(took),
		InForceMs: ms(time.Since(end)),
	})
	t.Logf("churn: %d writes (%d invalid) in %v; last valid policy %s in force %v after the last write", r.ps.writes-1, r.ps.invalid, took.Round(time.Millisecond), r.ps.lastValid, time.Since(end).Round(time.Millisecond))
	return <-arrivals
}
