package simulator

import (
	"context"
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

// ClusterOptions tune RunOnCluster.
type ClusterOptions struct {
	Options
	// PolicyTimeout bounds the wait for the scheduler to apply the policy
	// written into its ConfigMap (default 60s).
	PolicyTimeout time.Duration
	// Settle is waited after the nodes are created, so the scheduler's
	// informers have them before the first pod (default 2s).
	Settle time.Duration
}

// RunOnCluster replays w on a real apiserver through client, where a
// scheduler process started with c.SchedulerConfig already runs (the
// simulator does not start it): it creates the namespaces, the policy
// ConfigMap if c.Policy is set (and waits until the scheduler reports it
// applied), the nodes with their status and the running pods, then the
// queue pods one at a time as Run does, waiting on a watch for each to be
// bound or reported unschedulable. The cluster should hold no other nodes.
func RunOnCluster(ctx context.Context, client kubernetes.Interface, w *Workload, c Configuration, opts ClusterOptions) (*Result, error) {
	start := time.Now()
	s, err := c.resolve()
	if err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	o := opts.Options.withDefaults()
	if opts.PolicyTimeout == 0 {
		opts.PolicyTimeout = 60 * time.Second
	}
	if opts.Settle == 0 {
		opts.Settle = 2 * time.Second
	}
	ctx = klog.NewContext(ctx, o.Log)
	if err := prepare(ctx, client, w, c, s); err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	if len(c.Policy) > 0 {
		compiled, err := policy.Load(c.Policy)
		if err != nil {
			return nil, fmt.Errorf("configuration %q: placement policy: %w", c.Name, err)
		}
		if err := waitPolicyApplied(ctx, client, s, compiled.Hash(), opts.PolicyTimeout); err != nil {
			return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
		}
	}
	select {
	case <-time.After(opts.Settle):
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	res, err := drive(ctx, client, w, c, s, o, hooks{backend: BackendCluster}, start)
	if err != nil {
		return nil, fmt.Errorf("configuration %q: %w", c.Name, err)
	}
	return res, nil
}

// waitPolicyApplied waits until the scheduler has written, on the policy
// ConfigMap, that the policy of this hash is in force.
func waitPolicyApplied(ctx context.Context, client kubernetes.Interface, s *schedulerSetup, hash string, timeout time.Duration) error {
	a := s.mlPolicy
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		cm, err := client.CoreV1().ConfigMaps(a.PolicyConfigMapNamespace).Get(ctx, a.PolicyConfigMapName, metav1.GetOptions{})
		if err != nil {
			last = err.Error()
			return false, nil
		}
		if got := cm.Annotations[policywatch.AnnotationActiveHash]; got == hash {
			return true, nil
		} else if msg := cm.Annotations[policywatch.AnnotationLastError]; msg != "" {
			last = "the scheduler rejected the policy: " + msg
		} else {
			last = fmt.Sprintf("annotation %s is %q, want %q", policywatch.AnnotationActiveHash, got, hash)
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("the scheduler did not apply the policy in ConfigMap %s/%s within %s (%s): is it running with this configuration?",
			a.PolicyConfigMapNamespace, a.PolicyConfigMapName, timeout, last)
	}
	return nil
}
