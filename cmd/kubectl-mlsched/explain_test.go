package main

import (
	"errors"
	"strings"
	"testing"
)

func TestExplainUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no resource kind", []string{"explain", "node", "n1"}, `unknown resource "node"`},
		{"no pod name", []string{"explain", "pod"}, "want exactly one pod name, got 0"},
		{"two pod names", []string{"explain", "pod", "a", "b"}, "want exactly one pod name, got 2"},
		{"top not positive", []string{"explain", "pod", "a", "--top", "0"}, "--top: 0 must be positive"},
		{"unknown output", []string{"explain", "pod", "a", "-o", "wide"}, `--output: "wide" is not one of text, json, yaml`},
		{"unknown flag", []string{"explain", "pod", "a", "--nope"}, "unknown flag: --nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := execute(t, tt.args...)
			var u usageError
			if !errors.As(err, &u) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want a usage error containing %q", err, tt.want)
			}
		})
	}
}

func TestExplainRuntimeErrors(t *testing.T) {
	// A --config that does not exist is named before any cluster is
	// contacted. (--feature-gates= leaves the process's gates, which the
	// other tests of the package share, as they are.)
	_, _, err := execute(t, "explain", "pod", "a", "--config", "no-such.yaml", "--feature-gates=")
	var u usageError
	if err == nil || errors.As(err, &u) || !strings.Contains(err.Error(), "--config") || !strings.Contains(err.Error(), "no-such.yaml") {
		t.Errorf("error %v, want a runtime error naming --config and the file", err)
	}
	_, _, err = execute(t, "explain", "pod", "a", "--feature-gates", "NoSuchGate=true")
	if err == nil || !strings.Contains(err.Error(), "--feature-gates") || !strings.Contains(err.Error(), "NoSuchGate") {
		t.Errorf("error %v, want one naming --feature-gates and the gate", err)
	}
}
