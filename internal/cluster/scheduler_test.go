package cluster

import (
	"reflect"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

func TestCompleteConfig(t *testing.T) {
	in := []byte(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  qps: 50
leaderElection:
  leaderElect: true
  resourceNamespace: kube-system
  leaseDuration: 15s
profiles:
- schedulerName: ml-scheduler
  pluginConfig:
  - name: MLPolicy
    args:
      policyConfigMap: {namespace: ml-scheduler, name: ml-scheduler-policy}
`)
	decode := func(b []byte) map[string]interface{} {
		t.Helper()
		var m map[string]interface{}
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	want := decode(in)

	out, err := completeConfig(SchedulerOptions{Config: in, Kubeconfig: "/k/kubeconfig"})
	if err != nil {
		t.Fatal(err)
	}
	got := decode(out)
	if !reflect.DeepEqual(got["profiles"], want["profiles"]) {
		t.Errorf("profiles changed:\n%v\nwant\n%v", got["profiles"], want["profiles"])
	}
	wantCC := map[string]interface{}{"kubeconfig": "/k/kubeconfig", "qps": float64(5000), "burst": float64(5000)}
	if !reflect.DeepEqual(got["clientConnection"], wantCC) {
		t.Errorf("clientConnection = %v, want %v", got["clientConnection"], wantCC)
	}
	if le := got["leaderElection"].(map[string]interface{}); le["leaderElect"] != false {
		t.Errorf("leaderElection = %v, want leaderElect false", le)
	}

	out, err = completeConfig(SchedulerOptions{Config: in, Kubeconfig: "k", QPS: 7, Burst: 9, LeaderElect: true, LeaseNamespace: "ns", LeaseName: "lease"})
	if err != nil {
		t.Fatal(err)
	}
	got = decode(out)
	if cc := got["clientConnection"].(map[string]interface{}); cc["qps"] != float64(7) || cc["burst"] != float64(9) {
		t.Errorf("clientConnection = %v, want qps 7 burst 9", cc)
	}
	wantLE := map[string]interface{}{"leaderElect": true, "resourceLock": "leases", "resourceNamespace": "ns", "resourceName": "lease", "leaseDuration": "15s"}
	if !reflect.DeepEqual(got["leaderElection"], wantLE) {
		t.Errorf("leaderElection = %v, want %v", got["leaderElection"], wantLE)
	}

	// A config with neither section gets both.
	out, err = completeConfig(SchedulerOptions{Config: []byte("apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n"), Kubeconfig: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if got := decode(out); got["clientConnection"] == nil || got["leaderElection"] == nil {
		t.Errorf("sections missing: %s", out)
	}

	if _, err := completeConfig(SchedulerOptions{Config: []byte("kind: ConfigMap\n")}); err == nil || !strings.Contains(err.Error(), "want KubeSchedulerConfiguration") {
		t.Errorf("wrong kind: err = %v", err)
	}
}
