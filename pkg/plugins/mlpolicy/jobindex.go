package mlpolicy

import (
	"context"
	"fmt"
	"maps"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"

	"github.com/ml-scheduler/ml-scheduler/pkg/policy"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

var _ fwk.ReservePlugin = &MLPolicy{}

// jobIndex finds the placed pods of a job — same namespace, same value of a
// colocate rule's jobLabel — without walking the cluster's pods, so that
// colocation costs PreScore the job's pod count, not the cluster's.
//
// Bound pods are found through an index of the scheduler's own pod informer
// store (client-go's cache.Indexer, as the DynamicResources plugin indexes
// pods by claim): one index per jobLabel key, from namespace/job to the pods
// with spec.nodeName. The store maintains it under its own lock, in step
// with every add, update (a new node or job value) and delete, before any
// event handler runs; an index added while the informer runs is built from
// the store's pods at once. Indexes cannot be removed, so every jobLabel key
// that a policy colocated on stays indexed for the life of the scheduler:
// the price is one map entry per pod carrying that label, and a policy that
// brings a key back finds it ready.
//
// Pods this scheduler assumed but has not bound yet (in the binding cycle,
// or waiting at Permit) are not in the store with a node: Reserve adds them
// here (assumed), Unreserve removes them, and so does the informer showing
// the pod bound or deleted. A pod both assumed and in the store counts once,
// where the store has it. The scheduler's snapshot, which the per-pod walk
// this replaces read, holds the same two kinds of pods.
type jobIndex struct {
	store cache.Indexer

	mu sync.Mutex
	// indexes maps each indexed jobLabel key to its index's name in store.
	indexes map[string]string
	assumed map[types.UID]*assumedPod
	// assumedByJob holds, per job, its assumed pods and the node of each.
	assumedByJob map[jobKey]map[types.UID]string
}

// jobKey names a job: a namespace, a jobLabel key and its value.
type jobKey struct {
	namespace, label, job string
}

type assumedPod struct {
	pod  *v1.Pod
	node string
	// jobs are the pod's keys in assumedByJob, one per indexed jobLabel key it has.
	jobs []jobKey
}

// newJobIndex builds the index over the handle's pod informer (a private
// store when the handle has none, as in unit tests that fill it themselves)
// and indexes the jobLabel keys of every policy the store swaps in.
func newJobIndex(logger klog.Logger, h fwk.Handle, ps *policystore.Store) (*jobIndex, error) {
	var ix *jobIndex
	if f := h.SharedInformerFactory(); f != nil {
		informer := f.Core().V1().Pods().Informer()
		ix = newJobIndexOn(informer.GetIndexer())
		if _, err := informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    ix.onPod,
			UpdateFunc: func(_, obj interface{}) { ix.onPod(obj) },
			DeleteFunc: ix.onPodDelete,
		}); err != nil {
			return nil, fmt.Errorf("watching pods for the job index: %w", err)
		}
	} else {
		ix = newJobIndexOn(cache.NewIndexer(cache.MetaNamespaceKeyFunc, cache.Indexers{}))
	}
	// A key is indexed here, as the policy that needs it is swapped in, so
	// that the first pod scored under it does not pay for indexing the
	// cluster's pods; PreScore indexes a key it finds missing all the same
	// (it may see the new policy before this subscriber ran).
	ps.Subscribe(func(a *policystore.Active) {
		if err := ix.indexPolicy(a.Policy); err != nil {
			logger.Error(err, "Indexing pods by the policy's colocate jobLabel keys", "generation", a.Generation)
		}
	})
	return ix, nil
}

// newJobIndexOn returns an index over the pod store, with no key indexed yet.
func newJobIndexOn(store cache.Indexer) *jobIndex {
	return &jobIndex{
		store:        store,
		indexes:      map[string]string{},
		assumed:      map[types.UID]*assumedPod{},
		assumedByJob: map[jobKey]map[types.UID]string{},
	}
}

// indexPolicy indexes the jobLabel keys of the policy's colocate rules.
func (ix *jobIndex) indexPolicy(p *policy.Compiled) error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, r := range p.Rules {
		if r.Colocate != nil {
			if _, err := ix.indexLocked(r.Colocate.JobLabel); err != nil {
				return err
			}
		}
	}
	if r := p.Default; r != nil && r.Colocate != nil {
		if _, err := ix.indexLocked(r.Colocate.JobLabel); err != nil {
			return err
		}
	}
	return nil
}

// indexLocked returns the name of the store's index for the jobLabel key,
// adding the index (built from the store's pods) and the assumed pods'
// entries for the key the first time. Called with mu held.
func (ix *jobIndex) indexLocked(label string) (string, error) {
	if name, ok := ix.indexes[label]; ok {
		return name, nil
	}
	name := "ml-scheduler.io/colocate-job:" + label
	// Another profile's MLPolicy may share the informer and have added it.
	if _, err := ix.store.IndexKeys(name, ""); err != nil {
		if err := ix.store.AddIndexers(cache.Indexers{name: jobIndexFunc(label)}); err != nil {
			if _, again := ix.store.IndexKeys(name, ""); again != nil {
				return "", fmt.Errorf("indexing pods by %s: %w", label, err)
			}
		}
	}
	ix.indexes[label] = name
	for uid, a := range ix.assumed {
		if job, ok := a.pod.Labels[label]; ok {
			ix.addAssumedLocked(uid, a, jobKey{a.pod.Namespace, label, job})
		}
	}
	return name, nil
}

// jobIndexFunc indexes a pod with a node and the jobLabel key by
// namespace/job. Pods that ended are left out, as the scheduler's own pod
// informer leaves them out (and so its snapshot).
func jobIndexFunc(label string) cache.IndexFunc {
	return func(obj interface{}) ([]string, error) {
		pod, ok := obj.(*v1.Pod)
		if !ok || pod.Spec.NodeName == "" || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed {
			return nil, nil
		}
		job, ok := pod.Labels[label]
		if !ok {
			return nil, nil
		}
		return []string{jobIndexValue(pod.Namespace, job)}, nil
	}
}

// jobIndexValue: neither a namespace nor a label value can hold a '/'.
func jobIndexValue(namespace, job string) string { return namespace + "/" + job }

// eachNode calls fn with the node of each placed pod of the job (several
// times for a node with several of its pods). Its cost is the job's pod
// count: the store's index yields the job's bound pods, the job's assumed
// pods are kept apart.
func (ix *jobIndex) eachNode(namespace, label, job string, fn func(node string)) error {
	ix.mu.Lock()
	name, err := ix.indexLocked(label)
	var assumed map[types.UID]string
	if m := ix.assumedByJob[jobKey{namespace, label, job}]; len(m) > 0 {
		assumed = maps.Clone(m)
	}
	ix.mu.Unlock()
	if err != nil {
		return err
	}
	// Read after the assumed pods: a pod bound in between is in both and
	// counts once, here; a pod in neither was unreserved or deleted.
	bound, err := ix.store.ByIndex(name, jobIndexValue(namespace, job))
	if err != nil {
		return err
	}
	for _, obj := range bound {
		if pod, ok := obj.(*v1.Pod); ok {
			delete(assumed, pod.UID)
			fn(pod.Spec.NodeName)
		}
	}
	for _, node := range assumed {
		fn(node)
	}
	return nil
}

// assume records the pod as placed on node until it is bound, deleted or unreserved.
func (ix *jobIndex) assume(pod *v1.Pod, node string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.forgetLocked(pod.UID)
	// Every assumed pod is kept, with a job label or not: a policy swapped
	// in before it is bound may colocate on a key it has.
	a := &assumedPod{pod: pod, node: node}
	ix.assumed[pod.UID] = a
	for label := range ix.indexes {
		if job, ok := pod.Labels[label]; ok {
			ix.addAssumedLocked(pod.UID, a, jobKey{pod.Namespace, label, job})
		}
	}
}

func (ix *jobIndex) addAssumedLocked(uid types.UID, a *assumedPod, k jobKey) {
	a.jobs = append(a.jobs, k)
	m := ix.assumedByJob[k]
	if m == nil {
		m = map[types.UID]string{}
		ix.assumedByJob[k] = m
	}
	m[uid] = a.node
}

// forget drops the pod's assumed entry, if any.
func (ix *jobIndex) forget(uid types.UID) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	ix.forgetLocked(uid)
}

func (ix *jobIndex) forgetLocked(uid types.UID) {
	a, ok := ix.assumed[uid]
	if !ok {
		return
	}
	for _, k := range a.jobs {
		m := ix.assumedByJob[k]
		delete(m, uid)
		if len(m) == 0 {
			delete(ix.assumedByJob, k)
		}
	}
	delete(ix.assumed, uid)
}

// onPod: once the informer shows the pod bound, the store counts it. (A
// handler runs after the store holds the object it is given.)
func (ix *jobIndex) onPod(obj interface{}) {
	if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
		ix.forget(pod.UID)
	}
}

func (ix *jobIndex) onPodDelete(obj interface{}) {
	if tomb, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = tomb.Obj
	}
	if pod, ok := obj.(*v1.Pod); ok {
		ix.forget(pod.UID)
	}
}

// Reserve counts the pod on its node for colocation from now on, before
// the informer shows it bound: the next pods of its job are drawn to it.
func (pl *MLPolicy) Reserve(_ context.Context, _ fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	pl.jobs.assume(pod, nodeName)
	return nil
}

// Unreserve stops counting the pod, unless the informer has it bound.
func (pl *MLPolicy) Unreserve(_ context.Context, _ fwk.CycleState, pod *v1.Pod, _ string) {
	pl.jobs.forget(pod.UID)
}
