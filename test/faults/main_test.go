package faults

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/ml-scheduler/ml-scheduler/internal/cluster"
	"github.com/ml-scheduler/ml-scheduler/internal/controlplane"
)

const (
	// FaultsEnv gates the suite, as ML_SCHEDULER_E2E gates test/e2e.
	FaultsEnv = "ML_SCHEDULER_FAULTS"
	// PodsEnv sets the backlog size; OutEnv names the JSON figures file.
	PodsEnv = "ML_SCHEDULER_FAULTS_PODS"
	OutEnv  = "ML_SCHEDULER_FAULTS_OUT"

	defaultPods = 2000

	// mlNamespace holds the policy ConfigMaps and the Leases.
	mlNamespace = "ml-scheduler"
)

// env is the package's one control plane; scenarios run one at a time,
// each on its own namespaces, nodes, policy ConfigMap and Leases.
var env struct {
	cp *controlplane.ControlPlane
	// client has a request timeout, so a call made while the apiserver is
	// frozen fails instead of hanging.
	client kubernetes.Interface
	pods   int
}

func TestMain(m *testing.M) {
	if os.Getenv(FaultsEnv) == "" {
		os.Exit(m.Run()) // the tests skip themselves
	}
	os.Exit(start(m))
}

func start(m *testing.M) int {
	env.pods = defaultPods
	if v := os.Getenv(PodsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 40 {
			fmt.Fprintf(os.Stderr, "%s=%q: want a number of pods >= 40\n", PodsEnv, v)
			return 2
		}
		env.pods = n
	}
	ctx := context.Background()
	cp, err := controlplane.Start(ctx, controlplane.Options{Logf: func(f string, a ...any) {
		fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05.000 ")+f+"\n", a...)
	}})
	if err != nil {
		fmt.Fprintf(os.Stderr, "starting the control plane: %v\n", err)
		return 1
	}
	defer cp.Stop()
	cfg := rest.CopyConfig(cp.Config)
	cfg.Timeout = 30 * time.Second
	env.cp = cp
	if env.client, err = kubernetes.NewForConfig(cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := cluster.EnsureNamespaces(ctx, env.client, mlNamespace); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// GPU sharing pods need the DRA DeviceClass; it stays for the run.
	if err := cluster.EnsureDeviceClass(ctx, env.client); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return m.Run()
}
