// Package replicastatus publishes, per scheduler replica, the placement
// policy it has in force, so `kubectl mlsched status` can show every
// replica through the apiserver. Each replica keeps one
// coordination.k8s.io/v1 Lease, ml-scheduler-policy-<identity> in the
// scheduler's namespace, labelled ml-scheduler.io/policy-status, whose
// annotations hold the policy hash, generation, source and last error. It is
// written when the policy watcher reports an outcome (a swap, a rejection,
// an unchanged policy, a deleted ConfigMap) and renewed every RenewInterval,
// never per pod.
package replicastatus

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Label and annotations of a replica's status Lease.
const (
	// LabelPolicyStatus marks the status Leases (value "true").
	LabelPolicyStatus = "ml-scheduler.io/policy-status"

	AnnotationHash       = "ml-scheduler.io/policy-hash"
	AnnotationGeneration = "ml-scheduler.io/policy-generation"
	AnnotationSource     = "ml-scheduler.io/policy-source"
	AnnotationError      = "ml-scheduler.io/policy-error"
	// AnnotationChanged is when the replica last saw an outcome (RFC 3339).
	AnnotationChanged = "ml-scheduler.io/policy-changed"

	// LeasePrefix starts every status Lease's name.
	LeasePrefix = "ml-scheduler-policy-"

	// IdentityEnv overrides the replica identity (default: the hostname,
	// which is the pod's name in a Deployment).
	IdentityEnv = "ML_SCHEDULER_REPLICA_ID"

	// RenewInterval is how often a replica renews its Lease;
	// LeaseDuration is how long a Lease not renewed is taken as live.
	RenewInterval = 30 * time.Second
	LeaseDuration = 90 * time.Second

	maxError = 1024
)

// State is one replica's policy status.
type State struct {
	Identity string `json:"identity"`
	// Hash is the policy in force, "" when none is loaded.
	Hash       string `json:"hash"`
	Generation int64  `json:"generation"`
	Source     string `json:"source,omitempty"`
	// LastError is why the last policy text was rejected, "" if it was not.
	LastError string    `json:"lastError,omitempty"`
	Changed   time.Time `json:"changed"`
	// Renewed is the Lease's renewTime; Stale: not renewed for LeaseDuration.
	Renewed time.Time `json:"renewed"`
	Stale   bool      `json:"stale"`
	Lease   string    `json:"lease"`
}

// DefaultIdentity is $ML_SCHEDULER_REPLICA_ID, else the hostname.
func DefaultIdentity() (string, error) {
	if id := strings.TrimSpace(os.Getenv(IdentityEnv)); id != "" {
		return id, nil
	}
	h, err := os.Hostname()
	if err != nil {
		return "", fmt.Errorf("replica identity: %w (set %s)", err, IdentityEnv)
	}
	return h, nil
}

// LeaseName is the status Lease's name for a replica identity: the identity
// lower-cased, characters a DNS subdomain cannot hold replaced by '-'.
func LeaseName(identity string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(identity) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '-', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	name := LeasePrefix + strings.Trim(b.String(), "-.")
	if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", fmt.Errorf("replica identity %q: lease name %q: %s", identity, name, strings.Join(errs, "; "))
	}
	return name, nil
}

// apply writes s into the Lease's labels, annotations and spec, renewed at now.
func (s State) apply(l *coordinationv1.Lease, now time.Time) {
	if l.Labels == nil {
		l.Labels = map[string]string{}
	}
	l.Labels[LabelPolicyStatus] = "true"
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	errText := s.LastError
	if len(errText) > maxError {
		errText = errText[:maxError] + "…"
	}
	l.Annotations[AnnotationHash] = s.Hash
	l.Annotations[AnnotationGeneration] = strconv.FormatInt(s.Generation, 10)
	l.Annotations[AnnotationSource] = s.Source
	l.Annotations[AnnotationError] = errText
	l.Annotations[AnnotationChanged] = s.Changed.UTC().Format(time.RFC3339)
	id, secs := s.Identity, int32(LeaseDuration/time.Second)
	l.Spec.HolderIdentity = &id
	l.Spec.LeaseDurationSeconds = &secs
	renew := metav1.NewMicroTime(now)
	l.Spec.RenewTime = &renew
}

// FromLease reads a status Lease; now decides Stale.
func FromLease(l *coordinationv1.Lease, now time.Time) (State, error) {
	a := l.Annotations
	s := State{Hash: a[AnnotationHash], Source: a[AnnotationSource], LastError: a[AnnotationError], Lease: l.Name}
	if l.Spec.HolderIdentity != nil {
		s.Identity = *l.Spec.HolderIdentity
	}
	if s.Identity == "" {
		s.Identity = strings.TrimPrefix(l.Name, LeasePrefix)
	}
	if g := a[AnnotationGeneration]; g != "" {
		n, err := strconv.ParseInt(g, 10, 64)
		if err != nil {
			return s, fmt.Errorf("lease %s: annotation %s: %q is not an integer", l.Name, AnnotationGeneration, g)
		}
		s.Generation = n
	}
	if c := a[AnnotationChanged]; c != "" {
		t, err := time.Parse(time.RFC3339, c)
		if err != nil {
			return s, fmt.Errorf("lease %s: annotation %s: %q is not an RFC 3339 time", l.Name, AnnotationChanged, c)
		}
		s.Changed = t
	}
	duration := LeaseDuration
	if l.Spec.LeaseDurationSeconds != nil {
		duration = time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
	}
	if l.Spec.RenewTime != nil {
		s.Renewed = l.Spec.RenewTime.Time
	}
	s.Stale = s.Renewed.IsZero() || now.Sub(s.Renewed) > duration
	return s, nil
}
