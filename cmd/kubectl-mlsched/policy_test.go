package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/ml-scheduler/ml-scheduler/pkg/policycheck"
)

const checkSnapshot = `apiVersion: v1
kind: Node
metadata: {name: a100-0, labels: {nvidia.com/gpu.product: A100, pool: train}}
status: {allocatable: {cpu: "32", nvidia.com/gpu: "8"}}
---
apiVersion: v1
kind: Node
metadata: {name: l4-0, labels: {nvidia.com/gpu.product: L4, pool: infer}}
status: {allocatable: {cpu: "32", nvidia.com/gpu: "2"}}
---
apiVersion: v1
kind: Pod
metadata: {name: big, namespace: team}
spec:
  schedulerName: ml-scheduler
  containers: [{name: main, image: x, resources: {requests: {nvidia.com/gpu: "4"}, limits: {nvidia.com/gpu: "4"}}}]
`

const checkPolicy = `apiVersion: ml-scheduler.io/v1alpha1
kind: PlacementPolicy
pools:
- {name: infer, nodeSelector: {matchLabels: {pool: infer}}}
rules:
- {name: team, match: {namespaces: [team]}, pools: [infer]}
- {name: team-too, match: {namespaces: [team]}, gpuModels: [H100]}
`

func TestPolicyCheckUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no file", []string{"policy", "check"}, "--filename (-f): required"},
		{"live and snapshot", []string{"policy", "check", "-f", "p.yaml", "--live", "--snapshot", "s.yaml"}, "--snapshot: give either --live or --snapshot, not both"},
		{"output", []string{"policy", "check", "-f", "p.yaml", "-o", "wide"}, `--output: "wide" is not one of text, json, yaml`},
		{"unknown flag", []string{"policy", "check", "-f", "p.yaml", "--lve"}, "unknown flag: --lve"},
		{"argument", []string{"policy", "check", "p.yaml"}, `unexpected argument "p.yaml"`},
		{"unknown subcommand", []string{"policy", "chek"}, `unknown command "chek"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := execute(t, tc.args...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want a usage error containing %q", err, tc.want)
			}
		})
	}
}

// exitCode is the code main exits with for err.
func exitCode(err error) int {
	var u usageError
	var coded interface{ ExitCode() int }
	switch {
	case err == nil:
		return 0
	case errors.As(err, &u):
		return 2
	case errors.As(err, &coded):
		return coded.ExitCode()
	}
	return 1
}

func TestPolicyCheckSnapshot(t *testing.T) {
	dir := t.TempDir()
	snap := write(t, dir, "snapshot.yaml", checkSnapshot)
	pol := write(t, dir, "policy.yaml", checkPolicy)

	out, _, err := execute(t, "policy", "check", "-f", pol, "--snapshot", snap)
	if code := exitCode(err); code != exitPolicyFailed {
		t.Fatalf("exit %d (%v), want %d:\n%s", code, err, exitPolicyFailed, out)
	}
	for _, want := range []string{
		`WARNING rules[1].match: rule "team-too" is shadowed`,
		`WARNING rules[1].gpuModels[0]: no node has GPU model "H100"`,
		"ERROR rules[0].pools: pending pod team/big asks 4 GPUs",
		"1 error, 2 warnings",
		"cluster: snapshot " + snap + ": 2 nodes, 1 pending pod of ml-scheduler (namespaces: the 1 its pods are in)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, "ERROR ") {
		t.Errorf("errors are not listed first:\n%s", out)
	}

	// -o json is the report structure; pending pods of another scheduler
	// are not judged: no error left, exit 0 despite the warnings.
	out, _, err = execute(t, "policy", "check", "-f", pol, "--snapshot", snap, "--scheduler-name", "other", "-o", "json")
	if code := exitCode(err); code != 0 {
		t.Fatalf("exit %d (%v), want 0:\n%s", code, err, out)
	}
	var rep policycheck.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not a report: %v\n%s", err, out)
	}
	if rep.Source != pol || len(rep.Hash) != 16 || !rep.Accepted || rep.Errors != 0 || rep.Warnings != 2 || len(rep.Findings) != 2 ||
		rep.Findings[0].Field != "rules[1].match" || rep.Findings[1].Field != "rules[1].gpuModels[0]" || rep.Findings[0].Severity != policycheck.SeverityWarning {
		t.Errorf("report %+v", rep)
	}

	// --strict fails on warnings.
	_, _, err = execute(t, "policy", "check", "-f", pol, "--snapshot", snap, "--scheduler-name", "other", "--strict", "-o", "yaml")
	if code := exitCode(err); code != exitPolicyFailed || !strings.Contains(err.Error(), "2 warnings (--strict)") {
		t.Errorf("--strict: exit %d (%v), want %d", code, err, exitPolicyFailed)
	}

	// A snapshot that cannot be read is a runtime error (1), not a failed check.
	_, _, err = execute(t, "policy", "check", "-f", pol, "--snapshot", write(t, dir, "bad.yaml", "kind: Secret\n"))
	if code := exitCode(err); code != 1 || !strings.Contains(err.Error(), "--snapshot") {
		t.Errorf("bad snapshot: exit %d (%v), want 1", code, err)
	}
}

func TestPolicyCheckStatic(t *testing.T) {
	// The policy on standard input; no cluster: static checks only.
	var out, errOut bytes.Buffer
	cmd := newRootCommand(genericiooptions.IOStreams{In: strings.NewReader(checkPolicy), Out: &out, ErrOut: &errOut})
	cmd.SetArgs([]string{"policy", "check", "-f", "-"})
	if err := cmd.Execute(); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	want := "WARNING rules[1].match: rule \"team-too\" is shadowed: every pod it matches is matched first by rules[0] \"team\", so no pod reaches it; move it up or narrow the earlier rule\n" +
		"policy - (hash "
	if !strings.HasPrefix(out.String(), want) || !strings.Contains(out.String(), "0 errors, 1 warning\ncluster: none: static checks only") {
		t.Errorf("output:\n%s\nwant it to start with:\n%s", out.String(), want)
	}

	// A policy the scheduler rejects: its errors with their paths, exit 3.
	dir := t.TempDir()
	bad := write(t, dir, "bad.yaml", "apiVersion: ml-scheduler.io/v1alpha1\nkind: PlacementPolicy\nrules: [{name: a, pools: [nope], gpuPackin: BinPack}]\n")
	stdout, _, err := execute(t, "policy", "check", "-f", bad)
	if code := exitCode(err); code != exitPolicyFailed {
		t.Errorf("exit %d (%v), want %d", code, err, exitPolicyFailed)
	}
	for _, want := range []string{"ERROR rules[0].gpuPackin: unknown field", `ERROR rules[0].pools[0]: Not found: "nope"`, "REJECTED by the scheduler's validation; 2 errors"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
	// A file that does not exist: runtime error.
	if _, _, err := execute(t, "policy", "check", "-f", dir+"/missing.yaml"); exitCode(err) != 1 {
		t.Errorf("missing file: %v, want exit 1", err)
	}
}
