package livecluster

import (
	"context"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
)

func TestRead(t *testing.T) {
	at := func(sec int64) metav1.Time { return metav1.Unix(sec, 0) }
	objs := []runtime.Object{
		&v1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}},
		&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-b"}},
		&v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}},
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "bound"}, Spec: v1.PodSpec{NodeName: "n1"}},
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-a", Name: "later", CreationTimestamp: at(20)}},
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "earlier", CreationTimestamp: at(10)}},
		&v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "team-b", Name: "done"}, Status: v1.PodStatus{Phase: v1.PodSucceeded}},
	}
	client := fake.NewClientset(objs...)
	s, err := Read(context.Background(), client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Nodes) != 1 || len(s.Running) != 1 || len(s.Pending) != 2 || s.Pending[0].Name != "earlier" {
		t.Errorf("nodes %d, running %d, pending %v: want 1, 1, [earlier later]", len(s.Nodes), len(s.Running), s.Pending)
	}
	if len(s.Namespaces) != 2 || s.Namespaces[0] != "team-a" {
		t.Errorf("namespaces %v, want [team-a team-b]", s.Namespaces)
	}
	if s.PolicyFound || s.PolicyRef != "ml-scheduler/ml-scheduler-policy" {
		t.Errorf("no ConfigMap: found %v ref %q", s.PolicyFound, s.PolicyRef)
	}

	cm := &v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ml-scheduler", Name: "ml-scheduler-policy",
		Annotations: map[string]string{policywatch.AnnotationActiveHash: "abc", policywatch.AnnotationLastError: "boom"}},
		Data: map[string]string{"policy.yaml": "kind: PlacementPolicy\n"}}
	if _, err := client.CoreV1().ConfigMaps("ml-scheduler").Create(context.Background(), cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s, err = Read(context.Background(), client, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !s.PolicyFound || string(s.Policy) != "kind: PlacementPolicy\n" || s.ActiveHash != "abc" || s.LastError != "boom" {
		t.Errorf("policy %q found %v, status %q %q", s.Policy, s.PolicyFound, s.ActiveHash, s.LastError)
	}
	if s, err = Read(context.Background(), client, Options{PolicyKey: "other.yaml"}); err != nil || s.PolicyFound {
		t.Errorf("another key: found %v, err %v; want not found", s.PolicyFound, err)
	}
}
