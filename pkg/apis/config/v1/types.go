// Package v1 is the versioned (kubescheduler.config.k8s.io/v1) form of
// ml-scheduler's plugin args, as written in a KubeSchedulerConfiguration.
package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// MLPolicyArgs configures the MLPolicy plugin.
type MLPolicyArgs struct {
	metav1.TypeMeta `json:",inline"`

	// PolicyConfigMap names the ConfigMap holding the placement policy.
	// Default: ml-scheduler/ml-scheduler-policy. An empty name disables it.
	PolicyConfigMap *ConfigMapRef `json:"policyConfigMap,omitempty"`
	// PolicyConfigMapKey is the key in the ConfigMap's data. Default: policy.yaml.
	PolicyConfigMapKey *string `json:"policyConfigMapKey,omitempty"`
	// PolicyFile is an optional policy file read at start-up.
	PolicyFile *string `json:"policyFile,omitempty"`
	// PlacementEvents, when true, records a PlacedByRule Event on every
	// pod placed (one more API write per pod). Default: false; the rule and
	// policy hash are written on the pod's annotations with its Binding.
	PlacementEvents *bool `json:"placementEvents,omitempty"`
}

// ConfigMapRef names a ConfigMap.
type ConfigMapRef struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

// DeepCopyObject implements runtime.Object.
func (in *MLPolicyArgs) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := *in
	if in.PolicyConfigMap != nil {
		ref := *in.PolicyConfigMap
		out.PolicyConfigMap = &ref
	}
	if in.PolicyConfigMapKey != nil {
		s := *in.PolicyConfigMapKey
		out.PolicyConfigMapKey = &s
	}
	if in.PolicyFile != nil {
		s := *in.PolicyFile
		out.PolicyFile = &s
	}
	if in.PlacementEvents != nil {
		b := *in.PlacementEvents
		out.PlacementEvents = &b
	}
	return &out
}
