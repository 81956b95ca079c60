package simulator

import (
	"strconv"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clienttesting "k8s.io/client-go/testing"
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
