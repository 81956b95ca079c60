package schedstatus

import (
	"context"
	"reflect"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/ml-scheduler/ml-scheduler/pkg/policywatch"
	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
)

func pendingPod(ns, name string, created int64, scheduler, message string) *v1.Pod {
	p := &v1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.Unix(created, 0)},
		Spec: v1.PodSpec{SchedulerName: scheduler}}
	if message != "" {
		p.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: "Unschedulable", Message: message}}
	}
	return p
}

const (
	trainMsg = "0/3 nodes are available: 3 node(s) not in pool a100 required by rule train. pod matched rule train of policy 0123456789abcdef (configmap ml-scheduler/ml-scheduler-policy), which lets it use nodes in pool a100: 0 node(s) qualify"
	oldMsg   = "pod matched rule train of policy fedcba9876543210 (configmap ml-scheduler/ml-scheduler-policy), which lets it use any node"
	inferMsg = "0/3 nodes are available: 3 Insufficient nvidia.com/gpu. pod matched rule infer of policy 0123456789abcdef (configmap ml-scheduler/ml-scheduler-policy), which lets it use nodes with GPUs (it requests 8): 3 node(s) qualify"
	noPolicy = "no valid placement policy is loaded (ConfigMap ml-scheduler/ml-scheduler-policy: its ml-scheduler.io/policy-error annotation and PolicyRejected Events say why)"
)

func TestPolicyReason(t *testing.T) {
	tests := []struct {
		name, message, rule, hash string
		ok                        bool
	}{
		{"prefilter refusal", trainMsg, "train", "0123456789abcdef", true},
		{"postfilter explanation", inferMsg, "infer", "0123456789abcdef", true},
		{"no policy", noPolicy, NoPolicyRule, "", true},
		{"other plugins only", "0/3 nodes are available: 3 Insufficient cpu.", "", "", false},
		{"not tried", "", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rule, hash, ok := PolicyReason(pendingPod("ns", "p", 0, "ml-scheduler", tc.message))
			if rule != tc.rule || hash != tc.hash || ok != tc.ok {
				t.Errorf("got %q %q %v, want %q %q %v", rule, hash, ok, tc.rule, tc.hash, tc.ok)
			}
		})
	}
}

func TestGroupPending(t *testing.T) {
	bound := pendingPod("a", "bound", 0, "ml-scheduler", trainMsg)
	bound.Spec.NodeName = "n1"
	pods := []*v1.Pod{
		pendingPod("a", "t3", 30, "ml-scheduler", trainMsg),
		pendingPod("a", "t1", 10, "ml-scheduler", trainMsg),
		pendingPod("a", "t2", 20, "ml-scheduler", trainMsg),
		pendingPod("a", "t4", 40, "ml-scheduler", trainMsg),
		pendingPod("b", "old", 5, "ml-scheduler", oldMsg),
		pendingPod("b", "i1", 1, "ml-scheduler", inferMsg),
		pendingPod("b", "cpu", 1, "ml-scheduler", "0/3 nodes are available: 3 Insufficient cpu."),
		pendingPod("b", "new", 1, "ml-scheduler", ""),
		pendingPod("b", "stock", 1, "default-scheduler", trainMsg),
		bound,
	}
	groups, other := GroupPending(pods, "ml-scheduler")
	want := []PendingRule{
		{Rule: "train", Hash: "0123456789abcdef", Pods: 4, Examples: []string{"a/t1", "a/t2", "a/t3"}},
		{Rule: "infer", Hash: "0123456789abcdef", Pods: 1, Examples: []string{"b/i1"}},
		{Rule: "train", Hash: "fedcba9876543210", Pods: 1, Examples: []string{"b/old"}},
	}
	if !reflect.DeepEqual(groups, want) || other != 2 {
		t.Errorf("groups %+v other %d\nwant %+v other 2", groups, other, want)
	}
}

func TestIsLeader(t *testing.T) {
	tests := []struct {
		holder, replica string
		want            bool
	}{
		{"ml-scheduler-abc-1_0f8e2a4c-1111-2222-3333-444455556666", "ml-scheduler-abc-1", true},
		{"ml-scheduler-abc-1_0f8e2a4c", "ml-scheduler-abc-2", false},
		{"host_with_underscore_uuid", "host_with_underscore", true},
		{"replica-x", "replica-x", true},
		{"", "replica-x", false},
	}
	for _, tc := range tests {
		if got := IsLeader(tc.holder, tc.replica); got != tc.want {
			t.Errorf("IsLeader(%q, %q) = %v, want %v", tc.holder, tc.replica, got, tc.want)
		}
	}
}

func TestGather(t *testing.T) {
	now := time.Now()
	holder, dur := "host-a_1234", int32(15)
	renew := metav1.NewMicroTime(now.Add(-2 * time.Second))
	status := func(id, hash string, renewed time.Time) *coordinationv1.Lease {
		idc, secs, rt := id, int32(90), metav1.NewMicroTime(renewed)
		return &coordinationv1.Lease{
			ObjectMeta: metav1.ObjectMeta{Namespace: "ml-scheduler", Name: replicastatus.LeasePrefix + id,
				Labels:      map[string]string{replicastatus.LabelPolicyStatus: "true"},
				Annotations: map[string]string{replicastatus.AnnotationHash: hash, replicastatus.AnnotationGeneration: "2"}},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &idc, LeaseDurationSeconds: &secs, RenewTime: &rt},
		}
	}
	objs := []runtime.Object{
		&v1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ml-scheduler", Name: "ml-scheduler-policy",
			Annotations: map[string]string{policywatch.AnnotationActiveHash: "0123456789abcdef"}}},
		&coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Namespace: "ml-scheduler", Name: "ml-scheduler"},
			Spec: coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &dur, RenewTime: &renew}},
		status("host-a", "0123456789abcdef", now),
		status("host-b", "0123456789abcdef", now.Add(-time.Hour)),
		pendingPod("a", "t1", 10, "ml-scheduler", trainMsg),
	}
	r, err := Gather(context.Background(), fake.NewClientset(objs...), Options{}, now)
	if err != nil {
		t.Fatal(err)
	}
	if !r.PolicyConfigMapFound || r.ActiveHash != "0123456789abcdef" || r.Leader.Identity != holder || r.Leader.Expired {
		t.Errorf("configmap/leader: %+v", r)
	}
	if len(r.Replicas) != 2 || !r.Replicas[0].Leader || r.Replicas[0].Stale || r.Replicas[1].Leader || !r.Replicas[1].Stale {
		t.Errorf("replicas: %+v", r.Replicas)
	}
	if len(r.Pending) != 1 || r.Pending[0].Rule != "train" || r.Pending[0].Pods != 1 {
		t.Errorf("pending: %+v", r.Pending)
	}
}
