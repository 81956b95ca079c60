//go:build schedperf

package bench

import (
	"fmt"
	"os"
	"testing"

	_ "k8s.io/component-base/logs/json/register"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"
	perf "k8s.io/kubernetes/test/integration/scheduler_perf"

	_ "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/scheme" // MLPolicyArgs in the config scheme
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

// The test binary is built once (make bench builds .cache/bench.test) and
// run by cmd/mlbench, once per measured cell, from this directory: the
// scheduler_perf config it runs is named by $MLBENCH_CONFIG (written by
// mlbench: one test case, one workload) and every path in it is relative to
// bench/.

func TestMain(m *testing.M) {
	if err := perf.InitTests(); err != nil {
		fmt.Fprintf(os.Stderr, "%v\n", err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

func BenchmarkPerfScheduling(b *testing.B) {
	config := os.Getenv("MLBENCH_CONFIG")
	if config == "" {
		b.Skip("MLBENCH_CONFIG is not set: run the benchmark with `make bench` or `make bench-quick`")
	}
	// Collect the plugin's own execution metrics next to the in-tree ones.
	perf.PluginNames = append(perf.PluginNames, mlpolicy.Name)
	registry := frameworkruntime.Registry{mlpolicy.Name: mlpolicy.New}
	perf.RunBenchmarkPerfScheduling(b, config, "mlbench", registry)
}
