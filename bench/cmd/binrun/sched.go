package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
	"github.com/ml-scheduler/ml-scheduler/internal/gangsupport"
)

// Both schedulers run as users deploy them, as a second scheduler next to
// (no) default one, with the client QPS/burst raised to 5000 as scheduler_perf
// raises them, so the numbers measure scheduling rather than client-side
// throttling. Leader election is off: one replica each.
const clientAndLeader = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 5000
  burst: 5000
leaderElection:
  leaderElect: false
`

// kube-scheduler v1.37.2: (a) the default profile and (c) the profile a user
// writes without ml-scheduler (MostAllocated GPU scoring; the constraints
// are nodeAffinity in the pods).
const kubeSchedulerProfiles = `profiles:
- schedulerName: bench-default
- schedulerName: bench-affinity
  pluginConfig:
  - name: NodeResourcesFit
    args:
      scoringStrategy:
        type: MostAllocated
        resources:
        - {name: cpu, weight: 1}
        - {name: memory, weight: 1}
        - {name: nvidia.com/gpu, weight: 5}
`

// singleDefaultProfile is (a)'s profile alone: what the ml-scheduler
// binary runs to show the memory MLPolicy adds to a one-profile scheduler.
const singleDefaultProfile = `profiles:
- schedulerName: bench-default
`

// ml-scheduler: (b) the default plugins plus MLPolicy, the policy read from
// its ConfigMap as deployed.
const mlSchedulerProfiles = `profiles:
- schedulerName: ml-scheduler
  plugins:
    multiPoint:
      enabled:
      - name: MLPolicy
      # MLPolicy is the gang placement generator (a profile has at most one).
      disabled:
      - name: TopologyPlacementGenerator
    # As shipped: MLPolicy binds, the Binding carrying rule and policy hash.
    bind:
      enabled:
      - name: MLPolicy
  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap: {namespace: %s, name: %s}
`

// schedulerProc is a running scheduler binary.
type schedulerProc struct {
	*controlplane.Process
	port int
}

func startScheduler(ctx context.Context, cp *controlplane.ControlPlane, name, binary, profiles string) (*schedulerProc, error) {
	cfg := filepath.Join(cp.WorkDir, name+"-config.yaml")
	body := fmt.Sprintf(clientAndLeader, cp.Kubeconfig) + profiles
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		return nil, err
	}
	port, err := controlplane.FreePort()
	if err != nil {
		return nil, err
	}
	proc, err := controlplane.StartProcess(ctx, name, filepath.Join(cp.WorkDir, name+".log"), binary,
		"--config="+cfg,
		"--bind-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(port),
		"--authentication-kubeconfig="+cp.Kubeconfig,
		"--authorization-kubeconfig="+cp.Kubeconfig,
		"--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics,"+profilePaths,
		"--authentication-skip-lookup=true",
		// Both schedulers with the workload gates, as ml-scheduler is shipped.
		gangsupport.SchedulerFlag,
		"-v=2",
	)
	if err != nil {
		return nil, err
	}
	s := &schedulerProc{Process: proc, port: port}
	if err := controlplane.WaitHealthy(ctx, fmt.Sprintf("https://127.0.0.1:%d/readyz", port), true, 2*time.Minute); err != nil {
		_ = proc.Stop()
		return nil, fmt.Errorf("%s not ready: %w\n%s", name, err, proc.LogTail(40))
	}
	return s, nil
}

// cpuSeconds is the process's user+system CPU time so far (/proc/<pid>/stat).
func cpuSeconds(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	s := string(b)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(fields) < 13 {
		return 0, fmt.Errorf("short /proc/%d/stat", pid)
	}
	ut, err1 := strconv.ParseFloat(fields[11], 64)
	st, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("parsing /proc/%d/stat", pid)
	}
	const clockTicks = 100 // USER_HZ on Linux
	return (ut + st) / clockTicks, nil
}

// pinBinary copies a scheduler binary to dst and returns its --version.
func pinBinary(src, dst string) (string, error) {
	b, err := os.ReadFile(src)
	if err != nil {
		return "", fmt.Errorf("%w (ml-scheduler: make build; kube-scheduler: see bench/README.md)", err)
	}
	if err := os.WriteFile(dst, b, 0o755); err != nil {
		return "", err
	}
	out, err := exec.Command(dst, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", dst, err)
	}
	return strings.TrimSpace(string(out)), nil
}
