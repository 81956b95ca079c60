// Command ml-scheduler is kube-scheduler with the MLPolicy plugin
// registered: every kube-scheduler flag and --config works as usual. It
// reports ready (/readyz) and runs for leader only once each MLPolicy
// profile has a valid placement policy in force (pkg/policyready).
// Before the scheduler is built it checks that the apiserver serves the
// PodGroup API when gang scheduling is on (gates.go).
package main

import (
	"os"

	"k8s.io/component-base/cli"
	_ "k8s.io/component-base/logs/json/register" // --logging-format=json
	_ "k8s.io/component-base/metrics/prometheus/clientgo"
	_ "k8s.io/component-base/metrics/prometheus/version"
	"k8s.io/kubernetes/cmd/kube-scheduler/app"

	_ "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/scheme" // MLPolicyArgs in the config scheme
	"github.com/ml-scheduler/ml-scheduler/pkg/plugins/mlpolicy"
)

func main() {
	var gangs gangStartup
	command := app.NewSchedulerCommand(app.WithPlugin(mlpolicy.Name, mlpolicy.NewReadinessGated), gangs.report)
	gangs.wrap(command)
	os.Exit(cli.Run(command))
}
