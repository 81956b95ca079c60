package mlpolicy

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
	"k8s.io/klog/v2/ktesting"
	fwk "k8s.io/kube-scheduler/framework"
	"k8s.io/kubernetes/pkg/scheduler/framework"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

// TestBindAnnotatesTheBinding: the Binding names the node as the default
// binder's does and carries the rule and policy hash; a pod MLPolicy did not
// judge is left to the next binder (Skip), with no API call.
func TestBindAnnotatesTheBinding(t *testing.T) {
	_, ctx := ktesting.NewTestContext(t)
	client := fake.NewClientset()
	var bindings []*v1.Binding
	client.PrependReactor("create", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "binding" {
			return false, nil, nil
		}
		bindings = append(bindings, a.(clienttesting.CreateAction).GetObject().(*v1.Binding))
		return true, nil, nil
	})
	fh, err := frameworkruntime.NewFramework(ctx, nil, nil, frameworkruntime.WithClientSet(client))
	if err != nil {
		t.Fatal(err)
	}
	p := mustLoad(t, filterPolicy)
	pl, err := newWithStore(ctx, &config.MLPolicyArgs{}, fh, storeWith(p))
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range filterNodes() {
		pl.index.UpsertNode(n)
	}

	if s := pl.Bind(ctx, framework.NewCycleState(), researchTraining, "a100-1"); s.Code() != fwk.Skip || len(bindings) != 0 {
		t.Fatalf("Bind without MLPolicy's cycle state = %v with %d bindings, want Skip and none", s, len(bindings))
	}
	cs := framework.NewCycleState()
	if _, s := pl.PreFilter(ctx, cs, researchTraining, nil); !s.IsSuccess() {
		t.Fatalf("PreFilter: %v", s)
	}
	if s := pl.Bind(ctx, cs, researchTraining, "a100-1"); !s.IsSuccess() {
		t.Fatalf("Bind: %v", s)
	}
	if len(bindings) != 1 {
		t.Fatalf("%d bindings created, want 1", len(bindings))
	}
	b := bindings[0]
	if b.Name != researchTraining.Name || b.Namespace != researchTraining.Namespace || b.UID != researchTraining.UID ||
		b.Target.Kind != "Node" || b.Target.Name != "a100-1" {
		t.Errorf("binding %s/%s uid %s to %s %s, want pod %s/%s uid %s to Node a100-1",
			b.Namespace, b.Name, b.UID, b.Target.Kind, b.Target.Name, researchTraining.Namespace, researchTraining.Name, researchTraining.UID)
	}
	if got := b.Annotations[AnnotationRule]; got != "research-training" {
		t.Errorf("annotation %s = %q, want research-training", AnnotationRule, got)
	}
	if got := b.Annotations[AnnotationPolicyHash]; got != p.Hash() {
		t.Errorf("annotation %s = %q, want %s", AnnotationPolicyHash, got, p.Hash())
	}
}
