package simulator

import (
	"context"
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// The replay driver below is shared by both backends: it only talks to a
// kubernetes.Interface (the fake clientset in-process, a real apiserver's
// client for RunOnCluster).

// prepare creates what must exist before the queue is replayed: the
// namespaces, the policy ConfigMap, the DRA objects (prepareDRA), the nodes
// (with their status) and the running pods.
func prepare(ctx context.Context, client kubernetes.Interface, w *Workload, c Configuration, s *schedulerSetup) error {
	namespaces := map[string]bool{}
	for _, p := range append(append([]*v1.Pod{}, w.Running...), w.Pods...) {
		namespaces[namespaceOf(p)] = true
	}
	if len(c.Policy) > 0 {
		namespaces[s.mlPolicy.PolicyConfigMapNamespace] = true
	}
	for _, c := range w.ResourceClaims {
		namespaces[c.Namespace] = true
	}
	delete(namespaces, "")
	for _, ns := range sortedKeys(namespaces) {
		_, err := client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("creating namespace %s: %w", ns, err)
		}
	}
	if len(c.Policy) > 0 {
		if err := putPolicy(ctx, client, s, c.Policy); err != nil {
			return err
		}
	}
	if err := prepareDRA(ctx, client, w); err != nil {
		return err
	}
	// The apiserver lists nodes by name; the fake tracker does too. Create
	// them in that order so a watching scheduler sees them in it as well.
	nodes := append([]*v1.Node{}, w.Nodes...)
	sort.SliceStable(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	for _, n := range nodes {
		n = cleanNode(n)
		created, err := client.CoreV1().Nodes().Create(ctx, n, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("creating node %s: %w", n.Name, err)
		}
		if len(created.Status.Allocatable) == 0 && len(n.Status.Allocatable) > 0 {
			// A real apiserver drops the status of a created node.
			created.Status = n.Status
			if _, err := client.CoreV1().Nodes().UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
				return fmt.Errorf("writing the status of node %s: %w", n.Name, err)
			}
		}
	}
	for _, p := range w.Running {
		p = cleanPod(p)
		if p.Spec.NodeName == "" {
			return fmt.Errorf("running pod %s/%s has no spec.nodeName", p.Namespace, p.Name)
		}
		if _, err := client.CoreV1().Pods(p.Namespace).Create(ctx, p, metav1.CreateOptions{}); err != nil {
			return fmt.Errorf("creating running pod %s/%s: %w", p.Namespace, p.Name, err)
		}
	}
	return nil
}

// putPolicy creates or replaces the policy ConfigMap the MLPolicy args name.
func putPolicy(ctx context.Context, client kubernetes.Interface, s *schedulerSetup, policy []byte) error {
	a := s.mlPolicy
	cms := client.CoreV1().ConfigMaps(a.PolicyConfigMapNamespace)
	cm := &v1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: a.PolicyConfigMapNamespace, Name: a.PolicyConfigMapName},
		Data:       map[string]string{a.PolicyConfigMapKey: string(policy)},
	}
	_, err := cms.Create(ctx, cm, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		var old *v1.ConfigMap
		if old, err = cms.Get(ctx, cm.Name, metav1.GetOptions{}); err == nil {
			old.Data = cm.Data
			_, err = cms.Update(ctx, old, metav1.UpdateOptions{})
		}
	}
	if err != nil {
		return fmt.Errorf("writing the policy ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err)
	}
	return nil
}

// hooks adapt the driver to a backend.
type hooks struct {
	backend string
	// afterPod runs after each replayed pod.
	afterPod func()
	// atEnd, if set, is given the end state.
	atEnd func(endState)
}

// endState is the API's pods and ResourceClaims at the end of a replay
// (claims are listed only for DRA GPUs).
type endState struct {
	pods   []*v1.Pod
	claims []resourceapi.ResourceClaim
}

// drive replays w's queue through a scheduler serving s.schedulerName on
// client's API: pod i is created once pod i-1 is bound or reported
// unschedulable; a pod group's PodGroup and pods are created together once
// the arrival before is settled (replaySteps). The nodes and running pods
// are already there (prepare).
// start is when the run began (Result.WallSeconds counts from it).
func drive(ctx context.Context, client kubernetes.Interface, w *Workload, c Configuration, s *schedulerSetup, opts Options, h hooks, start time.Time) (*Result, error) {
	gpus := newGPUCounter(w, opts.GPUResource)
	t := &tracker{gpus: gpus, pods: map[string]*podState{}, changed: make(chan struct{})}
	running := make([]*podState, len(w.Running))
	for i, p := range w.Running {
		running[i] = t.add(p)
	}
	steps, err := replaySteps(w)
	if err != nil {
		return nil, err
	}
	claims, _ := claimSchedule(w)
	queue := make([]*v1.Pod, len(w.Pods))
	states := make([]*podState, len(w.Pods))
	for i, p := range w.Pods {
		queue[i] = queuePod(p, s.schedulerName)
		states[i] = t.add(queue[i])
	}

	factory := informers.NewSharedInformerFactory(client, 0)
	informer := factory.Core().V1().Pods().Informer()
	if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    t.observe,
		UpdateFunc: func(_, obj interface{}) { t.observe(obj) },
	}); err != nil {
		return nil, err
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer func() {
		stopWatch()
		factory.Shutdown()
	}()
	factory.Start(watchCtx.Done())
	if !cache.WaitForCacheSync(ctx.Done(), informer.HasSynced) {
		return nil, fmt.Errorf("pod informer did not sync: %w", ctx.Err())
	}
	// The running pods are bound: wait until the informer has seen them all.
	for _, st := range running {
		select {
		case <-st.done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}

	clusterGPUs := int64(0)
	for _, n := range w.Nodes {
		clusterGPUs += gpus.nodeGPUs(n)
	}
	r := newRecorder(w, c, s, opts, h.backend, gpus, clusterGPUs)
	demand := int64(0)
	for _, st := range running {
		demand += st.gpus
	}
	t.mu.Lock()
	r.point(0, demand, t.allocated)
	t.mu.Unlock()

	unschedulable, done := 0, 0
	var allocated int64
	timer := time.NewTimer(opts.PodTimeout)
	defer timer.Stop()
	for _, stp := range steps {
		if err := createStep(ctx, client, stp, queue, claims); err != nil {
			return nil, err
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(opts.PodTimeout)
		if err := awaitStep(ctx, timer.C, stp, queue, states, t, opts.PodTimeout, s.schedulerName); err != nil {
			return nil, err
		}
		before := done
		for _, i := range stp.pods {
			st := states[i]
			demand += st.gpus
			t.mu.Lock()
			failed := st.unschedulable
			allocated = t.allocated
			t.mu.Unlock()
			if failed {
				unschedulable++
				r.failed(i, demand, allocated)
			}
		}
		done += len(stp.pods)
		// One pod at a time, a point every CurveEvery pods; a group may
		// step over a multiple of CurveEvery.
		if done/opts.CurveEvery > before/opts.CurveEvery || done == len(queue) {
			r.point(done, demand, allocated)
		}
		if h.afterPod != nil {
			h.afterPod()
		}
		if opts.Progress != nil {
			opts.Progress(Progress{Workload: w.Name, Configuration: c.Name, Done: done, Total: len(queue),
				Unschedulable: unschedulable, Elapsed: time.Since(start)})
		}
	}

	// The end state, from the API: a pod reported unschedulable may have
	// been bound since.
	final := map[string]string{}
	var end []*v1.Pod
	for _, ns := range namespacesOf(append(append([]*v1.Pod{}, queue...), w.Running...)) {
		list, err := client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing pods in %s: %w", ns, err)
		}
		for i := range list.Items {
			final[keyOf(&list.Items[i])] = list.Items[i].Spec.NodeName
			end = append(end, &list.Items[i])
		}
	}
	t.mu.Lock()
	for i, p := range queue {
		r.pod(i, p, final[keyOf(p)], states[i].unschedulable, states[i].message)
	}
	t.mu.Unlock()
	e := endState{pods: end}
	if gpus.sharing {
		list, err := client.ResourceV1().ResourceClaims(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("listing ResourceClaims: %w", err)
		}
		e.claims = list.Items
		r.sharingMetrics(e)
	}
	if h.atEnd != nil {
		h.atEnd(e)
	}
	return r.finish(time.Since(start)), nil
}
