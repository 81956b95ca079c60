package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

// SchedulerOptions configure one scheduler process (ml-scheduler, or the
// stock kube-scheduler for StartKubeScheduler).
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
	// ExtraArgs are appended to the command line. For ml-scheduler
	// (StartScheduler) a --feature-gates among them is merged over
	// controlplane.PodGroupFeatureGates, which it always gets.
	ExtraArgs []string

	// Config, if set, is a KubeSchedulerConfiguration
	// (kubescheduler.config.k8s.io/v1 YAML, e.g. manifests/base/scheduler-config.yaml)
	// run instead of the built-in one. Its profiles, plugins and
	// pluginConfig are kept as written (PolicyNamespace/PolicyName are not
	// used: the config names its ConfigMap); StartScheduler overwrites
	// clientConnection.kubeconfig with Kubeconfig, clientConnection.qps and
	// burst with QPS and Burst, and leaderElection as LeaderElect says.
	Config []byte
	// QPS and Burst of the scheduler's client, with Config (default 5000
	// and 5000, as scheduler_perf raises them, so a replay measures
	// scheduling rather than client-side throttling).
	QPS   float32
	Burst int32
	// LeaderElect, with Config: false (the default) turns leader election
	// off (one replica); true keeps it on, on the lease
	// LeaseNamespace/LeaseName, with the config's durations.
	LeaderElect bool
}

// Scheduler is a running scheduler process.
type Scheduler struct {
	*controlplane.Process
	Port       int
	ConfigPath string
}

// schedulerConfig is the KubeSchedulerConfiguration users write: one profile
// named ml-scheduler with the MLPolicy plugin on top of the defaults, leader
// election on its own lease, client QPS raised as scheduler_perf does.
// MLPolicy has score weight 5 and, as in manifests/base, the generic
// resource scores are off so the policy's packing decides.
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
      # As shipped: MLPolicy is the gang placement generator.
      disabled:
      - name: TopologyPlacementGenerator
    # Listed again so its Filter runs first: bit tests refuse a node before
    # the costlier default filters run, with a reason in policy terms. (Not
    # PreFilter: an early refusal there would skip other plugins' PreFilter
    # state that their PostFilter reads.)
    filter:
      enabled:
      - name: MLPolicy
    # As shipped: the policy's packing decides, not the generic resource scores.
    score:
      disabled:
      - name: NodeResourcesFit
      - name: NodeResourcesBalancedAllocation
    # MLPolicy binds its pods: the Binding carries the rule and policy hash
    # as annotations, which the apiserver copies onto the pod.
    bind:
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
// Without o.Config the config is the built-in one (profile ml-scheduler,
// MLPolicy on the ConfigMap PolicyNamespace/PolicyName, leader election on
// LeaseNamespace/LeaseName). It runs with the PodGroup feature gates on, as
// manifests/base does; on a control plane without the PodGroup API the
// binary turns them off itself and logs a warning.
func StartScheduler(ctx context.Context, cp *controlplane.ControlPlane, o SchedulerOptions) (*Scheduler, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Name, "ml-scheduler")
	def(&o.Binary, filepath.Join(cp.BinDir, "ml-scheduler"))
	args, err := controlplane.MergeFeatureGates(o.ExtraArgs, controlplane.PodGroupFeatureGates)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", o.Name, err)
	}
	o.ExtraArgs = args
	return startScheduler(ctx, cp, o, "run `make build`")
}

// StartKubeScheduler starts the stock kube-scheduler binary
// (<bin dir>/kube-scheduler unless o.Binary is set) with o.Config, which it
// requires (the built-in config enables MLPolicy, which the stock binary
// does not know), completed as for StartScheduler. The pods it places must
// name one of the config's profiles in spec.schedulerName (a config without
// profiles serves default-scheduler).
func StartKubeScheduler(ctx context.Context, cp *controlplane.ControlPlane, o SchedulerOptions) (*Scheduler, error) {
	if len(o.Config) == 0 {
		return nil, fmt.Errorf("kube-scheduler: a KubeSchedulerConfiguration (SchedulerOptions.Config) is required")
	}
	if o.Name == "" {
		o.Name = "kube-scheduler"
	}
	if o.Binary == "" {
		o.Binary = filepath.Join(cp.BinDir, "kube-scheduler")
	}
	return startScheduler(ctx, cp, o, "run hack/build-e2e-binaries.sh")
}

func startScheduler(ctx context.Context, cp *controlplane.ControlPlane, o SchedulerOptions, howToBuild string) (*Scheduler, error) {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&o.Kubeconfig, cp.Kubeconfig)
	def(&o.PolicyNamespace, "ml-scheduler")
	def(&o.PolicyName, "ml-scheduler-policy")
	def(&o.LeaseNamespace, "ml-scheduler")
	def(&o.LeaseName, "ml-scheduler")
	if o.Verbosity == 0 {
		o.Verbosity = 2
	}
	if _, err := os.Stat(o.Binary); err != nil {
		return nil, fmt.Errorf("%s binary: %w (%s)", filepath.Base(o.Binary), err, howToBuild)
	}
	cfg := filepath.Join(cp.WorkDir, o.Name+"-config.yaml")
	body := []byte(fmt.Sprintf(schedulerConfig, o.Kubeconfig, o.LeaseNamespace, o.LeaseName, o.PolicyNamespace, o.PolicyName))
	if len(o.Config) > 0 {
		var err error
		if body, err = completeConfig(o); err != nil {
			return nil, err
		}
	}
	if err := os.WriteFile(cfg, body, 0o600); err != nil {
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
		return nil, fmt.Errorf("%s not healthy: %w\n%s", o.Name, err, proc.LogTail(40))
	}
	return s, nil
}

// URL of a path on the scheduler's secure port.
func (s *Scheduler) URL(path string) string {
	return fmt.Sprintf("https://127.0.0.1:%d%s", s.Port, path)
}

// completeConfig returns o.Config with clientConnection and leaderElection
// set for this control plane. It edits the YAML as a generic map, so every
// other field (plugin args included) reaches the binary as written; the
// binary decodes and validates the result strictly.
func completeConfig(o SchedulerOptions) ([]byte, error) {
	var doc map[string]interface{}
	if err := yaml.Unmarshal(o.Config, &doc); err != nil {
		return nil, fmt.Errorf("scheduler configuration: %w", err)
	}
	if doc == nil {
		doc = map[string]interface{}{}
	}
	if kind, _ := doc["kind"].(string); kind != "KubeSchedulerConfiguration" {
		return nil, fmt.Errorf("scheduler configuration: kind is %q, want KubeSchedulerConfiguration", kind)
	}
	qps, burst := o.QPS, o.Burst
	if qps == 0 {
		qps = 5000
	}
	if burst == 0 {
		burst = 5000
	}
	cc, _ := doc["clientConnection"].(map[string]interface{})
	if cc == nil {
		cc = map[string]interface{}{}
	}
	cc["kubeconfig"] = o.Kubeconfig
	cc["qps"] = qps
	cc["burst"] = burst
	doc["clientConnection"] = cc
	le, _ := doc["leaderElection"].(map[string]interface{})
	if le == nil {
		le = map[string]interface{}{}
	}
	le["leaderElect"] = o.LeaderElect
	if o.LeaderElect {
		le["resourceLock"] = "leases"
		le["resourceNamespace"] = o.LeaseNamespace
		le["resourceName"] = o.LeaseName
	}
	doc["leaderElection"] = le
	return yaml.Marshal(doc)
}
