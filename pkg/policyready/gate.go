// Package policyready keeps a scheduler from reporting ready, and from
// running for leader, until each MLPolicy profile has a valid placement
// policy in force.
//
// kube-scheduler v1.37 offers plugins no readiness check of their own, but
// before its /readyz passes (check sched-handler-sync) and before it runs
// for leader it waits for every informer of its shared informer factory to
// have synced (cmd/kube-scheduler/app/server.go,
// startInformersAndWaitForSync). Register puts a Gate in that factory: an
// informer of nothing whose sync is "a valid policy is in force". A
// replica whose policy ConfigMap holds a broken policy at start-up thus
// stays unready and does not lead (a rolling update stops there, the old
// replicas keep scheduling), and becomes ready once the ConfigMap is fixed.
// Once a policy is in force the gate stays open: a later bad edit is
// refused and the good policy stays in force (pkg/policywatch).
package policyready

import (
	"context"
	"sync"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// CheckName names the gate where the informer machinery names what it waits for.
const CheckName = "ml-scheduler placement policy in force"

// Gate is the factory's informer that syncs when every registered policy
// store holds a policy. Only the methods an informer factory calls are
// implemented (RunWithContext, Run, HasSynced, HasSyncedChecker,
// SetTransform, IsStopped, LastSyncResourceVersion); nothing else may use
// it as an informer.
type Gate struct {
	cache.SharedIndexInformer

	mu      sync.Mutex
	waiting int
	// started: the factory runs the gate. The gate opens only then, so
	// that every profile (each registers while the scheduler is built,
	// before its informers start) is counted first.
	started, stopped bool
	done             chan struct{}
}

// gateKey is the object type the Gate is registered under in the factory
// (InformerFor keys informers by the type of an object).
type gateKey struct{ metav1.TypeMeta }

func (k *gateKey) DeepCopyObject() runtime.Object { c := *k; return &c }

// Register adds store to the gate of factory, creating the gate on the
// first call, and returns the gate.
func Register(factory informers.SharedInformerFactory, store *policystore.Store) *Gate {
	inf := factory.InformerFor(&gateKey{}, func(kubernetes.Interface, time.Duration) cache.SharedIndexInformer {
		return &Gate{done: make(chan struct{})}
	})
	g := inf.(*Gate)
	g.add(store)
	return g
}

func (g *Gate) add(store *policystore.Store) {
	g.mu.Lock()
	g.waiting++
	g.mu.Unlock()
	var once sync.Once
	// Subscribe calls back at once if a policy is already in force.
	store.Subscribe(func(a *policystore.Active) {
		if a != nil {
			once.Do(g.release)
		}
	})
}

func (g *Gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting--
	g.openLocked()
}

func (g *Gate) openLocked() {
	if g.started && g.waiting == 0 && !g.Ready() {
		close(g.done)
	}
}

// Ready reports whether every registered store has had a policy in force.
func (g *Gate) Ready() bool {
	select {
	case <-g.done:
		return true
	default:
		return false
	}
}

// RunWithContext has nothing to watch: it opens the gate if every store
// has a policy already, and returns when ctx ends.
func (g *Gate) RunWithContext(ctx context.Context) {
	g.mu.Lock()
	g.started = true
	g.openLocked()
	g.mu.Unlock()
	<-ctx.Done()
	g.mu.Lock()
	g.stopped = true
	g.mu.Unlock()
}

// Run is RunWithContext with a stop channel.
func (g *Gate) Run(stop <-chan struct{}) { g.RunWithContext(wait.ContextForChannel(stop)) }

// HasSynced reports Ready.
func (g *Gate) HasSynced() bool { return g.Ready() }

// HasSyncedChecker completes when Ready.
func (g *Gate) HasSyncedChecker() cache.DoneChecker { return checker{g.done} }

// SetTransform has no objects to transform.
func (g *Gate) SetTransform(cache.TransformFunc) error { return nil }

// IsStopped reports whether RunWithContext has returned.
func (g *Gate) IsStopped() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.stopped
}

// LastSyncResourceVersion: the gate lists nothing.
func (g *Gate) LastSyncResourceVersion() string { return "" }

type checker struct{ done chan struct{} }

func (c checker) Name() string          { return CheckName }
func (c checker) Done() <-chan struct{} { return c.done }
