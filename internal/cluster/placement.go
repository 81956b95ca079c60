package cluster

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// Placement is what the PlacedByRule Event on a bound pod says: the node,
// the rule, and the policy (hash and per-replica generation) that placed it.
type Placement struct {
	Node       string
	Rule       string
	PolicyHash string
	Generation int64
	Message    string
}

// PlacementOf waits for the PlacedByRule Event the scheduler records on a
// pod it bound and parses it. Unlike PlacedRule it also returns the policy
// hash, so a caller can tell which version of the policy placed the pod.
func PlacementOf(ctx context.Context, client kubernetes.Interface, pod *v1.Pod, timeout time.Duration) (Placement, error) {
	var pl Placement
	sel := fields.Set{"involvedObject.name": pod.Name, "reason": "PlacedByRule"}.String()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		evs, err := client.CoreV1().Events(pod.Namespace).List(ctx, metav1.ListOptions{FieldSelector: sel})
		if err != nil {
			return false, err
		}
		for _, e := range evs.Items {
			if e.InvolvedObject.UID != "" && e.InvolvedObject.UID != pod.UID {
				continue
			}
			var p Placement
			// "Placed on <node> by rule <rule> of placement policy <hash> (generation <n>)"
			if _, err := fmt.Sscanf(e.Message, "Placed on %s by rule %s of placement policy %s (generation %d)",
				&p.Node, &p.Rule, &p.PolicyHash, &p.Generation); err != nil {
				continue
			}
			p.Message = e.Message
			pl = p
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return pl, fmt.Errorf("no PlacedByRule event on pod %s/%s within %v: %w", pod.Namespace, pod.Name, timeout, err)
	}
	return pl, nil
}
