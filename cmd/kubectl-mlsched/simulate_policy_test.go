package main

import (
	"errors"
	"strings"
	"testing"
)

func TestSimulatePolicyUsageErrors(t *testing.T) {
	dir := t.TempDir()
	pol := write(t, dir, "new.yaml", "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no source", []string{"simulate", "--policy", pol}, "--policy: give exactly one of --from-cluster or --snapshot"},
		{"both sources", []string{"simulate", "--policy", pol, "--from-cluster", "--snapshot", "s.yaml"}, "--policy: give exactly one of --from-cluster or --snapshot"},
		{"csv", []string{"simulate", "--policy", pol, "--from-cluster", "--nodes", "n.csv"}, "--nodes/--pods: not used with --policy"},
		{"snapshot without old", []string{"simulate", "--policy", pol, "--snapshot", "s.yaml"}, "--old-policy: required with --snapshot"},
		{"two configs", []string{"simulate", "--policy", pol, "--from-cluster", "--config", "a.yaml", "--config", "b.yaml"}, "--config: give one scheduler configuration file with --policy, not 2"},
		{"plot", []string{"simulate", "--policy", pol, "--from-cluster", "--plot", "x.svg"}, "--plot/--json/--per-pod: not used with --policy"},
		{"output", []string{"simulate", "--policy", pol, "--from-cluster", "-o", "markdown"}, `--output: "markdown" is not one of text, json, yaml (with --policy)`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
}

func TestSimulatePolicyBadInput(t *testing.T) {
	dir := t.TempDir()
	good := write(t, dir, "good.yaml", "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\n")
	bad := write(t, dir, "bad.yaml", "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules:\n- name: Bad_Name\n")
	snap := write(t, dir, "snap.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Node\n  metadata: {name: n1}\n")
	cfg := write(t, dir, "sched.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: ml-scheduler\n  plugins:\n    multiPoint:\n      enabled:\n      - name: MLPolicy\n")
	stock := write(t, dir, "stock.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"new policy invalid", []string{"--policy", bad, "--old-policy", good, "--config", cfg}, "new policy (" + bad + "): "},
		{"old policy invalid", []string{"--policy", good, "--old-policy", bad, "--config", cfg}, "old policy (" + bad + "): "},
		{"missing file", []string{"--policy", dir + "/nope.yaml", "--old-policy", good, "--config", cfg}, "--policy: open "},
		{"no MLPolicy", []string{"--policy", good, "--old-policy", good, "--config", stock}, "does not enable MLPolicy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, append([]string{"simulate", "--snapshot", snap}, tc.args...)...)
			var u usageError
			if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a runtime error containing %q", err, tc.want)
			}
		})
	}
}
