package main

import (
	"testing"

	"github.com/spf13/cobra"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/ml-scheduler/ml-scheduler/internal/gangsupport"
)

// TestSchedulerFlags: the connection flags are read from kube-scheduler's
// own command under the names it registers.
func TestSchedulerFlags(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want gangsupport.Flags
	}{
		{name: "none", want: gangsupport.Flags{}},
		{name: "all three", args: []string{"--config=/etc/s.yaml", "--kubeconfig=/k", "--master=https://m:6443"},
			want: gangsupport.Flags{Config: "/etc/s.yaml", Kubeconfig: "/k", Master: "https://m:6443"}},
		{name: "config only", args: []string{"--config", "/etc/s.yaml", "-v=2"}, want: gangsupport.Flags{Config: "/etc/s.yaml"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cmd := app.NewSchedulerCommand()
			if err := cmd.Flags().Parse(tc.args); err != nil {
				t.Fatal(err)
			}
			if got := schedulerFlags(cmd); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// TestGangStartupOrder: the check has run when the scheduler's RunE starts,
// and report logs its outcome once. GenericWorkload is off by default in
// this test binary, so no apiserver is asked.
func TestGangStartupOrder(t *testing.T) {
	var g gangStartup
	var seen []gangsupport.Outcome
	cmd := &cobra.Command{Use: "x", RunE: func(*cobra.Command, []string) error {
		if g.result == nil {
			t.Fatal("RunE started before the check")
		}
		seen = append(seen, g.result.Outcome)
		return g.report(nil)
	}}
	g.wrap(cmd)
	cmd.SetArgs([]string{}) // not the test binary's own flags
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 1 || seen[0] != gangsupport.GateOff {
		t.Errorf("outcomes seen by RunE: %v, want [GateOff]", seen)
	}
	if g.result != nil {
		t.Error("report did not consume the result")
	}
	if err := g.report(nil); err != nil {
		t.Errorf("second report: %v", err)
	}
}
