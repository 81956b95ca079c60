// Package policywatch keeps the placement policy in force in step with one
// ConfigMap: every change is decoded, validated and compiled, then either
// swapped in or rejected while the last good policy stays in force. The
// outcome is told where an admin looks: the log, an Event on the ConfigMap,
// metrics and status annotations on the ConfigMap itself.
package policywatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

// Event reasons on the policy ConfigMap.
const (
	ReasonApplied  = "PolicyApplied"
	ReasonRejected = "PolicyRejected"
	ReasonDeleted  = "PolicyConfigMapDeleted"
)

// Options configure a Watcher.
type Options struct {
	Client    kubernetes.Interface
	Namespace string
	Name      string
	Key       string
	Store     *policystore.Store
	// SyncTimeout bounds how long Start waits for the ConfigMap's first state.
	SyncTimeout time.Duration
}

// Watcher follows one ConfigMap. Its handlers run on one informer goroutine,
// so the fields below need no lock.
type Watcher struct {
	opts     Options
	recorder events.EventRecorder
	source   string
	// lastData is the hash of the last policy text processed, so status-only
	// updates of the ConfigMap (our own annotations) are not re-processed.
	lastData string
	// lastErr is the last rejection message, shown until a policy is applied.
	lastErr string
	// replica publishes this replica's outcome (replica.go); nil: not published.
	replica *replicastatus.Publisher
}

// New returns a watcher; Start runs it.
func New(opts Options) *Watcher {
	if opts.SyncTimeout == 0 {
		opts.SyncTimeout = 30 * time.Second
	}
	return &Watcher{opts: opts, source: fmt.Sprintf("configmap %s/%s", opts.Namespace, opts.Name)}
}

// Start watches the ConfigMap until ctx ends. It returns once the
// ConfigMap's current state has been processed, or SyncTimeout passed.
func (w *Watcher) Start(ctx context.Context) error {
	logger := klog.FromContext(ctx).WithValues("configMap", klog.KRef(w.opts.Namespace, w.opts.Name))
	ctx = klog.NewContext(ctx, logger)

	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: w.opts.Client.EventsV1()})
	broadcaster.StartRecordingToSink(ctx.Done())
	w.recorder = broadcaster.NewRecorder(scheme.Scheme, "ml-scheduler")
	w.startReplicaStatus(ctx)

	// Only this ConfigMap is listed and watched, so RBAC can grant list/watch
	// on this one name.
	factory := informers.NewSharedInformerFactoryWithOptions(w.opts.Client, 0,
		informers.WithNamespace(w.opts.Namespace),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", w.opts.Name).String()
		}))
	informer := factory.Core().V1().ConfigMaps().Informer()
	reg, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj interface{}) { w.onChange(ctx, obj) },
		UpdateFunc: func(_, obj interface{}) { w.onChange(ctx, obj) },
		DeleteFunc: func(obj interface{}) { w.onDelete(ctx, obj) },
	})
	if err != nil {
		return fmt.Errorf("watching %s: %w", w.source, err)
	}
	factory.Start(ctx.Done())
	syncCtx, cancel := context.WithTimeout(ctx, w.opts.SyncTimeout)
	defer cancel()
	// The registration's HasSynced also waits for our handler to have
	// processed the initial list, so the policy is in force on return.
	if !cache.WaitForCacheSync(syncCtx.Done(), reg.HasSynced) {
		logger.Error(nil, "Policy ConfigMap not synced in time; scheduling goes on with the policy in force (if any) and the watch keeps trying", "timeout", w.opts.SyncTimeout)
		return nil
	}
	if _, exists, _ := informer.GetStore().GetByKey(w.opts.Namespace + "/" + w.opts.Name); !exists {
		logger.Info("Policy ConfigMap does not exist yet; waiting for it", "policyInForce", w.opts.Store.Load() != nil)
		if w.replica != nil {
			w.replica.Publish(w.opts.Store.Load(), "")
		}
	}
	return nil
}

func (w *Watcher) onChange(ctx context.Context, obj interface{}) {
	cm, ok := obj.(*v1.ConfigMap)
	if !ok {
		return
	}
	logger := klog.FromContext(ctx)
	data, found := cm.Data[w.opts.Key]
	sum := sha256.Sum256([]byte(data))
	dataHash := hex.EncodeToString(sum[:8])
	if !found {
		dataHash = "key-missing"
	}
	if dataHash == w.lastData {
		return
	}
	w.lastData = dataHash

	active := w.opts.Store.Load()
	var compiled *policy.Compiled
	err := fmt.Errorf("data key %q not found in the ConfigMap: put the policy under that key, or set the MLPolicy args' policyConfigMapKey to the key it is under", w.opts.Key)
	if found {
		compiled, err = policy.Load([]byte(data))
	}
	switch {
	case err != nil:
		w.lastErr = err.Error()
		policystore.RecordReload(policystore.ResultRejected)
		kept := "no policy is in force: pods of this scheduler stay pending"
		if active != nil {
			kept = fmt.Sprintf("policy %s (generation %d) stays in force", active.Policy.Hash(), active.Generation)
		}
		logger.Error(err, "Placement policy rejected", "kept", kept)
		if w.writeStatus(ctx, cm, active) {
			w.event(cm, v1.EventTypeWarning, ReasonRejected, "Placement policy rejected; %s: %s", kept, trim(err.Error()))
		}
	case active != nil && active.Policy.Hash() == compiled.Hash():
		w.lastErr = ""
		policystore.RecordReload(policystore.ResultUnchanged)
		logger.V(2).Info("Placement policy unchanged", "hash", compiled.Hash())
		w.writeStatus(ctx, cm, active)
	default:
		w.lastErr = ""
		next := w.opts.Store.Swap(compiled, w.source)
		policystore.RecordReload(policystore.ResultApplied)
		logger.Info("Placement policy applied", "hash", compiled.Hash(), "generation", next.Generation, "rules", compiled.RuleCount(), "pools", len(compiled.Pools))
		if w.writeStatus(ctx, cm, next) {
			w.event(cm, v1.EventTypeNormal, ReasonApplied, "Placement policy %s applied (%d rules, %d pools)", compiled.Hash(), compiled.RuleCount(), len(compiled.Pools))
		}
	}
	w.publishReplicaStatus()
}

func (w *Watcher) onDelete(ctx context.Context, obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	cm, ok := obj.(*v1.ConfigMap)
	if !ok {
		return
	}
	w.lastData = ""
	policystore.RecordReload(policystore.ResultDeleted)
	active := w.opts.Store.Load()
	kept := "no policy was in force"
	if active != nil {
		kept = fmt.Sprintf("policy %s (generation %d) stays in force", active.Policy.Hash(), active.Generation)
	}
	klog.FromContext(ctx).Info("Warning: placement policy ConfigMap deleted", "kept", kept)
	w.event(cm, v1.EventTypeWarning, ReasonDeleted, "Placement policy ConfigMap deleted; %s until it is recreated", kept)
	w.publishReplicaStatus()
}

func (w *Watcher) event(cm *v1.ConfigMap, eventType, reason, note string, args ...interface{}) {
	w.recorder.Eventf(cm, nil, eventType, reason, "LoadPolicy", note, args...)
}

// trim keeps an event note under the API's 1 KiB limit.
func trim(s string) string {
	const max = 900
	if len(s) > max {
		return s[:max] + "…"
	}
	return s
}
