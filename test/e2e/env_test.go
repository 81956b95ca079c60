package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

// Env is a cluster with ml-scheduler installed from manifests/, as the
// scenarios see it. The local run and the kind run fill it differently.
type Env struct {
	Admin       kubernetes.Interface
	AdminConfig *rest.Config
	Kubeconfig  string // admin kubeconfig for kubectl
	Kubectl     string // kubectl binary
	RepoRoot    string
	WorkDir     string
	// Replicas are the two ml-scheduler replicas.
	Replicas Replicas
	// DefaultScheduler is the reporting name of the cluster's own scheduler.
	DefaultScheduler string
}

// Replicas controls the ml-scheduler replicas.
type Replicas interface {
	// Leader names the replica holding the ml-scheduler Lease.
	Leader(ctx context.Context) (string, error)
	// Kill stops a replica hard (SIGKILL, or a pod deleted with no grace).
	Kill(ctx context.Context, name string) error
	// Logs returns each replica's log (nil where logs are not at hand).
	Logs() map[string]string
}

// ImpersonatedClient is a client acting as user in groups (tenants).
func (e *Env) ImpersonatedClient(t *testing.T, user string, groups ...string) kubernetes.Interface {
	cfg := rest.CopyConfig(e.AdminConfig)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: groups}
	c, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Run runs kubectl as the admin and returns its combined output.
func (e *Env) Run(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, e.Kubectl, append([]string{"--kubeconfig=" + e.Kubeconfig}, args...)...)
	cmd.Dir = e.RepoRoot
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("kubectl %s: %w\n%s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// startLocal starts etcd, kube-apiserver, kube-controller-manager, kwok and
// the stock kube-scheduler, all v1.37.2 binaries from .cache/bin.
func startLocal(ctx context.Context, t *testing.T) (*Env, *controlplane.ControlPlane) {
	t.Helper()
	root, err := controlplane.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: t.Logf, Timeout: 3 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cp.Stop)
	bin := func(name string) string {
		p := filepath.Join(cp.BinDir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s missing: run hack/build-e2e-binaries.sh (make test-e2e does): %v", p, err)
		}
		return p
	}
	env := &Env{
		Admin: cp.Client(), AdminConfig: cp.Config, Kubeconfig: cp.Kubeconfig,
		Kubectl: bin("kubectl"), RepoRoot: root, WorkDir: cp.WorkDir,
		DefaultScheduler: "default-scheduler",
	}
	start := func(name string, args ...string) *controlplane.Process {
		p, err := controlplane.StartProcess(ctx, name, filepath.Join(cp.WorkDir, name+".log"), bin(name), args...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.Stop() })
		return p
	}

	begin := time.Now()
	kcm := start("kube-controller-manager",
		"--kubeconfig="+cp.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		// What the manifests and scenarios exercise: Deployments, PDB
		// status, Service endpoints, SAs, aggregated roles (edit), and the
		// type-checking of ValidatingAdmissionPolicies.
		"--controllers=deployment-controller,replicaset-controller,disruption-controller,"+
			"endpointslice-controller,serviceaccount-controller,clusterrole-aggregation-controller,"+
			"validatingadmissionpolicy-status-controller",
		"--kube-api-qps=100", "--kube-api-burst=200",
		"--v=1",
	)
	// The serviceaccount controller creating default/default shows it works.
	waitFor(ctx, t, kcm, time.Minute, "kube-controller-manager creating ServiceAccount default/default", func(ctx context.Context) (bool, error) {
		_, err := env.Admin.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		return err == nil, nil
	})
	t.Logf("kube-controller-manager running after %v", time.Since(begin).Round(time.Millisecond))

	kwokCfg := filepath.Join(cp.WorkDir, "kwok.yaml")
	if err := os.WriteFile(kwokCfg, []byte(kwokStages), 0o644); err != nil {
		t.Fatal(err)
	}
	start("kwok",
		"--kubeconfig="+cp.Kubeconfig,
		"--config="+kwokCfg,
		"--manage-nodes-with-annotation-selector="+kwokAnnotation+"=fake",
		"--cidr=10.244.0.0/16",
		"--node-ip=10.0.1.1",
	)

	port, err := controlplane.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	// The stock scheduler, leader-electing on kube-system/kube-scheduler as
	// in any cluster.
	sched := start("kube-scheduler",
		"--kubeconfig="+cp.Kubeconfig,
		"--authentication-kubeconfig="+cp.Kubeconfig,
		"--authorization-kubeconfig="+cp.Kubeconfig,
		"--bind-address=127.0.0.1",
		fmt.Sprintf("--secure-port=%d", port),
		"--v=2",
	)
	if err := controlplane.WaitHealthy(ctx, fmt.Sprintf("https://127.0.0.1:%d/readyz", port), true, time.Minute); err != nil {
		t.Fatalf("kube-scheduler: %v\n%s", err, sched.LogTail(30))
	}
	t.Logf("control plane up (etcd, kube-apiserver, kube-controller-manager, kwok, kube-scheduler)")
	return env, cp
}

// waitFor polls cond until it holds; a process that died meanwhile fails fast.
func waitFor(ctx context.Context, t *testing.T, p *controlplane.Process, timeout time.Duration, what string, cond wait.ConditionWithContextFunc) {
	t.Helper()
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if p != nil {
			if done, err := p.Exited(); done {
				return false, fmt.Errorf("%s exited: %v", p.Name, err)
			}
		}
		return cond(ctx)
	})
	if err != nil {
		msg := fmt.Sprintf("%s: %v", what, err)
		if p != nil {
			msg += "\n--- " + p.LogPath + " ---\n" + p.LogTail(30)
		}
		t.Fatal(msg)
	}
}
