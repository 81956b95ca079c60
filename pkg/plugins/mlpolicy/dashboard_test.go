package mlpolicy

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"k8s.io/component-base/metrics/legacyregistry"
	schedmetrics "k8s.io/kubernetes/pkg/scheduler/metrics"

	"github.com/ml-scheduler/ml-scheduler/internal/grafana"
	"github.com/ml-scheduler/ml-scheduler/pkg/policystore"
)

// dashboardFile is the Grafana dashboard shipped with the manifests.
var dashboardFile = filepath.Join("..", "..", "..", "manifests", "grafana", "ml-scheduler-dashboard.json")

// TestDashboardQueriesRegisteredMetrics: every metric the shipped dashboard
// queries is one the scheduler registers (ours, the policy store's and
// kube-scheduler's), so the dashboard cannot drift from the code; it shows
// every metric of ours, and kube-scheduler's only for the ml-scheduler profile.
func TestDashboardQueriesRegisteredMetrics(t *testing.T) {
	// What the ml-scheduler binary registers: kube-scheduler's metrics and
	// the plugin's (New registers both of ours).
	schedmetrics.Register()
	RegisterMetrics()
	policystore.RegisterMetrics()
	// Vectors are gathered once they have a child.
	podsPlaced.WithLabelValues("dashboard-test")
	podRejections.WithLabelValues(RejectOther, "dashboard-test")
	policystore.New().Swap(mustLoad(t, filterPolicy), "dashboard-test")
	policystore.RecordReload(policystore.ResultUnchanged)
	schedmetrics.PodScheduled("dashboard-test", 0.01)
	schedmetrics.PodUnschedulable("dashboard-test", 0.01)

	families, err := legacyregistry.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	known, histograms := map[string]bool{}, map[string]bool{}
	for _, f := range families {
		known[f.GetName()] = true
		if f.GetType() == dto.MetricType_HISTOGRAM {
			histograms[f.GetName()] = true
		}
	}
	d, err := grafana.Load(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range d.Unknown(known, histograms) {
		t.Error(u)
	}

	used := map[string]bool{}
	for _, q := range d.Queries() {
		for _, n := range grafana.MetricNames(q.Expr) {
			used[n] = true
			if strings.HasPrefix(n, "scheduler_") && !strings.Contains(q.Expr, `profile="ml-scheduler"`) {
				t.Errorf("%s queries kube-scheduler's %s for every profile, want profile=\"ml-scheduler\": %s", q.Where, n, q.Expr)
			}
		}
	}
	for _, want := range []string{
		"ml_scheduler_pods_placed_total", "ml_scheduler_pod_rejections_total",
		"ml_scheduler_policy_reloads_total", "ml_scheduler_policy_info", "ml_scheduler_policy_generation", "ml_scheduler_policy_last_reload_success",
		"scheduler_schedule_attempts_total", "scheduler_scheduling_attempt_duration_seconds_bucket",
	} {
		if !used[want] {
			t.Errorf("the dashboard shows no panel of %s", want)
		}
	}
	if t.Failed() {
		names := make([]string, 0, len(used))
		for n := range used {
			names = append(names, n)
		}
		slices.Sort(names)
		t.Logf("metrics the dashboard queries: %v", names)
	}
}
