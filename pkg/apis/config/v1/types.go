package v1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MLPolicyArgs configures the MLPolicy plugin.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
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
