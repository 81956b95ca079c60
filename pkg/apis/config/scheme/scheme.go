// Package scheme registers ml-scheduler's plugin args in kube-scheduler's
// config scheme, so `pluginConfig: [{name: MLPolicy, args: {...}}]` in a
// KubeSchedulerConfiguration decodes strictly, with defaults, into
// config.MLPolicyArgs. Import it for its side effect.
package scheme

import (
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	kubeschedulerscheme "k8s.io/kubernetes/pkg/scheduler/apis/config/scheme"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
	configv1 "github.com/ml-scheduler/ml-scheduler/pkg/apis/config/v1"
)

func init() {
	utilruntime.Must(config.AddToScheme(kubeschedulerscheme.Scheme))
	utilruntime.Must(configv1.AddToScheme(kubeschedulerscheme.Scheme))
}
