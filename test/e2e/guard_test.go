package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	authzv1 "k8s.io/api/authorization/v1"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
)

// guard: a tenant of team-b, with the stock `edit` role in its namespace,
// tries every way onto the A100 pool, which the policy gives to research.
func guard(ctx context.Context, t *testing.T, e *Env) {
	bob := e.ImpersonatedClient(t, teamBUser, teamBDevs)
	a100 := map[string]string{gpuModelLabel: "NVIDIA-A100-SXM4-80GB"}
	gpu := func(p *v1.Pod) *v1.Pod {
		p.Spec.NodeSelector = a100
		p.Spec.Containers[0].Resources.Limits = v1.ResourceList{"nvidia.com/gpu": resourceQ("1")}
		return p
	}
	var proofs []string

	// 1. Default scheduler, no toleration: the taint keeps it off.
	p := gpu(testPod("default-sched", teamB, "", nil))
	if _, err := bob.CoreV1().Pods(teamB).Create(ctx, p, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	msg := waitUnschedulable(ctx, t, e.Admin, teamB, p.Name, time.Minute)
	if !strings.Contains(msg, "untolerated taint") {
		t.Errorf("default-scheduler pod pending for another reason: %s", msg)
	}
	proofs = append(proofs, "default scheduler: pending ("+msg+")")

	// 2-5. The ways around the taint are refused at admission.
	denied := func(what string, p *v1.Pod, wantMsg string) {
		t.Helper()
		_, err := bob.CoreV1().Pods(teamB).Create(ctx, p, metav1.CreateOptions{})
		if err == nil || !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), wantMsg) {
			t.Errorf("%s: want Forbidden by the guard (%q), got %v", what, wantMsg, err)
			return
		}
		proofs = append(proofs, what+": refused")
	}
	tolerate := []v1.Toleration{{Key: poolTaintKey, Operator: v1.TolerationOpExists}}
	denied("default scheduler + pool toleration", gpu(testPod("tolerating", teamB, "", tolerate)), "only pods on ml-scheduler may tolerate")
	denied("default scheduler + tolerate-everything", gpu(testPod("tolerate-all", teamB, "", []v1.Toleration{{Operator: v1.TolerationOpExists}})), "only pods on ml-scheduler may tolerate")
	withNode := func(p *v1.Pod) *v1.Pod { p.Spec.NodeName = "a100-0"; return p }
	denied("spec.nodeName", withNode(gpu(testPod("pinned", teamB, "", nil))), "sets spec.nodeName")
	denied("spec.nodeName on ml-scheduler", withNode(gpu(testPod("pinned-ml", teamB, "ml-scheduler", nil))), "sets spec.nodeName")

	// 6. A pending pod cannot gain the toleration later (tolerations may be
	// added to a pod in place).
	patch := []byte(`[{"op":"add","path":"/spec/tolerations/-","value":{"key":"` + poolTaintKey + `","operator":"Exists"}}]`)
	_, err := bob.CoreV1().Pods(teamB).Patch(ctx, "default-sched", types.JSONPatchType, patch, metav1.PatchOptions{})
	if err == nil || !apierrors.IsForbidden(err) {
		t.Errorf("adding the pool toleration to a pending default-scheduler pod: want Forbidden, got %v", err)
	} else {
		proofs = append(proofs, "toleration added later: refused")
	}

	// 7. Through a controller: a Deployment whose pods tolerate everything.
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "sneaky-deploy", Namespace: teamB},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "sneaky"}},
			Template: v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "sneaky"}},
				Spec:       gpu(testPod("", teamB, "", []v1.Toleration{{Operator: v1.TolerationOpExists}})).Spec,
			},
		},
	}
	if _, err := bob.AppsV1().Deployments(teamB).Create(ctx, d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var failure string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		rss, err := e.Admin.AppsV1().ReplicaSets(teamB).List(ctx, metav1.ListOptions{LabelSelector: "app=sneaky"})
		if err != nil || len(rss.Items) == 0 {
			return false, nil
		}
		for _, c := range rss.Items[0].Status.Conditions {
			if c.Type == appsv1.ReplicaSetReplicaFailure && strings.Contains(c.Message, "ml-scheduler-pool-guard") {
				failure = c.Message
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Errorf("Deployment with tolerate-everything pods: no ReplicaFailure from the guard: %v", err)
	} else if pods, _ := e.Admin.CoreV1().Pods(teamB).List(ctx, metav1.ListOptions{LabelSelector: "app=sneaky"}); len(pods.Items) != 0 {
		t.Errorf("Deployment with tolerate-everything pods created %d pods", len(pods.Items))
	} else {
		proofs = append(proofs, "Deployment with tolerate-everything pods: its ReplicaSet cannot create them ("+failure+")")
	}

	// 8. ml-scheduler with research's labels: the policy grants pools by
	// namespace, so the pod stays pending.
	msg = waitUnschedulable(ctx, t, e.Admin, teamB, "sneaky-train-0", time.Minute)
	proofs = append(proofs, "ml-scheduler + research's labels: pending ("+msg+")")

	// 9. The levers a tenant would need, it does not have.
	tenant := []string{teamBDevs, "system:authenticated"}
	for _, a := range []authzv1.ResourceAttributes{
		{Verb: "create", Resource: "pods", Subresource: "binding", Namespace: teamB},
		{Verb: "patch", Resource: "nodes", Name: "a100-0"},
		{Verb: "patch", Resource: "namespaces", Name: teamB},
		{Verb: "update", Resource: "configmaps", Namespace: mlNamespace, Name: mlPolicyCM},
		{Verb: "delete", Group: "admissionregistration.k8s.io", Resource: "validatingadmissionpolicybindings", Name: "ml-scheduler-pool-guard"},
		{Verb: "update", Group: "admissionregistration.k8s.io", Resource: "mutatingadmissionpolicies", Name: "ml-scheduler-pool-toleration"},
	} {
		if allowed(ctx, t, e.Admin, teamBUser, tenant, a) {
			t.Errorf("tenant %s CAN %s", teamBUser, describe(a))
		}
	}
	if !allowed(ctx, t, e.Admin, teamBUser, tenant, authzv1.ResourceAttributes{Verb: "create", Resource: "pods", Namespace: teamB}) {
		t.Errorf("tenant %s cannot create pods in %s: the checks above prove nothing", teamBUser, teamB)
	}
	if t.Failed() {
		return
	}
	// Nothing of team-b's reached an A100 node.
	pods, err := e.Admin.CoreV1().Pods(teamB).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if strings.HasPrefix(p.Spec.NodeName, "a100-") {
			t.Fatalf("team-b pod %s reached %s", p.Name, p.Spec.NodeName)
		}
	}
	proofs = append(proofs, "tenant has no pods/binding, node, namespace, policy or guard write")
	proved(t, "guard: no team-b pod reached the A100 pool:\n\t%s", strings.Join(proofs, "\n\t"))
}
