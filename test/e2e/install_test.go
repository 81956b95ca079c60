package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// install applies the sample overlay (the base plus an example policy and
// two tenant namespaces) with kubectl and waits until the guard is in force.
func install(ctx context.Context, t *testing.T, e *Env) {
	t.Helper()
	out, err := e.Run(ctx, "version", "--client")
	if err != nil {
		t.Fatal(err)
	}
	version := "kubectl " + strings.TrimPrefix(strings.TrimSpace(strings.SplitN(out, "\n", 2)[0]), "Client Version: ")
	// What users apply: the base renders on its own.
	if _, err := e.Run(ctx, "kustomize", "manifests/"); err != nil {
		t.Fatal(err)
	}
	if out, err = e.Run(ctx, "apply", "-k", sampleOverlay); err != nil {
		t.Fatal(err)
	}
	objects := strings.Count(strings.TrimSpace(out), "\n") + 1
	t.Logf("kubectl apply -k %s:\n%s", sampleOverlay, out)

	// Admission policies take effect once the apiserver has loaded them.
	probe := func(ctx context.Context, p *v1.Pod) (*v1.Pod, error) {
		return e.Admin.CoreV1().Pods(teamB).Create(ctx, p, metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	}
	var mutated, denied string
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		got, err := probe(ctx, testPod("probe-mutate", teamB, "ml-scheduler", nil))
		if err != nil || !toleratesPool(got) {
			return false, nil
		}
		mutated = "toleration added"
		p := testPod("probe-nodename", teamB, "default-scheduler", nil)
		p.Spec.NodeName = "a100-0"
		_, err = probe(ctx, p)
		if err == nil || !strings.Contains(err.Error(), "ml-scheduler-pool-guard") {
			return false, nil
		}
		denied = err.Error()
		return true, nil
	})
	if err != nil {
		t.Fatalf("guard not in force after a minute (mutation: %q, denial: %q): %v", mutated, denied, err)
	}

	// The status controller type-checks the CEL against the Pod schema.
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		vap, err := e.Admin.AdmissionregistrationV1().ValidatingAdmissionPolicies().Get(ctx, "ml-scheduler-pool-guard", metav1.GetOptions{})
		if err != nil || vap.Status.ObservedGeneration != vap.Generation || vap.Status.TypeChecking == nil {
			return false, nil
		}
		if w := vap.Status.TypeChecking.ExpressionWarnings; len(w) > 0 {
			return false, fmt.Errorf("type-checking warnings: %+v", w)
		}
		return true, nil
	})
	if err != nil {
		t.Fatalf("ValidatingAdmissionPolicy ml-scheduler-pool-guard: %v", err)
	}
	proved(t, "manifests: %s renders manifests/ and applied %s (%d objects); guard in force: ml-scheduler pods get the pool toleration, spec.nodeName is refused, CEL type-checks clean against the Pod schema",
		version, sampleOverlay, objects)
}

// checkDeployment: the manifests' Deployment runs 2 replicas on 2 nodes, off
// the pool nodes, under PodSecurity "restricted", covered by its PDB and
// behind its metrics Service. (Locally kwok runs these pods: the scheduler
// processes themselves are started by startReplicas.)
func checkDeployment(ctx context.Context, t *testing.T, e *Env) {
	t.Helper()
	var nodes []string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
		d, err := e.Admin.AppsV1().Deployments(mlNamespace).Get(ctx, mlDeployment, metav1.GetOptions{})
		if err != nil || d.Status.AvailableReplicas != 2 || d.Status.ObservedGeneration != d.Generation {
			return false, nil
		}
		pods, err := e.Admin.CoreV1().Pods(mlNamespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=ml-scheduler"})
		if err != nil {
			return false, err
		}
		nodes = nodes[:0]
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && p.Spec.NodeName != "" {
				nodes = append(nodes, p.Spec.NodeName)
			}
		}
		return len(nodes) == 2, nil
	})
	if err != nil {
		evs, _ := e.Run(ctx, "get", "events", "-n", mlNamespace)
		t.Fatalf("Deployment %s/%s not available with 2 replicas: %v\n%s", mlNamespace, mlDeployment, err, evs)
	}
	if nodes[0] == nodes[1] {
		t.Fatalf("both replicas on node %s: anti-affinity not in force", nodes[0])
	}
	for _, n := range nodes {
		if isPoolNode(ctx, t, e, n) {
			t.Fatalf("a replica landed on pool node %s", n)
		}
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		pdb, err := e.Admin.PolicyV1().PodDisruptionBudgets(mlNamespace).Get(ctx, mlDeployment, metav1.GetOptions{})
		return err == nil && pdb.Status.CurrentHealthy == 2 && pdb.Status.DisruptionsAllowed == 1, nil
	})
	if err != nil {
		t.Fatalf("PodDisruptionBudget: want 2 healthy, 1 disruption allowed: %v", err)
	}
	var ready int
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		slices, err := e.Admin.DiscoveryV1().EndpointSlices(mlNamespace).List(ctx, metav1.ListOptions{LabelSelector: discoveryv1.LabelServiceName + "=ml-scheduler-metrics"})
		if err != nil {
			return false, nil
		}
		ready = 0
		for _, s := range slices.Items {
			for _, ep := range s.Endpoints {
				if ep.Conditions.Ready != nil && *ep.Conditions.Ready {
					ready++
				}
			}
		}
		return ready == 2, nil
	})
	if err != nil {
		t.Fatalf("metrics Service: want 2 ready endpoints, have %d: %v", ready, err)
	}
	proved(t, "deployment: 2 replicas admitted under PodSecurity restricted, on distinct nodes %v (anti-affinity), none on a pool node; PDB allows 1 disruption; metrics Service has 2 endpoints", nodes)
}

// testPod is a small pod on scheduler with optional tolerations.
func testPod(name, ns, scheduler string, tolerations []v1.Toleration) *v1.Pod {
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: v1.PodSpec{
			SchedulerName: scheduler,
			Tolerations:   tolerations,
			Containers: []v1.Container{{Name: "main", Image: "registry.k8s.io/pause:3.10",
				Resources: v1.ResourceRequirements{Requests: v1.ResourceList{v1.ResourceCPU: resourceQ("100m")}}}},
		},
	}
}

// isPoolNode reports whether the node carries the pool taint.
func isPoolNode(ctx context.Context, t *testing.T, e *Env, name string) bool {
	t.Helper()
	n, err := e.Admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, taint := range n.Spec.Taints {
		if taint.Key == poolTaintKey {
			return true
		}
	}
	return false
}

func toleratesPool(p *v1.Pod) bool {
	for _, tol := range p.Spec.Tolerations {
		if tol.Key == poolTaintKey {
			return true
		}
	}
	return false
}
