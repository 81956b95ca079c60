// Command ml-scheduler is kube-scheduler with the MLPolicy plugin
// registered: every kube-scheduler flag and --config works as usual.
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
	command := app.NewSchedulerCommand(app.WithPlugin(mlpolicy.Name, mlpolicy.New))
	os.Exit(cli.Run(command))
}
