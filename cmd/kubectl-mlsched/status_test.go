package main

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ml-scheduler/ml-scheduler/pkg/replicastatus"
	"github.com/ml-scheduler/ml-scheduler/pkg/schedstatus"
)

func TestStatusUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"status", "-o", "wide"}, `--output: "wide" is not one of text, json, yaml`},
		{[]string{"status", "extra"}, `unexpected argument "extra"`},
	} {
		_, _, err := execute(t, tc.args...)
		var u usageError
		if !errors.As(err, &u) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want usage error %q", tc.args, err, tc.want)
		}
	}
}

func TestWriteStatus(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	r := &schedstatus.Report{
		PolicyConfigMap: "ml-scheduler/ml-scheduler-policy", PolicyConfigMapFound: true, ActiveHash: "aaaa",
		Leader: schedstatus.Leader{Lease: "ml-scheduler/ml-scheduler", Identity: "r1_uuid", Renewed: now.Add(-2 * time.Second), Found: true},
		Replicas: []schedstatus.Replica{
			{State: replicastatus.State{Identity: "r1", Hash: "aaaa", Generation: 2, Source: "configmap x/y", Changed: now.Add(-time.Minute), Renewed: now}, Leader: true},
			{State: replicastatus.State{Identity: "r2", Hash: "bbbb", Generation: 1, LastError: "rules[0].name: Invalid value\nmore", Renewed: now.Add(-time.Hour), Stale: true}},
		},
		SchedulerName: "ml-scheduler",
		Pending:       []schedstatus.PendingRule{{Rule: "train", Hash: "aaaa", Pods: 4, Examples: []string{"a/1", "a/2", "a/3"}}, {Rule: "train", Hash: "cccc", Pods: 1, Examples: []string{"a/0"}}},
		PendingOther:  2,
	}
	var b strings.Builder
	if err := writeStatus(&b, r, now); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{
		"Policy ConfigMap ml-scheduler/ml-scheduler-policy: policy in force aaaa\n",
		"Leader: r1_uuid (Lease ml-scheduler/ml-scheduler, renewed 2s ago)",
		"r1        yes      aaaa",
		"(stale)",
		"rules[0].name: Invalid value\n", // first line only
		"Pods of ml-scheduler pending for policy reasons: 5 (other unbound pods: 2)",
		"a/1, a/2, a/3, …",
		"cccc (not in force)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
