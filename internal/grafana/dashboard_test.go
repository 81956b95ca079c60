package grafana

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMetricNames(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`sum by (rule) (rate(ml_scheduler_pods_placed_total[$__rate_interval]))`, []string{"ml_scheduler_pods_placed_total"}},
		{`histogram_quantile(0.99, sum by (le) (rate(scheduler_scheduling_attempt_duration_seconds_bucket{profile="ml-scheduler",result=~"sched.*"}[5m])))`,
			[]string{"scheduler_scheduling_attempt_duration_seconds_bucket"}},
		{`sum(rate(a_sum{x="y"}[1m])) / sum(rate(a_count[1m])) > bool 1e3`, []string{"a_count", "a_sum"}},
		{`max without (instance) (ml_scheduler_policy_info) * on (hash) group_left (x) other_metric offset 5m`,
			[]string{"ml_scheduler_policy_info", "other_metric"}},
		{`label_values(ml_scheduler_pod_rejections_total{rule!="x"}, reason)`, []string{"ml_scheduler_pod_rejections_total"}},
		{`count(up{job="$job"}) and $custom_var`, []string{"up"}},
		{`vector(1)`, nil},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, MetricNames(tt.expr)); diff != "" {
			t.Errorf("MetricNames(%q) (-want +got):\n%s", tt.expr, diff)
		}
	}
}

func TestUnknown(t *testing.T) {
	file := filepath.Join(t.TempDir(), "d.json")
	doc := `{"title": "t", "panels": [
	  {"type": "row", "title": "r", "panels": [{"title": "nested", "targets": [{"expr": "rate(nested_total[1m])"}]}]},
	  {"title": "a", "targets": [{"expr": "rate(known_total[1m])"}, {"expr": "h_bucket + h_count + h_sum"}]},
	  {"title": "typo", "targets": [{"expr": "rate(knwon_total[1m])"}]}],
	 "templating": {"list": [{"name": "v", "type": "query", "query": {"query": "label_values(var_metric, l)"}}]}}`
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	d, err := Load(file)
	if err != nil {
		t.Fatal(err)
	}
	got := d.Unknown(map[string]bool{"known_total": true}, map[string]bool{"h": true})
	want := []string{"nested_total", "knwon_total", "var_metric"}
	if len(got) != len(want) {
		t.Fatalf("Unknown = %q, want one entry each for %q", got, want)
	}
	for i, w := range want {
		if !strings.Contains(got[i], " "+w+" is not a metric") {
			t.Errorf("Unknown[%d] = %q, want it to name %s", i, got[i], w)
		}
	}
	if !strings.Contains(got[1], `panels[2].targets[0] ("typo")`) {
		t.Errorf("Unknown[1] = %q, want it to say where: panels[2].targets[0] (\"typo\")", got[1])
	}
}
