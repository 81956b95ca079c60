package policywatch

import (
	"context"

	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

// startReplicaStatus starts publishing this replica's policy status Lease
// in the policy ConfigMap's namespace (see pkg/replicastatus). Failing to
// is logged, never fatal: the replica schedules without it.
func (w *Watcher) startReplicaStatus(ctx context.Context) {
	logger := klog.FromContext(ctx)
	id, err := replicastatus.DefaultIdentity()
	if err == nil {
		w.replica, err = replicastatus.NewPublisher(w.opts.Client, w.opts.Namespace, id)
	}
	if err != nil {
		logger.Error(err, "Replica policy status will not be published")
		return
	}
	logger.V(2).Info("Publishing the replica's policy status", "identity", id)
	go w.replica.Run(ctx)
}

// publishReplicaStatus tells the replica's status Lease the outcome of a
// ConfigMap change: the policy in force now and the last rejection.
func (w *Watcher) publishReplicaStatus() {
	if w.replica != nil {
		w.replica.Publish(w.opts.Store.Load(), w.lastErr)
	}
}
