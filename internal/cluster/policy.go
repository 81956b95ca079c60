package cluster

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// Status annotations ml-scheduler writes on its policy ConfigMap
// (pkg/policywatch); repeated here so tests read them as a user would.
const (
	AnnotationActiveHash = "ml-scheduler.io/active-policy-hash"
	AnnotationLastError  = "ml-scheduler.io/policy-error"
)

// ApplyPolicy creates or updates the policy ConfigMap (key policy.yaml).
func ApplyPolicy(ctx context.Context, client kubernetes.Interface, ns, name, policyYAML string) error {
	cms := client.CoreV1().ConfigMaps(ns)
	// The scheduler patches status annotations on the same object: retry
	// an update that lost the race.
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cm, err := cms.Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			_, err = cms.Create(ctx, &v1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
				Data:       map[string]string{"policy.yaml": policyYAML},
			}, metav1.CreateOptions{})
			return err
		}
		if err != nil {
			return err
		}
		if cm.Data == nil {
			cm.Data = map[string]string{}
		}
		cm.Data["policy.yaml"] = policyYAML
		_, err = cms.Update(ctx, cm, metav1.UpdateOptions{})
		return err
	})
}

// PolicyStatus is what the scheduler reported on the ConfigMap.
type PolicyStatus struct {
	ActiveHash string
	LastError  string
}

// WaitPolicyStatus waits until the ConfigMap's status annotations satisfy ok.
func WaitPolicyStatus(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration, ok func(PolicyStatus) bool) (PolicyStatus, error) {
	var st PolicyStatus
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		st = PolicyStatus{ActiveHash: cm.Annotations[AnnotationActiveHash], LastError: cm.Annotations[AnnotationLastError]}
		return ok(st), nil
	})
	if err != nil {
		return st, fmt.Errorf("policy status of %s/%s: last seen %+v: %w", ns, name, st, err)
	}
	return st, nil
}

// Events returns the messages of the ConfigMap's events with the reason.
func Events(ctx context.Context, client kubernetes.Interface, ns, name, reason string) ([]string, error) {
	evs, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: "involvedObject.name=" + name + ",reason=" + reason,
	})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range evs.Items {
		out = append(out, e.Message)
	}
	return out, nil
}
