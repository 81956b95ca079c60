package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/wait"
)

// configMapEvents returns the ConfigMap's Events with the reason, newest last.
func configMapEvents(ctx context.Context, reason string) ([]v1.Event, error) {
	evs, err := env.client.CoreV1().Events(policyNamespace).List(ctx, metav1.ListOptions{
		FieldSelector: fields.Set{"involvedObject.name": policyName, "reason": reason}.String(),
	})
	if err != nil {
		return nil, err
	}
	return evs.Items, nil
}

// waitConfigMapEvent waits for an Event on the policy ConfigMap with the
// reason and type whose message contains every one of want, and returns it.
func waitConfigMapEvent(t *testing.T, ctx context.Context, reason, eventType string, want ...string) v1.Event {
	t.Helper()
	var found v1.Event
	var seen []string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		evs, err := configMapEvents(ctx, reason)
		if err != nil {
			return false, err
		}
		seen = seen[:0]
	next:
		for _, e := range evs {
			seen = append(seen, e.Type+": "+e.Message)
			if e.Type != eventType {
				continue
			}
			for _, w := range want {
				if !strings.Contains(e.Message, w) {
					continue next
				}
			}
			found = e
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s Event %s on ConfigMap %s/%s containing %q; seen:\n%s", eventType, reason, policyNamespace, policyName, want, strings.Join(seen, "\n"))
	}
	return found
}
