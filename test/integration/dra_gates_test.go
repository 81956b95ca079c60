package integration

import (
	"fmt"
	"regexp"
	"slices"
	"testing"
)

// draGates are the feature gates GPU sharing through DRA needs. In
// v1.37.2 both are on by default (DRAConsumableCapacity beta,
// DRAExtendedResource GA and locked), so neither the control plane nor the
// scheduler sets them.
var draGates = []string{"DynamicResourceAllocation", "DRAConsumableCapacity", "DRAExtendedResource"}

// TestDRAAPIServed: the embedded kube-apiserver serves resource.k8s.io/v1
// and both it and the ml-scheduler binary run with the DRA gates on, read
// from their kubernetes_feature_enabled metric.
func TestDRAAPIServed(t *testing.T) {
	ctx := ctxFor(t)
	res, err := env.client.Discovery().ServerResourcesForGroupVersion("resource.k8s.io/v1")
	if err != nil {
		t.Fatalf("discovery of resource.k8s.io/v1: %v", err)
	}
	var served []string
	for _, r := range res.APIResources {
		served = append(served, r.Name)
	}
	for _, want := range []string{"deviceclasses", "resourceclaims", "resourceclaimtemplates", "resourceslices"} {
		if !slices.Contains(served, want) {
			t.Fatalf("resource.k8s.io/v1 does not serve %s (serves %v)", want, served)
		}
	}
	raw, err := env.client.CoreV1().RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		t.Fatalf("kube-apiserver /metrics: %v", err)
	}
	apiGates := enabledGates(t, string(raw))
	schedMetrics, err := scheduler(t).Metrics(ctx)
	if err != nil {
		t.Fatal(err)
	}
	schedGates := enabledGates(t, schedMetrics)
	t.Logf("PROVED: kube-apiserver serves resource.k8s.io/v1 %v; DRA gates (kubernetes_feature_enabled) on kube-apiserver: %v; on ml-scheduler: %v",
		served, apiGates, schedGates)
}

// enabledGates returns "gate=stage" for each of draGates, failing the test
// when the metric text does not show it enabled.
func enabledGates(t *testing.T, metrics string) []string {
	t.Helper()
	var out []string
	for _, g := range draGates {
		re := regexp.MustCompile(`kubernetes_feature_enabled\{name="` + g + `",stage="([A-Z]*)"\} (\d)`)
		m := re.FindStringSubmatch(metrics)
		if m == nil {
			t.Fatalf("no kubernetes_feature_enabled for %s", g)
		}
		if m[2] != "1" {
			t.Fatalf("feature gate %s (%s) is off", g, m[1])
		}
		stage := m[1]
		if stage == "" {
			stage = "GA"
		}
		out = append(out, fmt.Sprintf("%s=%s", g, stage))
	}
	return out
}
