package replicastatus

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// Publisher keeps one replica's status Lease up to date. Publish only
// records the outcome and wakes the writer goroutine, so the policy
// watcher's handler never waits on the apiserver; outcomes that arrive
// while a write is under way are coalesced into the next one.
type Publisher struct {
	client    kubernetes.Interface
	namespace string
	name      string
	identity  string
	now       func() time.Time

	mu      sync.Mutex
	state   State
	pending bool
	wake    chan struct{}
}

// NewPublisher returns a publisher of identity's Lease in namespace; Run writes it.
func NewPublisher(client kubernetes.Interface, namespace, identity string) (*Publisher, error) {
	name, err := LeaseName(identity)
	if err != nil {
		return nil, err
	}
	return &Publisher{client: client, namespace: namespace, name: name, identity: identity, now: time.Now,
		state: State{Identity: identity}, wake: make(chan struct{}, 1)}, nil
}

// Publish records the policy in force (nil: none) and the last rejection
// ("" if none) after a watcher outcome. It does not block.
func (p *Publisher) Publish(active *policystore.Active, lastErr string) {
	s := State{Identity: p.identity, LastError: lastErr}
	if active != nil {
		s.Hash, s.Generation, s.Source = active.Policy.Hash(), active.Generation, active.Source
	}
	p.mu.Lock()
	s.Changed = p.now()
	p.state, p.pending = s, true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run writes the Lease on every Publish and renews it every RenewInterval
// until ctx ends. Write errors are logged and retried at the next renewal.
func (p *Publisher) Run(ctx context.Context) {
	logger := klog.FromContext(ctx).WithValues("lease", klog.KRef(p.namespace, p.name))
	ticker := time.NewTicker(RenewInterval)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		case <-ticker.C:
		}
		p.mu.Lock()
		s, published := p.state, p.pending
		p.pending = false
		p.mu.Unlock()
		if !published && s.Changed.IsZero() {
			continue // nothing to say yet
		}
		if err := p.write(ctx, s); err != nil {
			logger.Error(err, "Could not write the replica's policy status Lease")
			continue
		}
		if published {
			logger.V(2).Info("Replica policy status written", "hash", s.Hash, "generation", s.Generation)
		}
	}
}

// write creates or updates the Lease (get, then update or create).
func (p *Publisher) write(ctx context.Context, s State) error {
	leases := p.client.CoordinationV1().Leases(p.namespace)
	l, err := leases.Get(ctx, p.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: p.namespace, Name: p.name}}
		s.apply(l, p.now())
		_, err = leases.Create(ctx, l, metav1.CreateOptions{})
	case err == nil:
		s.apply(l, p.now())
		_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
	}
	if err != nil {
		return fmt.Errorf("lease %s/%s: %w", p.namespace, p.name, err)
	}
	return nil
}

// Read lists the status Leases in namespace, sorted by identity.
func Read(ctx context.Context, client kubernetes.Interface, namespace string, now time.Time) ([]State, error) {
	list, err := client.CoordinationV1().Leases(namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelPolicyStatus + "=true"})
	if err != nil {
		return nil, fmt.Errorf("listing policy status Leases in %s: %w", namespace, err)
	}
	out := make([]State, 0, len(list.Items))
	for i := range list.Items {
		s, err := FromLease(&list.Items[i], now)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Identity < out[j].Identity })
	return out, nil
}
