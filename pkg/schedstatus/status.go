// Package schedstatus gathers what `kubectl mlsched status` shows: the
// policy in force per scheduler replica (their status Leases, see
// pkg/replicastatus), the leader (the leader-election Lease) and the pods
// pending for policy reasons, by rule (their PodScheduled messages).
package schedstatus

import (
	"context"
	"fmt"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"

	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

// Options say where to look; zero fields take the shipped defaults.
type Options struct {
	// Namespace holds the status Leases, the leader Lease and the policy
	// ConfigMap (default ml-scheduler).
	Namespace string
	// LeaseName is the leader-election Lease (default ml-scheduler).
	LeaseName string
	// PolicyName is the policy ConfigMap (default ml-scheduler-policy).
	PolicyName string
	// SchedulerName is the pods' spec.schedulerName (default ml-scheduler).
	SchedulerName string
}

func (o Options) withDefaults() Options {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Namespace, "ml-scheduler")
	def(&o.LeaseName, "ml-scheduler")
	def(&o.PolicyName, "ml-scheduler-policy")
	def(&o.SchedulerName, "ml-scheduler")
	return o
}

// Report is the scheduler's status.
type Report struct {
	// PolicyConfigMap is namespace/name; ActiveHash and LastError its
	// status annotations (the last replica to report an outcome wrote them).
	PolicyConfigMap      string `json:"policyConfigMap"`
	PolicyConfigMapFound bool   `json:"policyConfigMapFound"`
	ActiveHash           string `json:"activeHash"`
	LastError            string `json:"lastError,omitempty"`
	Leader               Leader `json:"leader"`
	// Replicas are the status Leases, live and stale, by identity.
	Replicas []Replica `json:"replicas"`
	// Pending are the pods of SchedulerName pending for policy reasons, by
	// rule; PendingOther counts its other unbound pods.
	SchedulerName string        `json:"schedulerName"`
	Pending       []PendingRule `json:"pendingByRule"`
	PendingOther  int           `json:"pendingOther"`
}

// Leader is the leader-election Lease's holder.
type Leader struct {
	Lease string `json:"lease"`
	// Identity is the holder ("" if none: no leader election, or not yet).
	Identity string    `json:"identity,omitempty"`
	Renewed  time.Time `json:"renewed,omitempty"`
	// Expired: not renewed within its lease duration.
	Expired bool `json:"expired"`
	Found   bool `json:"found"`
}

// Replica is one replica's status with whether it leads.
type Replica struct {
	replicastatus.State
	Leader bool `json:"leader"`
}

// Gather reads the status through client.
func Gather(ctx context.Context, client kubernetes.Interface, o Options, now time.Time) (*Report, error) {
	o = o.withDefaults()
	r := &Report{PolicyConfigMap: o.Namespace + "/" + o.PolicyName, SchedulerName: o.SchedulerName,
		Leader: Leader{Lease: o.Namespace + "/" + o.LeaseName}}

	cm, err := client.CoreV1().ConfigMaps(o.Namespace).Get(ctx, o.PolicyName, metav1.GetOptions{})
	switch {
	case err == nil:
		r.PolicyConfigMapFound = true
		r.ActiveHash, r.LastError = cm.Annotations[policywatch.AnnotationActiveHash], cm.Annotations[policywatch.AnnotationLastError]
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("getting policy ConfigMap %s: %w", r.PolicyConfigMap, err)
	}

	lease, err := client.CoordinationV1().Leases(o.Namespace).Get(ctx, o.LeaseName, metav1.GetOptions{})
	switch {
	case err == nil:
		r.Leader.Found = true
		if lease.Spec.HolderIdentity != nil {
			r.Leader.Identity = *lease.Spec.HolderIdentity
		}
		if lease.Spec.RenewTime != nil {
			r.Leader.Renewed = lease.Spec.RenewTime.Time
		}
		duration := 15 * time.Second
		if lease.Spec.LeaseDurationSeconds != nil {
			duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
		}
		r.Leader.Expired = r.Leader.Identity == "" || now.Sub(r.Leader.Renewed) > duration
	case !apierrors.IsNotFound(err):
		return nil, fmt.Errorf("getting leader Lease %s: %w", r.Leader.Lease, err)
	}

	states, err := replicastatus.Read(ctx, client, o.Namespace, now)
	if err != nil {
		return nil, err
	}
	for _, s := range states {
		r.Replicas = append(r.Replicas, Replica{State: s, Leader: IsLeader(r.Leader.Identity, s.Identity)})
	}

	var pods []*v1.Pod
	err = pager.New(func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
	}).EachListItem(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("spec.nodeName", "").String()},
		func(obj runtime.Object) error {
			pods = append(pods, obj.(*v1.Pod))
			return nil
		})
	if err != nil {
		return nil, fmt.Errorf("listing unbound pods: %w", err)
	}
	r.Pending, r.PendingOther = GroupPending(pods, o.SchedulerName)
	return r, nil
}

// IsLeader says whether the leader-election holder is the replica:
// kube-scheduler's holder identity is "<hostname>_<uuid>", a replica's
// status identity its hostname (or ML_SCHEDULER_REPLICA_ID).
func IsLeader(holder, replica string) bool {
	if holder == "" || replica == "" {
		return false
	}
	host := holder
	if i := strings.LastIndex(holder, "_"); i >= 0 {
		host = holder[:i]
	}
	return holder == replica || host == replica
}
