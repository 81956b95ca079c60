package main

import (
	"context"

	"github.com/spf13/cobra"
	utilfeature "k8s.io/apiserver/pkg/util/feature"
	"k8s.io/client-go/discovery"
	"k8s.io/component-base/version/verflag"
	"k8s.io/klog/v2"
	frameworkruntime "k8s.io/kubernetes/pkg/scheduler/framework/runtime"

	"github.com/ml-scheduler/ml-scheduler/internal/gangsupport"
)

// gangStartup runs gangsupport.Check between flag parsing and
// kube-scheduler's Setup, and logs the outcome once logging is configured.
//
// The gates must be final before Setup: config defaulting adds the
// GangScheduling plugins to every profile from them, and scheduler.New
// registers the PodGroup informer. kube-scheduler applies the feature-gate
// flags in PersistentPreRunE but --logging-format and -v only inside RunE,
// right before Setup, so the check runs first in RunE and its one line is
// written from a registry option, which Setup calls after logging is set up
// and before it builds the scheduler.
type gangStartup struct {
	result *gangsupport.Result
}

// wrap makes cmd run the check before kube-scheduler's own RunE.
func (g *gangStartup) wrap(cmd *cobra.Command) {
	runE := cmd.RunE
	cmd.RunE = func(c *cobra.Command, args []string) error {
		verflag.PrintAndExitIfRequested() // --version needs no apiserver
		ctx := c.Context()
		if ctx == nil {
			ctx = context.Background()
		}
		flags := schedulerFlags(c)
		r := gangsupport.Check(ctx, utilfeature.DefaultMutableFeatureGate, func() (discovery.DiscoveryInterface, error) {
			return gangsupport.DiscoveryFor(flags)
		}, gangsupport.DefaultRetry)
		g.result = &r
		return runE(c, args)
	}
}

// schedulerFlags reads the connection flags kube-scheduler registered.
func schedulerFlags(c *cobra.Command) gangsupport.Flags {
	get := func(name string) string {
		if f := c.Flags().Lookup(name); f != nil {
			return f.Value.String()
		}
		return ""
	}
	return gangsupport.Flags{Config: get("config"), Kubeconfig: get("kubeconfig"), Master: get("master")}
}

// report is an app.Option that registers nothing: it logs the check's
// outcome, once.
func (g *gangStartup) report(frameworkruntime.Registry) error {
	if g.result != nil {
		g.result.Log(klog.Background())
		g.result = nil
	}
	return nil
}
