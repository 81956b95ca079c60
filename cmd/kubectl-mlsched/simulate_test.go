package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func execute(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
	cmd.SetArgs(args)
	err = cmd.Execute()
	return out.String(), errOut.String(), err
}

func write(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSimulateUsageErrors(t *testing.T) {
	dir := t.TempDir()
	nodes := write(t, dir, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,2,T4\n")
	pods := write(t, dir, "pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1024,1,1000\n")
	cfg := write(t, dir, "sched.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no workload", []string{"simulate", "--config", "a=" + cfg}, "no workload: give --nodes and --pods, or --snapshot"},
		{"nodes only", []string{"simulate", "--nodes", nodes, "--config", "a=" + cfg}, "--pods: required with --nodes"},
		{"both", []string{"simulate", "--nodes", nodes, "--pods", pods, "--snapshot", "s.yaml", "--config", "a=" + cfg}, "--snapshot: give either --snapshot or --nodes and --pods, not both"},
		{"no config", []string{"simulate", "--nodes", nodes, "--pods", pods}, "--config: at least one"},
		{"bad config", []string{"simulate", "--nodes", nodes, "--pods", pods, "--config", cfg}, `--config "` + cfg + `": want NAME=SCHEDCONFIG.yaml[:POLICY.yaml]`},
		{"empty config path", []string{"simulate", "--nodes", nodes, "--pods", pods, "--config", "a="}, `no scheduler configuration file after "a="`},
		{"twice", []string{"simulate", "--nodes", nodes, "--pods", pods, "--config", "a=" + cfg, "--config", "a=" + cfg}, `configuration name "a" given twice`},
		{"output", []string{"simulate", "--nodes", nodes, "--pods", pods, "--config", "a=" + cfg, "-o", "xml"}, `--output: "xml" is not one of table, markdown, json, yaml`},
		{"limit", []string{"simulate", "--nodes", nodes, "--pods", pods, "--config", "a=" + cfg, "--limit", "-1"}, "--limit: -1 is negative"},
		{"unknown flag", []string{"simulate", "--nodez", nodes}, "unknown flag: --nodez"},
		{"argument", []string{"simulate", "extra"}, `unexpected argument "extra"`},
		{"unknown verb", []string{"simulat"}, `unknown command "simulat"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			var u usageError
			if !errors.As(err, &u) {
				t.Fatalf("error %v is not a usage error (exit code 2)", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSimulateRuntimeErrors(t *testing.T) {
	dir := t.TempDir()
	nodes := write(t, dir, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,2,T4\n")
	badPods := write(t, dir, "pods.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli\np1,1000,1024,one,1000\n")
	cfg := write(t, dir, "sched.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\n")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"bad csv", []string{"simulate", "--nodes", nodes, "--pods", badPods, "--config", "a=" + cfg}, "--pods: " + badPods + `:2: column 4 (num_gpu): "one" is not an integer`},
		{"missing file", []string{"simulate", "--nodes", nodes, "--pods", badPods, "--config", "a=" + dir + "/nope.yaml"}, `--config "a=` + dir + `/nope.yaml": scheduler configuration: open`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			var u usageError
			if err == nil || errors.As(err, &u) {
				t.Fatalf("error %v, want a runtime error (exit code 1)", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSimulateRuns(t *testing.T) {
	dir := t.TempDir()
	nodes := write(t, dir, "nodes.csv", "sn,cpu_milli,memory_mib,gpu,model\nn1,8000,16384,2,T4\nn2,8000,16384,0,\n")
	pods := write(t, dir, "trace.csv", "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec\np1,1000,1024,1,500,T4\np2,1000,1024,2,1000,\np3,1000,1024,0,0,\n")
	cfg := write(t, dir, "sched.yaml", "apiVersion: kubescheduler.config.k8s.io/v1\nkind: KubeSchedulerConfiguration\nprofiles:\n- schedulerName: sim\n")
	plot := filepath.Join(dir, "out.svg")
	jsonFile := filepath.Join(dir, "out.json")
	stdout, _, err := execute(t, "simulate", "--nodes", nodes, "--pods", pods, "--config", "stock="+cfg,
		"--plot", plot, "--json", jsonFile, "--per-pod", "-o", "markdown", "--limit", "2")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "| trace | stock | 1/2 (50.0%) | #2 at 50.0% | #2 at 50.0% | 1/1 | 2-GPU 0/1 | 0/0 | 0 |") {
		t.Errorf("markdown output:\n%s", stdout)
	}
	if data, err := os.ReadFile(plot); err != nil || !bytes.HasPrefix(data, []byte("<svg")) {
		t.Errorf("plot: %v %.40q", err, data)
	}
	data, err := os.ReadFile(jsonFile)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Results []struct {
			SchedulerName string `json:"schedulerName"`
			Placements    []struct {
				Name, Node string
			} `json:"placements"`
		} `json:"results"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Results) != 1 || doc.Results[0].SchedulerName != "sim" || len(doc.Results[0].Placements) != 2 || doc.Results[0].Placements[0].Node != "n1" {
		t.Errorf("JSON: %s", data)
	}
}
