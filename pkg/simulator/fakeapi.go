package simulator

import (
	"strconv"
	"sync/atomic"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/client-go/tools/cache"
)

// versioningTracker is the fake clientset's object tracker with what the
// apiserver does and the tracker does not: every write (create, update,
// patch, a subresource's included) gives the object a new
// metadata.resourceVersion, from one counter for all objects. The
// scheduler's assume cache (the DynamicResources plugin keeps claims in
// one) parses resource versions and drops an informer update whose version
// is missing or not newer, so without them a claim's allocation would never
// reach the plugin's record of allocated devices.
type versioningTracker struct {
	clienttesting.ObjectTracker
	last *atomic.Int64
	// claimStore is set by claimsSeen.
	claimStore atomic.Pointer[cache.Store]
}

func newVersioningTracker(t clienttesting.ObjectTracker) *versioningTracker {
	return &versioningTracker{ObjectTracker: t, last: &atomic.Int64{}}
}

func (t *versioningTracker) version(obj runtime.Object) {
	if m, err := meta.Accessor(obj); err == nil {
		m.SetResourceVersion(strconv.FormatInt(t.last.Add(1), 10))
	}
}

func (t *versioningTracker) Add(obj runtime.Object) error {
	t.version(obj)
	return t.ObjectTracker.Add(obj)
}

func (t *versioningTracker) Create(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.CreateOptions) error {
	t.version(obj)
	return t.ObjectTracker.Create(gvr, obj, ns, opts...)
}

func (t *versioningTracker) Update(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.UpdateOptions) error {
	t.version(obj)
	return t.ObjectTracker.Update(gvr, obj, ns, opts...)
}

func (t *versioningTracker) Patch(gvr schema.GroupVersionResource, obj runtime.Object, ns string, opts ...metav1.PatchOptions) error {
	t.version(obj)
	return t.ObjectTracker.Patch(gvr, obj, ns, opts...)
}

// fakeAPI is the in-memory API (newFakeAPI) with its tracker.
type fakeAPI struct {
	*fake.Clientset
	tracker *versioningTracker
}

// claimVisibleWithin bounds how long a claim's create waits for the
// scheduler's informer to have it.
const claimVisibleWithin = time.Second

// claimsSeen makes every ResourceClaim create return only once store (the
// scheduler's claim informer's) has the claim, or after claimVisibleWithin.
// An apiserver's watch is as quick; here it matters because the
// DynamicResources plugin, right after creating the claim of a pod's
// DRA-backed extended resource in PreBind, looks for it in its assume cache
// and, not finding it, polls again only a second later: a second per
// whole-GPU pod, the whole replay waiting on it.
func (t *versioningTracker) claimsSeen(store cache.Store) {
	t.claimStore.Store(&store)
}

// createClaim creates a claim (the default reaction) and waits as
// claimsSeen says.
func (t *versioningTracker) createClaim(action clienttesting.Action) (bool, runtime.Object, error) {
	handled, obj, err := clienttesting.ObjectReaction(t)(action)
	store := t.claimStore.Load()
	if err != nil || store == nil || action.GetSubresource() != "" {
		return handled, obj, err
	}
	m, merr := meta.Accessor(obj)
	if merr != nil {
		return handled, obj, err
	}
	key := m.GetNamespace() + "/" + m.GetName()
	deadline := time.Now().Add(claimVisibleWithin)
	for time.Now().Before(deadline) {
		if got, ok, _ := (*store).GetByKey(key); ok {
			if gm, e := meta.Accessor(got); e == nil && gm.GetResourceVersion() == m.GetResourceVersion() {
				// The store has it; the informer's handlers (the
				// assume cache) get it right after.
				time.Sleep(time.Millisecond)
				break
			}
		}
		time.Sleep(100 * time.Microsecond)
	}
	return handled, obj, err
}
