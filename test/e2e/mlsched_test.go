package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

const (
	mlNamespace  = "ml-scheduler"
	mlDeployment = "ml-scheduler"
	mlLease      = "ml-scheduler"
	mlPolicyCM   = "ml-scheduler-policy"
)

// localReplicas are ml-scheduler processes run as the manifests' Deployment
// would run them: its container args, the KubeSchedulerConfiguration from its
// ConfigMap, and its ServiceAccount's own token.
type localReplicas struct {
	mu    sync.Mutex
	procs map[string]*controlplane.Process
	ports map[string]int
	// probe paths taken from the Deployment's liveness/readiness probes.
	liveness, readiness string
	// binary, args and logDir start a replica (startOne).
	binary string
	args   map[string][]string
	logDir string
}

// startReplicas starts n replicas; the only differences from the pod are
// the ones a process outside the cluster needs (a kubeconfig holding the
// ServiceAccount token instead of the mounted one, a loopback port).
func startReplicas(ctx context.Context, t *testing.T, e *Env, cp *controlplane.ControlPlane, binary string, n int) *localReplicas {
	t.Helper()
	d, err := e.Admin.AppsV1().Deployments(mlNamespace).Get(ctx, mlDeployment, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	cmName, mountPath := configVolume(t, d)
	cm, err := e.Admin.CoreV1().ConfigMaps(mlNamespace).Get(ctx, cmName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, kubeconfig, err := cp.ServiceAccountConfig(ctx, mlNamespace, d.Spec.Template.Spec.ServiceAccountName)
	if err != nil {
		t.Fatal(err)
	}
	r := &localReplicas{procs: map[string]*controlplane.Process{}, ports: map[string]int{},
		liveness: c.LivenessProbe.HTTPGet.Path, readiness: c.ReadinessProbe.HTTPGet.Path,
		binary: binary, args: map[string][]string{}, logDir: e.WorkDir}
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("ml-scheduler-%d", i)
		dir := filepath.Join(e.WorkDir, name)
		r.args[name] = containerArgs(t, c.Args, cm.Data, mountPath, dir, kubeconfig)
		// In a pod these default to the in-cluster ServiceAccount.
		r.args[name] = append(r.args[name], "--authentication-kubeconfig="+kubeconfig, "--authorization-kubeconfig="+kubeconfig)
		if err := r.startOne(ctx, t, name, name); err != nil {
			t.Fatal(err)
		}
	}
	for name, p := range r.procs {
		for _, path := range []string{r.liveness, r.readiness} {
			if err := controlplane.WaitHealthy(ctx, r.url(name, path), true, time.Minute); err != nil {
				t.Fatalf("%s %s: %v\n%s", name, path, err, p.LogTail(40))
			}
		}
	}
	return r
}

// startOne starts replica name with the arguments of replica like (its
// config files and token; a new loopback port).
func (r *localReplicas) startOne(ctx context.Context, t *testing.T, name, like string) error {
	port, err := controlplane.FreePort()
	if err != nil {
		return err
	}
	args := append(append([]string{}, r.args[like]...), "--bind-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", port))
	p, err := controlplane.StartProcess(ctx, name, filepath.Join(r.logDir, name+".log"), r.binary, args...)
	if err != nil {
		return err
	}
	t.Cleanup(func() { _ = p.Stop() })
	r.mu.Lock()
	r.procs[name], r.ports[name], r.args[name] = p, port, r.args[like]
	r.mu.Unlock()
	return nil
}

// Stop stops a replica gracefully (SIGTERM), as a pod deletion does.
func (r *localReplicas) Stop(name string) error {
	p, err := r.proc(name)
	if err != nil {
		return err
	}
	return p.Stop()
}

func (r *localReplicas) proc(name string) (*controlplane.Process, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if p := r.procs[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("no replica %s", name)
}

// configVolume returns the ConfigMap mounted as the scheduler config and
// where it is mounted.
func configVolume(t *testing.T, d *appsv1.Deployment) (string, string) {
	t.Helper()
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap == nil {
			continue
		}
		for _, m := range d.Spec.Template.Spec.Containers[0].VolumeMounts {
			if m.Name == v.Name {
				return v.ConfigMap.Name, m.MountPath
			}
		}
	}
	t.Fatal("the Deployment mounts no ConfigMap")
	return "", ""
}

// containerArgs writes the ConfigMap's files into dir (the mount) and
// rewrites the args' paths to it. The config's clientConnection.kubeconfig
// is set to the ServiceAccount kubeconfig: the one line that differs from
// the pod, where it is empty (in-cluster config).
func containerArgs(t *testing.T, args []string, files map[string]string, mountPath, dir, kubeconfig string) []string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range files {
		var cfg map[string]any
		if err := yaml.Unmarshal([]byte(body), &cfg); err != nil {
			t.Fatalf("%s in the config ConfigMap: %v", name, err)
		}
		if cfg["kind"] == "KubeSchedulerConfiguration" {
			cc, _ := cfg["clientConnection"].(map[string]any)
			if cc == nil {
				cc = map[string]any{}
			}
			if cc["kubeconfig"] != nil && cc["kubeconfig"] != "" {
				t.Fatalf("the manifest's config sets clientConnection.kubeconfig=%v; in a pod it must use the ServiceAccount", cc["kubeconfig"])
			}
			cc["kubeconfig"] = kubeconfig
			cfg["clientConnection"] = cc
			out, err := yaml.Marshal(cfg)
			if err != nil {
				t.Fatal(err)
			}
			body = string(out)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	out := make([]string, 0, len(args))
	for _, a := range args {
		out = append(out, strings.ReplaceAll(a, mountPath, dir))
	}
	return out
}

func (r *localReplicas) url(name, path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", r.ports[name], path)
}

// Leader is the replica whose log says it acquired the Lease and that is
// still alive (both run on one host, so the holder identity's hostname part
// does not tell them apart).
func (r *localReplicas) Leader(ctx context.Context) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var leaders []string
	for name, p := range r.procs {
		if done, _ := p.Exited(); done {
			continue
		}
		if strings.Contains(readFile(p.LogPath), `"Successfully acquired lease" lock="`+mlNamespace+"/"+mlLease+`"`) {
			leaders = append(leaders, name)
		}
	}
	if len(leaders) != 1 {
		return "", fmt.Errorf("want exactly one live replica holding the lease, have %v", leaders)
	}
	return leaders[0], nil
}

func (r *localReplicas) Kill(_ context.Context, name string) error {
	p, err := r.proc(name)
	if err != nil {
		return err
	}
	return p.Kill()
}

func (r *localReplicas) Logs() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]string{}
	for name, p := range r.procs {
		out[name] = readFile(p.LogPath)
	}
	return out
}

// probe reports the status code of a probe path on a replica.
func (r *localReplicas) probe(name, path string) (int, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: insecureTransport()}
	defer client.CloseIdleConnections()
	r.mu.Lock()
	url := r.url(name, path)
	r.mu.Unlock()
	resp, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}
