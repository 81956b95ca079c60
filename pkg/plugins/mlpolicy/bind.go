package mlpolicy

import (
	"context"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/klog/v2"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/util"
)

// Annotations the Binding of every pod MLPolicy placed carries; the
// apiserver copies a Binding's annotations onto the pod, so the pod says
// which rule of which policy placed it at no write beyond the binding.
const (
	AnnotationRule       = "ml-scheduler.io/rule"
	AnnotationPolicyHash = "ml-scheduler.io/policy-hash"
)

// Bind binds the pod as the default binder does (the scheduler's API
// cacher when it has one, else a Binding with the default retries), with
// the rule and policy hash as the Binding's annotations. A pod MLPolicy did
// not judge (no cycle state of ours) is left to the next binder.
func (pl *MLPolicy) Bind(ctx context.Context, cs fwk.CycleState, pod *v1.Pod, nodeName string) *fwk.Status {
	s, err := readState(cs)
	if err != nil {
		return fwk.NewStatus(fwk.Skip)
	}
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, Annotations: map[string]string{
			AnnotationRule:       s.rule.Name,
			AnnotationPolicyHash: s.active.Policy.Hash(),
		}},
		Target: v1.ObjectReference{Kind: "Node", Name: nodeName},
	}
	if c := pl.handle.APICacher(); c != nil {
		onFinish, err := c.BindPod(binding)
		if err != nil {
			return fwk.AsStatus(err)
		}
		if err := c.WaitOnFinish(ctx, onFinish); err != nil {
			return fwk.AsStatus(err)
		}
		return nil
	}
	klog.FromContext(ctx).V(3).Info("Binding pod", "pod", klog.KObj(pod), "node", klog.KRef("", nodeName), "rule", s.rule.Name)
	if err := util.BindPod(ctx, pl.handle.ClientSet(), binding); err != nil {
		return fwk.AsStatus(err)
	}
	return nil
}
