package simulator

import (
	"context"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/uuid"
	"k8s.io/apiserver/pkg/storage/names"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/events"
	"k8s.io/klog/v2"
	"k8s.io/kubernetes/pkg/scheduler"
	internalqueue "k8s.io/kubernetes/pkg/scheduler/backend/queue"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	"k8s.io/kubernetes/pkg/scheduler/profile"

	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// BackendInProcess and BackendCluster name Result.Backend.
const (
	BackendInProcess = "in-process"
	BackendCluster   = "cluster"
)

var podsResource = v1.SchemeGroupVersion.WithResource("pods")

// runInProcess builds the scheduler as cmd/kube-scheduler/app.Setup does,
// on a fake clientset, and replays w through it.
// atEnd, if set, is given the end state before the API goes away.
func runInProcess(ctx context.Context, w *Workload, c Configuration, s *schedulerSetup, opts Options, atEnd func(endState)) (*Result, error) {
	start := time.Now()
	ctx = klog.NewContext(ctx, opts.Log)
	client := newFakeAPI()
	// Everything the scheduler starts with is in the tracker before any
	// informer lists: nothing can be missed, and no watch channel (the fake
	// watcher's buffer is 100 events) fills up.
	if err := prepare(ctx, client, w, c, s); err != nil {
		return nil, err
	}
	stop, err := startScheduler(ctx, client, s)
	if err != nil {
		return nil, err
	}
	defer stop()
	return drive(ctx, client, w, c, s, opts, hooks{
		backend: BackendInProcess,
		// The fake clientset keeps a copy of every action; drop them.
		afterPod: client.ClearActions,
		atEnd:    atEnd,
	}, start)
}

// newFakeAPI is the in-memory API: client-go's fake clientset with what the
// scheduler needs of an apiserver.
func newFakeAPI() *fakeAPI {
	// NewSimpleClientset, not NewClientset: the field-managed tracker of
	// the latter computes managed fields on every write, which costs more
	// than the scheduling itself here and changes nothing the scheduler reads.
	client := fake.NewSimpleClientset() //nolint:staticcheck // see above
	// Writes go through a tracker giving objects resource versions; the
	// reactors below are tried before it, the default one (watches too)
	// after it.
	tracker := newVersioningTracker(client.Tracker())
	client.PrependReactor("*", "*", clienttesting.ObjectReaction(tracker))
	client.PrependReactor("create", "resourceclaims", tracker.createClaim)
	client.PrependReactor("create", "pods", bindReactor(tracker))
	client.PrependReactor("create", "*", setMetadata)
	// Events (the scheduler's Scheduled/FailedScheduling, MLPolicy's
	// PlacedByRule) are accepted but not stored: nothing in the scheduler
	// reads them back, and keeping tens of thousands in the tracker only
	// costs memory and GC time.
	for _, verb := range []string{"create", "update", "patch"} {
		client.PrependReactor(verb, "events", dropEvent)
	}
	return &fakeAPI{Clientset: client, tracker: tracker}
}

// startScheduler builds the scheduler of s on client and runs it until
// stop is called (or ctx ends); stop waits for it to end.
func startScheduler(ctx context.Context, client *fakeAPI, s *schedulerSetup) (stop func(), err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cancel()
		}
	}()
	cfg := s.cfg
	informerFactory := scheduler.NewInformerFactory(client, 0, nil)
	client.tracker.claimsSeen(informerFactory.Resource().V1().ResourceClaims().Informer().GetStore())
	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	registry := frameworkruntime.Registry{}
	if err := registry.Register(mlpolicy.Name, mlpolicy.New); err != nil {
		return nil, err
	}
	// The options of app.Setup, minus the kubeconfig and the dynamic
	// informers (no CRDs here). The deprecated flag
	// --pod-max-in-unschedulable-pods-duration keeps its default (5m).
	sched, err := scheduler.New(ctx,
		client,
		informerFactory,
		nil,
		profile.NewRecorderFactory(broadcaster),
		scheduler.WithComponentConfigVersion(cfg.TypeMeta.APIVersion),
		scheduler.WithProfiles(cfg.Profiles...),
		scheduler.WithPercentageOfNodesToScore(cfg.PercentageOfNodesToScore),
		scheduler.WithFrameworkOutOfTreeRegistry(registry),
		scheduler.WithPodMaxBackoffSeconds(cfg.PodMaxBackoffSeconds),
		scheduler.WithPodInitialBackoffSeconds(cfg.PodInitialBackoffSeconds),
		scheduler.WithPodMaxInUnschedulablePodsDuration(internalqueue.DefaultPodMaxInUnschedulablePodsDuration),
		scheduler.WithExtenders(cfg.Extenders...),
		scheduler.WithParallelism(cfg.Parallelism),
	)
	if err != nil {
		return nil, fmt.Errorf("building the scheduler: %w", err)
	}
	broadcaster.StartRecordingToSink(ctx.Done())

	// As app.Run: start the informers, wait for their sync and for the
	// handlers to have seen the initial lists, then schedule.
	informerFactory.Start(ctx.Done())
	informerFactory.WaitForCacheSync(ctx.Done())
	if err := sched.WaitForHandlersSync(ctx); err != nil {
		informerFactory.Shutdown()
		broadcaster.Shutdown()
		return nil, fmt.Errorf("scheduler handlers not synced: %w", err)
	}
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		sched.Run(ctx)
	}()
	return func() {
		cancel()
		<-stopped
		informerFactory.Shutdown()
		broadcaster.Shutdown()
	}, nil
}

// setMetadata sets what the apiserver sets on a created object and the
// scheduler relies on: a name from metadata.generateName if the object has
// none (the DynamicResources plugin creates the claims of DRA-backed
// extended resources so), a UID (its cache keys pods by UID) and a
// creationTimestamp if none was given. It lets the next reactor store it.
func setMetadata(action clienttesting.Action) (bool, runtime.Object, error) {
	create, ok := action.(clienttesting.CreateAction)
	if !ok || action.GetSubresource() != "" {
		return false, nil, nil
	}
	m, err := meta.Accessor(create.GetObject())
	if err != nil {
		return false, nil, nil
	}
	if m.GetName() == "" && m.GetGenerateName() != "" {
		m.SetName(names.SimpleNameGenerator.GenerateName(m.GetGenerateName()))
	}
	if m.GetUID() == "" {
		m.SetUID(uuid.NewUUID())
	}
	if ts := m.GetCreationTimestamp(); ts.IsZero() {
		m.SetCreationTimestamp(metav1.Now())
	}
	return false, nil, nil
}

func dropEvent(action clienttesting.Action) (bool, runtime.Object, error) {
	// Creates and updates carry the object (UpdateAction is a CreateAction
	// to a type switch: both only add GetObject to Action).
	if a, ok := action.(clienttesting.CreateAction); ok {
		return true, a.GetObject(), nil
	}
	return false, nil, nil // a patch: let the tracker answer (not found)
}

// bindReactor implements pods/binding as the apiserver does: it sets
// spec.nodeName and the PodScheduled condition, refusing a pod already bound.
func bindReactor(tracker clienttesting.ObjectTracker) clienttesting.ReactionFunc {
	return func(action clienttesting.Action) (bool, runtime.Object, error) {
		create, ok := action.(clienttesting.CreateAction)
		if !ok || action.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b, ok := create.GetObject().(*v1.Binding)
		if !ok {
			return true, nil, fmt.Errorf("pods/binding: got %T", create.GetObject())
		}
		obj, err := tracker.Get(podsResource, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*v1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, apierrors.NewConflict(podsResource.GroupResource(), b.Name,
				fmt.Errorf("pod %s is already assigned to node %q", b.Name, pod.Spec.NodeName))
		}
		pod.Spec.NodeName = b.Target.Name
		setScheduled(&pod.Status)
		if err := tracker.Update(podsResource, pod, b.Namespace); err != nil {
			return true, nil, err
		}
		return true, b, nil
	}
}

func setScheduled(s *v1.PodStatus) {
	now := metav1.Now()
	for i := range s.Conditions {
		if s.Conditions[i].Type == v1.PodScheduled {
			s.Conditions[i] = v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: now}
			return
		}
	}
	s.Conditions = append(s.Conditions, v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue, LastTransitionTime: now})
}
