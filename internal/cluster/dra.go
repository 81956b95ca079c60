package cluster

import (
	"context"
	"fmt"
	"slices"
	"time"

	v1 "k8s.io/api/core/v1"
	resourceapi "k8s.io/api/resource/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/ml-scheduler/ml-scheduler/pkg/gpudra"
)

// GPUModelLabel is the node label the sample clusters carry a GPU model in
// (as NVIDIA's GPU feature discovery sets it). A DRA node's devices carry
// the same model in gpudra.ModelAttribute.
const GPUModelLabel = "nvidia.com/gpu.product"

// DRANode splits a GPU node spec into what a cluster with a DRA GPU driver
// has: the node, with its labels, CPU and memory but no GPUs in its
// allocatable (whole-GPU pods get nvidia.com/gpu from the DeviceClass), and
// the ResourceSlice the driver publishes for it, one shareable device per
// GPU of model (the node's GPUModelLabel when model is "").
func DRANode(s NodeSpec, model string) (NodeSpec, *resourceapi.ResourceSlice, error) {
	if s.GPUs <= 0 {
		return s, nil, fmt.Errorf("node %s: a DRA GPU node needs gpus > 0", s.Name)
	}
	if s.GPUResource != "" && s.GPUResource != gpudra.ExtendedResource {
		return s, nil, fmt.Errorf("node %s: gpuResource %q: a DRA GPU node serves %s", s.Name, s.GPUResource, gpudra.ExtendedResource)
	}
	if model == "" {
		model = s.Labels[GPUModelLabel]
	}
	if model == "" {
		return s, nil, fmt.Errorf("node %s: a DRA GPU node needs a GPU model (label %s)", s.Name, GPUModelLabel)
	}
	slice := gpudra.NodeSlice(s.Name, model, int(s.GPUs))
	s.GPUs, s.GPUResource = 0, ""
	return s, slice, nil
}

// CreateDRANodes creates the DeviceClass (unless it exists) and, for each
// GPU node spec (Count expanded), the node in its DRA form and the
// ResourceSlice a driver would publish for it, its GPU model taken from the
// node's GPUModelLabel (see DRANode).
func CreateDRANodes(ctx context.Context, client kubernetes.Interface, specs []NodeSpec) error {
	for _, s := range Expand(specs) {
		if err := CreateDRANode(ctx, client, s, ""); err != nil {
			return err
		}
	}
	return nil
}

// CreateDRANode is CreateDRANodes of one node whose devices have GPU model
// model ("" for its GPUModelLabel): a node may publish its model only in
// its devices' gpudra.ModelAttribute.
func CreateDRANode(ctx context.Context, client kubernetes.Interface, s NodeSpec, model string) error {
	if err := EnsureDeviceClass(ctx, client); err != nil {
		return err
	}
	node, slice, err := DRANode(s, model)
	if err != nil {
		return err
	}
	if err := CreateNode(ctx, client, node); err != nil {
		return err
	}
	if _, err := client.ResourceV1().ResourceSlices().Create(ctx, slice, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("creating ResourceSlice %s: %w", slice.Name, err)
	}
	return nil
}

// EnsureDeviceClass creates gpudra's DeviceClass unless it exists.
func EnsureDeviceClass(ctx context.Context, client kubernetes.Interface) error {
	_, err := client.ResourceV1().DeviceClasses().Create(ctx, gpudra.DeviceClass(), metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("creating DeviceClass %s: %w", gpudra.DeviceClassName, err)
	}
	return nil
}

// DeleteDeviceClass deletes gpudra's DeviceClass. While it exists, a pod
// asking nvidia.com/gpu is served from DRA on every node whose allocatable
// lacks nvidia.com/gpu, so a test that created it deletes it when done.
func DeleteDeviceClass(ctx context.Context, client kubernetes.Interface) error {
	err := client.ResourceV1().DeviceClasses().Delete(ctx, gpudra.DeviceClassName, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting DeviceClass %s: %w", gpudra.DeviceClassName, err)
	}
	return nil
}

// DeleteNodeSlices deletes the ResourceSlices CreateDRANodes published for
// the named nodes (no kubelet or driver is there to do it).
func DeleteNodeSlices(ctx context.Context, client kubernetes.Interface, nodeNames ...string) error {
	for _, n := range nodeNames {
		err := client.ResourceV1().ResourceSlices().Delete(ctx, gpudra.SliceName(n), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting ResourceSlice %s: %w", gpudra.SliceName(n), err)
		}
	}
	return nil
}

// ShareClaimName names the claim CreateSharePod creates for a pod.
func ShareClaimName(podName string) string { return podName + "-gpu" }

// CreateSharePod creates a pod that shares one GPU: its ResourceClaim
// (ShareClaimName, gpudra.ShareClaim of milli thousandths of a GPU), then
// the pod of s using it. s.GPUs must be 0: the claim is its GPU.
func CreateSharePod(ctx context.Context, client kubernetes.Interface, s PodSpec, milli int64) (*v1.Pod, error) {
	if s.GPUs != 0 {
		return nil, fmt.Errorf("pod %s/%s: a share pod asks its GPU through its claim, not gpus: %d", s.Namespace, s.Name, s.GPUs)
	}
	if milli < 1 || milli > 999 {
		return nil, fmt.Errorf("pod %s/%s: share %dm: want 1m..999m of a GPU", s.Namespace, s.Name, milli)
	}
	claim := gpudra.ShareClaim(s.Namespace, ShareClaimName(s.Name), milli)
	if _, err := client.ResourceV1().ResourceClaims(s.Namespace).Create(ctx, claim, metav1.CreateOptions{}); err != nil {
		return nil, fmt.Errorf("creating ResourceClaim %s/%s: %w", s.Namespace, claim.Name, err)
	}
	pod := s.Pod()
	gpudra.UseClaim(pod, claim.Name)
	p, err := client.CoreV1().Pods(s.Namespace).Create(ctx, pod, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("creating pod %s/%s: %w", s.Namespace, s.Name, err)
	}
	return p, nil
}

// DeviceShare is one gpudra device a claim was allocated: where it is and
// how much of it the claim consumes.
type DeviceShare struct {
	Claim  string // namespace/name
	Node   string // from the allocation's node selector
	Pool   string // gpudra names a node's pool after the node
	Device string
	// Share is the consumed gpudra.ShareCapacity; zero when the device
	// does not allow multiple allocations.
	Share   resource.Quantity
	ShareID string
}

// String is "node/device share".
func (d DeviceShare) String() string {
	return fmt.Sprintf("%s/%s share %s", d.Node, d.Device, d.Share.String())
}

// SharesOf returns the gpudra devices a claim's allocation holds (none when
// it is not allocated).
func SharesOf(claim *resourceapi.ResourceClaim) []DeviceShare {
	a := claim.Status.Allocation
	if a == nil {
		return nil
	}
	node := allocatedNode(a.NodeSelector)
	var out []DeviceShare
	for _, r := range a.Devices.Results {
		if r.Driver != gpudra.Driver {
			continue
		}
		d := DeviceShare{Claim: claim.Namespace + "/" + claim.Name, Node: node, Pool: r.Pool, Device: r.Device, Share: r.ConsumedCapacity[gpudra.ShareCapacity]}
		if r.ShareID != nil {
			d.ShareID = string(*r.ShareID)
		}
		out = append(out, d)
	}
	return out
}

// allocatedNode is the node an allocation's node selector names
// (metadata.name In [node], as the allocator writes for node-local slices).
func allocatedNode(sel *v1.NodeSelector) string {
	if sel == nil {
		return ""
	}
	for _, t := range sel.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == v1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// PodClaimNames are the names of the ResourceClaims a pod uses: those its
// spec names and the one the scheduler generated for its DRA-backed
// extended resources (pod.status.extendedResourceClaimStatus).
func PodClaimNames(p *v1.Pod) []string {
	var names []string
	for _, c := range p.Spec.ResourceClaims {
		if c.ResourceClaimName != nil {
			names = append(names, *c.ResourceClaimName)
		}
	}
	for _, s := range p.Status.ResourceClaimStatuses {
		if s.ResourceClaimName != nil && !slices.Contains(names, *s.ResourceClaimName) {
			names = append(names, *s.ResourceClaimName)
		}
	}
	if e := p.Status.ExtendedResourceClaimStatus; e != nil && e.ResourceClaimName != "" {
		names = append(names, e.ResourceClaimName)
	}
	return names
}

// WaitPodShares waits until the pod is bound and every claim it uses is
// allocated, and returns the gpudra devices they hold. A whole-GPU pod
// gets its claim from the scheduler with the binding, so the pod is read
// again until its status names it.
func WaitPodShares(ctx context.Context, client kubernetes.Interface, ns, name string, timeout time.Duration) (*v1.Pod, []DeviceShare, error) {
	var pod *v1.Pod
	var shares []DeviceShare
	var why string
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		p, err := client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		pod, shares = p, nil
		if p.Spec.NodeName == "" {
			why = "not bound (" + Unschedulable(p) + ")"
			return false, nil
		}
		names := PodClaimNames(p)
		if len(names) == 0 {
			why = "bound, but uses no ResourceClaim"
			return false, nil
		}
		for _, n := range names {
			c, err := client.ResourceV1().ResourceClaims(ns).Get(ctx, n, metav1.GetOptions{})
			if err != nil {
				why = fmt.Sprintf("claim %s: %v", n, err)
				return false, nil
			}
			if c.Status.Allocation == nil {
				why = "claim " + n + " not allocated"
				return false, nil
			}
			shares = append(shares, SharesOf(c)...)
		}
		return true, nil
	})
	if err != nil {
		return pod, nil, fmt.Errorf("pod %s/%s: its GPU claims not allocated within %v (%s): %w", ns, name, timeout, why, err)
	}
	return pod, shares, nil
}

// ReleaseClaim does for a claim whose pods are gone what
// kube-controller-manager's resourceclaim controller does (no
// controller-manager runs on the embedded control plane): drops consumers
// that no longer exist from status.reservedFor and, once none is left,
// clears the allocation and removes the delete-protection finalizer the
// scheduler set. Then it deletes the claim. It refuses a claim still
// reserved for an existing pod.
func ReleaseClaim(ctx context.Context, client kubernetes.Interface, ns, name string) error {
	claims := client.ResourceV1().ResourceClaims(ns)
	c, err := claims.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("claim %s/%s: %w", ns, name, err)
	}
	var kept []resourceapi.ResourceClaimConsumerReference
	for _, r := range c.Status.ReservedFor {
		if r.Resource == "pods" {
			p, err := client.CoreV1().Pods(ns).Get(ctx, r.Name, metav1.GetOptions{})
			if apierrors.IsNotFound(err) || (err == nil && p.UID != r.UID) {
				continue
			}
		}
		kept = append(kept, r)
	}
	if len(kept) > 0 {
		return fmt.Errorf("claim %s/%s is still reserved for %s %s", ns, name, kept[0].Resource, kept[0].Name)
	}
	if c.Status.Allocation != nil || len(c.Status.ReservedFor) > 0 {
		c.Status.ReservedFor, c.Status.Allocation = nil, nil
		if c, err = claims.UpdateStatus(ctx, c, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("deallocating claim %s/%s: %w", ns, name, err)
		}
	}
	if i := slices.Index(c.Finalizers, resourceapi.Finalizer); i >= 0 {
		c.Finalizers = slices.Delete(c.Finalizers, i, i+1)
		if _, err = claims.Update(ctx, c, metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("removing the finalizer of claim %s/%s: %w", ns, name, err)
		}
	}
	if err := claims.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("deleting claim %s/%s: %w", ns, name, err)
	}
	return nil
}

// DeleteClaims removes every ResourceClaim of a namespace, finalizers and
// all: a test's cleanup, once its pods are gone.
func DeleteClaims(ctx context.Context, client kubernetes.Interface, ns string) error {
	list, err := client.ResourceV1().ResourceClaims(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("listing claims of %s: %w", ns, err)
	}
	for _, c := range list.Items {
		if err := ReleaseClaim(ctx, client, ns, c.Name); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
	}
	return nil
}
