//go:build kind

package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/kind/pkg/cluster"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

// KindClusterEnv names the kind cluster (default ml-scheduler), brought up
// by hack/kind-up.sh: image loaded, manifests/overlays/sample applied.
const KindClusterEnv = "KIND_CLUSTER"

// TestKind runs the same scenarios against a kind cluster: the image runs in
// the Deployment's pods, the cluster's own kube-scheduler is the default
// scheduler, and kwok (run here) adds the GPU pool nodes. One shot: run
// hack/kind-up.sh again (it recreates the cluster) before a second run.
func TestKind(t *testing.T) {
	if os.Getenv(E2EEnv) == "" {
		t.Skipf("set %s=1 and run hack/kind-up.sh first", E2EEnv)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	name := os.Getenv(KindClusterEnv)
	if name == "" {
		name = "ml-scheduler"
	}
	provider := cluster.NewProvider()
	kubeconfigText, err := provider.KubeConfig(name, false)
	if err != nil {
		t.Fatalf("kind cluster %q: %v (run hack/kind-up.sh)", name, err)
	}
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(kubeconfigText), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(root, ".cache", "bin")
	env := &Env{
		Admin: client, AdminConfig: cfg, Kubeconfig: kubeconfig,
		Kubectl: filepath.Join(bin, "kubectl"), RepoRoot: root, WorkDir: dir,
		DefaultScheduler: "default-scheduler",
		Replicas:         &kindReplicas{client: client},
	}
	kwokCfg := filepath.Join(dir, "kwok.yaml")
	if err := os.WriteFile(kwokCfg, []byte(kwokStages), 0o644); err != nil {
		t.Fatal(err)
	}
	kwok, err := controlplane.StartProcess(ctx, "kwok", filepath.Join(dir, "kwok.log"), filepath.Join(bin, "kwok"),
		"--kubeconfig="+kubeconfig, "--config="+kwokCfg,
		"--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake", "--cidr=10.250.0.0/16")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kwok.Stop() })

	install(ctx, t, env) // idempotent: kind-up.sh applied the same overlay
	checkDeployment(ctx, t, env)
	createNodes(ctx, t, env, initialNodes[3:]...) // the GPU pools; kind's workers are the CPU nodes
	runScenarios(ctx, t, env)
}

// kindReplicas are the Deployment's pods.
type kindReplicas struct{ client kubernetes.Interface }

// Leader: the Lease holder identity is "<pod name>_<uuid>".
func (r *kindReplicas) Leader(ctx context.Context) (string, error) {
	l, err := r.client.CoordinationV1().Leases(mlNamespace).Get(ctx, mlLease, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	if l.Spec.HolderIdentity == nil || *l.Spec.HolderIdentity == "" {
		return "", fmt.Errorf("lease %s/%s has no holder", mlNamespace, mlLease)
	}
	pod, _, _ := strings.Cut(*l.Spec.HolderIdentity, "_")
	if _, err := r.client.CoreV1().Pods(mlNamespace).Get(ctx, pod, metav1.GetOptions{}); err != nil {
		return "", fmt.Errorf("lease holder %s: %w", pod, err)
	}
	return pod, nil
}

// Kill deletes the pod with no grace period.
func (r *kindReplicas) Kill(ctx context.Context, name string) error {
	return r.client.CoreV1().Pods(mlNamespace).Delete(ctx, name, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
}

// Logs: a killed pod's log is gone with it, so the log-based checks (binds
// per pod, forbidden errors) are skipped here; Events and the API still
// prove single binding.
func (r *kindReplicas) Logs() map[string]string { return nil }
