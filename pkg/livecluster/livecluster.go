// Package livecluster reads what the admin tools (kubectl mlsched) judge a
// policy against: the nodes, the pods, the namespaces and the policy
// ConfigMap of a live cluster, in the simulator's snapshot form.
package livecluster

import (
	"context"
	"errors"
	"fmt"
	"sort"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/pager"

	configv1 "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/v1"
	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
	"github.com/ml-scheduler/ml-scheduler/pkg/trace"
)

// Options say where the policy ConfigMap is; zero fields take the
// scheduler's defaults (ml-scheduler/ml-scheduler-policy, key policy.yaml).
type Options struct {
	PolicyNamespace, PolicyName, PolicyKey string
}

func (o Options) withDefaults() Options {
	if o.PolicyNamespace == "" {
		o.PolicyNamespace = configv1.DefaultPolicyNamespace
	}
	if o.PolicyName == "" {
		o.PolicyName = configv1.DefaultPolicyName
	}
	if o.PolicyKey == "" {
		o.PolicyKey = configv1.DefaultPolicyKey
	}
	return o
}

// State is a live cluster as the admin tools see it.
type State struct {
	// Snapshot holds the nodes, the bound pods (Running) and the pods not
	// yet bound (Pending, oldest first), of every scheduler; terminal pods
	// are left out, as trace.ReadSnapshot does.
	trace.Snapshot
	// Namespaces are the names of the cluster's namespaces, sorted.
	Namespaces []string
	// Policy is the policy ConfigMap's text at Options' key; nil when the
	// ConfigMap or the key does not exist (PolicyFound says which).
	Policy      []byte
	PolicyFound bool
	// PolicyRef is "namespace/name" of the ConfigMap read, PolicyKey its key.
	PolicyRef, PolicyKey string
	// ActiveHash and LastError are the status the scheduler wrote on the
	// ConfigMap (policywatch annotations).
	ActiveHash, LastError string
	// ResourceSlices are the DRA slices (GPUs published as devices); none
	// where the cluster does not serve resource.k8s.io/v1.
	ResourceSlices []*resourceapi.ResourceSlice
	// ResourceClaims are the DRA claims: what pods sharing a GPU ask.
	ResourceClaims []*resourceapi.ResourceClaim
	// DeviceClasses are the DRA device classes the claims name.
	DeviceClasses []*resourceapi.DeviceClass
}

// Read lists the cluster's nodes, pods and namespaces (paged) and gets the
// policy ConfigMap. A missing ConfigMap is not an error; a failed list is.
func Read(ctx context.Context, client kubernetes.Interface, o Options) (*State, error) {
	o = o.withDefaults()
	s := &State{PolicyRef: o.PolicyNamespace + "/" + o.PolicyName, PolicyKey: o.PolicyKey}
	each := func(what string, list pager.ListPageFunc, fn func(runtime.Object)) error {
		err := pager.New(list).EachListItem(ctx, metav1.ListOptions{}, func(obj runtime.Object) error {
			fn(obj)
			return nil
		})
		if err != nil {
			return fmt.Errorf("listing %s: %w", what, err)
		}
		return nil
	}
	if err := each("nodes", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Nodes().List(ctx, opts)
	}, func(obj runtime.Object) { s.Nodes = append(s.Nodes, obj.(*v1.Node)) }); err != nil {
		return nil, err
	}
	if err := each("pods", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, opts)
	}, func(obj runtime.Object) {
		p := obj.(*v1.Pod)
		switch {
		case p.Status.Phase == v1.PodSucceeded || p.Status.Phase == v1.PodFailed:
		case p.Spec.NodeName != "":
			s.Running = append(s.Running, p)
		default:
			s.Pending = append(s.Pending, p)
		}
	}); err != nil {
		return nil, err
	}
	sort.SliceStable(s.Pending, func(i, j int) bool {
		return s.Pending[i].CreationTimestamp.Before(&s.Pending[j].CreationTimestamp)
	})
	if err := each("namespaces", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.CoreV1().Namespaces().List(ctx, opts)
	}, func(obj runtime.Object) { s.Namespaces = append(s.Namespaces, obj.(*v1.Namespace).Name) }); err != nil {
		return nil, err
	}
	sort.Strings(s.Namespaces)
	if err := each("resourceslices", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.ResourceV1().ResourceSlices().List(ctx, opts)
	}, func(obj runtime.Object) {
		s.ResourceSlices = append(s.ResourceSlices, obj.(*resourceapi.ResourceSlice))
	}); err != nil && !apierrors.IsNotFound(errors.Unwrap(err)) {
		return nil, err
	}
	if err := each("deviceclasses", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.ResourceV1().DeviceClasses().List(ctx, opts)
	}, func(obj runtime.Object) {
		s.DeviceClasses = append(s.DeviceClasses, obj.(*resourceapi.DeviceClass))
	}); err != nil && !apierrors.IsNotFound(errors.Unwrap(err)) {
		return nil, err
	}
	if err := each("resourceclaims", func(ctx context.Context, opts metav1.ListOptions) (runtime.Object, error) {
		return client.ResourceV1().ResourceClaims("").List(ctx, opts)
	}, func(obj runtime.Object) {
		s.ResourceClaims = append(s.ResourceClaims, obj.(*resourceapi.ResourceClaim))
	}); err != nil && !apierrors.IsNotFound(errors.Unwrap(err)) {
		return nil, err
	}

	cm, err := client.CoreV1().ConfigMaps(o.PolicyNamespace).Get(ctx, o.PolicyName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("getting policy ConfigMap %s: %w", s.PolicyRef, err)
	}
	s.ActiveHash, s.LastError = cm.Annotations[policywatch.AnnotationActiveHash], cm.Annotations[policywatch.AnnotationLastError]
	if text, ok := cm.Data[o.PolicyKey]; ok {
		s.Policy, s.PolicyFound = []byte(text), true
	}
	return s, nil
}
