package cluster

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// Placement is what a pod ml-scheduler bound says of its placement: the
// node, and the rule and policy hash its Binding's annotations carried.
type Placement struct {
	Node       string
	Rule       string
	PolicyHash string
}

// PlacementOf waits until the pod is bound and returns its placement, read
// from the annotations the apiserver copied from the Binding. A pod bound
// without them (by another binder) is an error.
func PlacementOf(ctx context.Context, client kubernetes.Interface, pod *v1.Pod, timeout time.Duration) (Placement, error) {
	var pl Placement
	var last *v1.Pod
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		last = p
		if p.Spec.NodeName == "" {
			return false, nil
		}
		pl = Placement{Node: p.Spec.NodeName, Rule: p.Annotations[mlpolicy.AnnotationRule], PolicyHash: p.Annotations[mlpolicy.AnnotationPolicyHash]}
		return true, nil
	})
	if err != nil {
		return pl, fmt.Errorf("pod %s/%s not bound within %v: %w", pod.Namespace, pod.Name, timeout, err)
	}
	if pl.Rule == "" || pl.PolicyHash == "" {
		return pl, fmt.Errorf("pod %s/%s bound to %s without the %s and %s annotations (annotations: %v): was it bound by another scheduler (spec.schedulerName %q), or by a profile that does not list MLPolicy first at bind?",
			pod.Namespace, pod.Name, pl.Node, mlpolicy.AnnotationRule, mlpolicy.AnnotationPolicyHash, last.Annotations, last.Spec.SchedulerName)
	}
	return pl, nil
}
