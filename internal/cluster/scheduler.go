package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

// SchedulerOptions configure one ml-scheduler process.
type SchedulerOptions struct {
	// Name identifies the process in logs and file names (default ml-scheduler).
	Name string
	// Binary defaults to <bin dir>/ml-scheduler.
	Binary string
	// Kubeconfig defaults to the control plane's admin kubeconfig.
	Kubeconfig string
	// PolicyNamespace/PolicyName: the policy ConfigMap (default ml-scheduler/ml-scheduler-policy).
	PolicyNamespace, PolicyName string
	// LeaseNamespace/LeaseName: the leader-election lease (default ml-scheduler/ml-scheduler).
	LeaseNamespace, LeaseName string
	// Verbosity is klog's -v (default 2).
	Verbosity int
	ExtraArgs []string
}

// Scheduler is a running ml-scheduler process.
type Scheduler struct {
	*controlplane.Process
	Port       int
	ConfigPath string
}

// schedulerConfig is the KubeSchedulerConfiguration users write: one profile
// named ml-scheduler with the MLPolicy plugin on top of the defaults, leader
// election on its own lease, client QPS raised as scheduler_perf does.
// MLPolicy's score weight is 5 so that GPU BinPack outweighs the default
// LeastAllocated CPU/memory score (weight 1), which pulls the other way.
const schedulerConfig = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 200
  burst: 400
leaderElection:
  leaderElect: true
  resourceNamespace: %s
  resourceName: %s
  leaseDuration: 4s
  renewDeadline: 3s
  retryPeriod: 1s
profiles:
- schedulerName: ml-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: MLPolicy
        weight: 5
    # Listed again so its Filter runs first: bit tests refuse a node before
    # the costlier default filters run, with a reason in policy terms. (Not
    # PreFilter: an early refusal there would skip other plugins' PreFilter
    # state that their PostFilter reads.)
    filter:
      enabled:
      - name: MLPolicy
  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap:
        namespace: %s
        name: %s
`

// StartScheduler writes a scheduler config and starts ml-scheduler as a
// second scheduler against the control plane, returning once it is healthy.
func StartScheduler(ctx context.Context, cp *controlplane.ControlPlane, o SchedulerOptions) (*Scheduler, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Name, "ml-scheduler")
	def(&o.Binary, filepath.Join(cp.BinDir, "ml-scheduler"))
	def(&o.Kubeconfig, cp.Kubeconfig)
	def(&o.PolicyNamespace, "ml-scheduler")
	def(&o.PolicyName, "ml-scheduler-policy")
	def(&o.LeaseNamespace, "ml-scheduler")
	def(&o.LeaseName, "ml-scheduler")
	if o.Verbosity == 0 {
		o.Verbosity = 2
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("ml-scheduler binary: %w (run `make build`)", err)
	}
	cfg := filepath.Join(cp.WorkDir, o.Name+"-config.yaml")
	body := fmt.Sprintf(schedulerConfig, o.Kubeconfig, o.LeaseNamespace, o.LeaseName, o.PolicyNamespace, o.PolicyName)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	port, err := controlplane.FreePort()
	if err != nil {
		return nil, err
	}
	args := append([]string{
		"--config=" + cfg,
		"--bind-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(port),
		"--authentication-kubeconfig=" + o.Kubeconfig,
		"--authorization-kubeconfig=" + o.Kubeconfig,
		"--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
		// The test apiserver has no client CA, so there is nothing to look up.
		"--authentication-skip-lookup=true",
		"-v=" + strconv.Itoa(o.Verbosity),
	}, o.ExtraArgs...)
	proc, err := controlplane.StartProcess(ctx, o.Name, filepath.Join(cp.WorkDir, o.Name+".log"), o.Binary, args...)
	if err != nil {
		return nil, err
	}
	s := &Scheduler{Process: proc, Port: port, ConfigPath: cfg}
	if err := controlplane.WaitHealthy(ctx, s.URL("/healthz"), true, time.Minute); err != nil {
		_ = proc.Stop()
		return nil, fmt.Errorf("ml-scheduler not healthy: %w\n%s", err, proc.LogTail(40))
	}
	return s, nil
}

// URL of a path on the scheduler's secure port.
func (s *Scheduler) URL(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", s.Port, path)
}
