package faults

import (
	"context"
	"fmt"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/utils/ptr"
)

// recorder sees every state of the scenario's pods through an informer,
// which lists again by itself when its watch breaks (apiserver restarted,
// etcd restarted, a frozen apiserver's connection dropped). It keeps every
// distinct nodeName and UID each pod ever showed, when it was first seen
// bound, and which pods were deleted.
type recorder struct {
	mu      sync.Mutex
	pods    map[string]*podRecord
	deleted []string
	stop    context.CancelFunc
	// client and selector list the pods (listOnce): waits do not rely on
	// the watch alone.
	client   kubernetes.Interface
	selector string
}

type podRecord struct {
	nodes      []string
	uids       []types.UID
	firstBound time.Time // when the informer first showed it bound
}

// startRecorder starts the recorder on the scenario's pods (label
// scenarioLabel=short) and returns once its cache synced.
func startRecorder(ctx context.Context, c kubernetes.Interface, short string) (*recorder, error) {
	ctx, cancel := context.WithCancel(ctx)
	r := &recorder{pods: map[string]*podRecord{}, stop: cancel, client: c, selector: scenarioLabel + "=" + short}
	f := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
		o.LabelSelector = scenarioLabel + "=" + short
		// Each watch ends after 30 s and the reflector watches on from
		// where it was (or lists again). Without it, a watch open across
		// a SIGSTOP of the apiserver once delivered nothing more after
		// SIGCONT, until the reflector's own 5-10 minute timeout.
		o.TimeoutSeconds = ptr.To[int64](30)
	}))
	inf := f.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    r.observe,
		UpdateFunc: func(_, obj any) { r.observe(obj) },
		DeleteFunc: func(obj any) {
			if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = tomb.Obj
			}
			if p, ok := obj.(*v1.Pod); ok {
				r.mu.Lock()
				r.deleted = append(r.deleted, p.Namespace+"/"+p.Name)
				r.mu.Unlock()
			}
		},
	}); err != nil {
		cancel()
		return nil, err
	}
	f.Start(ctx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), inf.HasSynced) {
		cancel()
		return nil, fmt.Errorf("pod informer did not sync")
	}
	return r, nil
}

func (r *recorder) observe(obj any) {
	p, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	now := time.Now()
	key := p.Namespace + "/" + p.Name
	r.mu.Lock()
	defer r.mu.Unlock()
	rec := r.pods[key]
	if rec == nil {
		rec = &podRecord{}
		r.pods[key] = rec
	}
	if n := len(rec.uids); n == 0 || rec.uids[n-1] != p.UID {
		rec.uids = append(rec.uids, p.UID)
	}
	if p.Spec.NodeName == "" {
		return
	}
	if n := len(rec.nodes); n == 0 || rec.nodes[n-1] != p.Spec.NodeName {
		rec.nodes = append(rec.nodes, p.Spec.NodeName)
	}
	if rec.firstBound.IsZero() {
		rec.firstBound = now
	}
}

// bound is how many pods the recorder has seen bound.
func (r *recorder) bound() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, rec := range r.pods {
		if len(rec.nodes) > 0 {
			n++
		}
	}
	return n
}

// listOnce records every pod a List shows (a read that does not depend on
// the watch): after a SIGSTOP of kube-apiserver, the recorder's watch was
// seen to deliver nothing more for minutes although the pods were bound
// (the schedulers' own informers kept up). A pod's nodeName seen by either
// way is recorded, so a pod bound twice still shows two nodes.
func (r *recorder) listOnce(ctx context.Context) {
	list, err := r.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{LabelSelector: r.selector})
	if err != nil {
		return // the apiserver may be away: the next poll lists again
	}
	for i := range list.Items {
		r.observe(&list.Items[i])
	}
}

// waitBound waits until at least n pods were seen bound, by the watch or
// by a List every 2 s.
func (r *recorder) waitBound(ctx context.Context, n int, timeout time.Duration) error {
	last := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if r.bound() >= n {
			return true, nil
		}
		if time.Since(last) >= 2*time.Second {
			r.listOnce(ctx)
			last = time.Now()
		}
		return r.bound() >= n, nil
	})
	if err != nil {
		return fmt.Errorf("%d of %d pods bound after %v: %w", r.bound(), n, timeout, err)
	}
	return nil
}

// boundSet is the pods seen bound so far.
func (r *recorder) boundSet() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]bool{}
	for k, rec := range r.pods {
		if len(rec.nodes) > 0 {
			out[k] = true
		}
	}
	return out
}

// waitNewBinding waits for a pod not in before to be seen bound at or
// after since, and returns when it was seen first.
func (r *recorder) waitNewBinding(ctx context.Context, since time.Time, before map[string]bool, timeout time.Duration) (time.Time, error) {
	var at time.Time
	last := time.Now()
	err := wait.PollUntilContextTimeout(ctx, 20*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		// As in waitBound; a binding first seen by a List is timed when
		// listed (up to 2 s late).
		if time.Since(last) >= 2*time.Second {
			r.listOnce(ctx)
			last = time.Now()
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for k, rec := range r.pods {
			if !before[k] && !rec.firstBound.IsZero() && !rec.firstBound.Before(since) && (at.IsZero() || rec.firstBound.Before(at)) {
				at = rec.firstBound
			}
		}
		return !at.IsZero(), nil
	})
	if err != nil {
		return at, fmt.Errorf("no new binding within %v: %w", timeout, err)
	}
	return at, nil
}

// snapshot copies the records and the deleted pods.
func (r *recorder) snapshot() (map[string]podRecord, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]podRecord, len(r.pods))
	for k, rec := range r.pods {
		out[k] = podRecord{nodes: append([]string(nil), rec.nodes...), uids: append([]types.UID(nil), rec.uids...), firstBound: rec.firstBound}
	}
	return out, append([]string(nil), r.deleted...)
}
