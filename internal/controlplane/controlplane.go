// Package controlplane runs a real etcd and kube-apiserver on loopback for
// the tests, the demo and the benchmark (bench/cmd/binrun). There is no
// kube-controller-manager: no ServiceAccounts/tokens are created, no garbage
// collection happens and deleted namespaces stay Terminating; tests create
// what they need directly. kube-apiserver serves the PodGroup API
// (scheduling.k8s.io/v1beta1, gang scheduling) unless
// Options.WithoutPodGroupAPI.
package controlplane

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	// BinDirEnv overrides where etcd and kube-apiserver are looked up.
	BinDirEnv = "ML_SCHEDULER_BIN_DIR"
	// KeepEnv, when set to a non-empty value, makes Stop keep the WorkDir
	// (data, certs, logs) for inspection.
	KeepEnv = "ML_SCHEDULER_KEEP"

	modulePath = "github.com/ml-scheduler/ml-scheduler"
)

// Options configures Start. The zero value is usable.
type Options struct {
	// BinDir holds the etcd and kube-apiserver binaries. Default:
	// $ML_SCHEDULER_BIN_DIR, else <repo root>/.cache/bin.
	BinDir string
	// WorkDir receives data, certs, keys, the kubeconfig and logs. Default: a
	// new temp dir, which Stop removes (a caller-provided dir is left alone).
	WorkDir string
	// Logf receives progress lines (e.g. t.Logf). Optional.
	Logf func(format string, args ...any)
	// Timeout bounds the whole start (default 3m; 2 shared cores are slow).
	Timeout time.Duration
	// WithoutPodGroupAPI starts kube-apiserver as a cluster has it by
	// default: without the PodGroup API and its gates. By default it serves
	// scheduling.k8s.io/v1beta1 (PodGroupFeatureGates on and
	// --runtime-config=scheduling.k8s.io/v1beta1=true).
	WithoutPodGroupAPI bool
	// FeatureGates are merged into kube-apiserver's --feature-gates, over
	// PodGroupFeatureGates. Optional.
	FeatureGates map[string]bool
}

// ControlPlane is a running etcd + kube-apiserver pair.
type ControlPlane struct {
	URL        string       // https://127.0.0.1:<port>
	Token      string       // admin bearer token (user "admin", group system:masters)
	Config     *rest.Config // admin config, QPS/Burst raised, TLS verification off
	Kubeconfig string       // kubeconfig file for the admin (--kubeconfig, kubectl)
	WorkDir    string
	BinDir     string // where etcd and kube-apiserver were found
	EtcdURL    string // http://127.0.0.1:<port>

	Etcd      *Process
	APIServer *Process

	client        kubernetes.Interface
	removeWorkDir bool
	stopOnce      sync.Once
	logf          func(format string, args ...any)
}

// Start launches etcd and kube-apiserver and returns once the apiserver is
// ready and the default namespace exists. On failure everything started so
// far is stopped and the error carries the relevant log tail.
func Start(ctx context.Context, opts Options) (_ *ControlPlane, retErr error) {
	begin := time.Now()
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()

	binDir, err := resolveBinDir(opts.BinDir)
	if err != nil {
		return nil, err
	}
	etcdBin, apiserverBin := filepath.Join(binDir, "etcd"), filepath.Join(binDir, "kube-apiserver")
	for _, b := range []string{etcdBin, apiserverBin} {
		if st, err := os.Stat(b); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return nil, fmt.Errorf("control-plane binary %s is missing or not executable: "+
				"run hack/build-control-plane.sh (or make test), or set %s", b, BinDirEnv)
		}
	}

	c := &ControlPlane{WorkDir: opts.WorkDir, BinDir: binDir, logf: opts.Logf}
	if c.logf == nil {
		c.logf = func(string, ...any) {}
	}
	if c.WorkDir == "" {
		if c.WorkDir, err = os.MkdirTemp("", "ml-scheduler-cp-"); err != nil {
			return nil, err
		}
		c.removeWorkDir = true
	} else if err := os.MkdirAll(c.WorkDir, 0o755); err != nil {
		return nil, err
	}
	defer func() {
		if retErr != nil {
			c.Stop()
		}
	}()
	c.logf("control plane: workdir %s, binaries from %s", c.WorkDir, binDir)

	if err := c.startEtcd(ctx, etcdBin); err != nil {
		return nil, err
	}
	c.logf("control plane: etcd healthy at %s after %v", c.EtcdURL, time.Since(begin).Round(time.Millisecond))
	gateArgs := apiServerGateArgs(opts)
	if len(gateArgs) > 0 {
		c.logf("control plane: kube-apiserver with %s", strings.Join(gateArgs, " "))
	}
	if err := c.startAPIServer(ctx, apiserverBin, gateArgs); err != nil {
		return nil, err
	}
	c.logf("control plane: kube-apiserver ready at %s after %v (kubeconfig %s)",
		c.URL, time.Since(begin).Round(time.Millisecond), c.Kubeconfig)
	return c, nil
}

// Client returns an admin clientset.
func (c *ControlPlane) Client() kubernetes.Interface { return c.client }

// Stop kills the apiserver and etcd (process groups) and removes the WorkDir
// unless it was caller-provided or $ML_SCHEDULER_KEEP is set. Idempotent and
// safe to call concurrently (t.Cleanup plus a signal handler); later callers
// wait for the first to finish.
func (c *ControlPlane) Stop() {
	c.stopOnce.Do(func() {
		// Data is thrown away, so no graceful shutdown is worth waiting for.
		for _, p := range []*Process{c.APIServer, c.Etcd} {
			if p != nil {
				p.StopGrace = 3 * time.Second
				if err := p.Stop(); err != nil {
					c.logf("control plane: stopping %s: %v", p.Name, err)
				}
			}
		}
		switch {
		case os.Getenv(KeepEnv) != "":
			c.logf("control plane: stopped; keeping %s (%s set)", c.WorkDir, KeepEnv)
		case c.removeWorkDir:
			if err := os.RemoveAll(c.WorkDir); err != nil {
				c.logf("control plane: removing %s: %v", c.WorkDir, err)
			}
		}
	})
}

// startWithPortRetry runs start, retrying a few times when a freshly picked
// port was grabbed by someone else before the server bound it.
func startWithPortRetry(what string, start func() (*Process, error)) (*Process, error) {
	var err error
	for attempt := 1; attempt <= 3; attempt++ {
		var p *Process
		if p, err = start(); err == nil {
			return p, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("%s: %w", what, err)
}

// failed stops p and wraps err with the tail of its log.
func failed(p *Process, err error) error {
	_ = p.Kill()
	return fmt.Errorf("%s: %w\n--- last lines of %s ---\n%s", p.Name, err, p.LogPath, p.LogTail(40))
}

func resolveBinDir(dir string) (string, error) {
	if dir == "" {
		dir = os.Getenv(BinDirEnv)
	}
	if dir != "" {
		return filepath.Abs(dir)
	}
	root, err := RepoRoot()
	if err != nil {
		return "", fmt.Errorf("finding binaries: %w (set %s)", err, BinDirEnv)
	}
	return filepath.Join(root, ".cache", "bin"), nil
}

// RepoRoot finds the ml-scheduler repository root by walking up from the
// working directory, then from this source file (for binaries run elsewhere).
func RepoRoot() (string, error) {
	var starts []string
	if wd, err := os.Getwd(); err == nil {
		starts = append(starts, wd)
	}
	if _, file, _, ok := runtime.Caller(0); ok {
		starts = append(starts, filepath.Dir(file))
	}
	for _, dir := range starts {
		for {
			if isRepoRoot(dir) {
				return dir, nil
			}
			parent := filepath.Dir(dir)
			if parent == dir {
				break
			}
			dir = parent
		}
	}
	return "", errors.New("no go.mod of module " + modulePath + " above the working directory")
}

// isRepoRoot reports whether dir/go.mod declares our module (nested tool
// modules such as hack/tools/etcd declare other paths).
func isRepoRoot(dir string) bool {
	f, err := os.Open(filepath.Join(dir, "go.mod"))
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == modulePath
		}
	}
	return false
}
