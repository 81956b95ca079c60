package config

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MLPolicyArgs configures the MLPolicy plugin: where its placement policy comes from.
//
// +k8s:deepcopy-gen:interfaces=k8s.io/apimachinery/pkg/runtime.Object
type MLPolicyArgs struct {
	metav1.TypeMeta

	// PolicyConfigMapNamespace/Name name the ConfigMap the scheduler watches
	// for its policy. An empty name disables the ConfigMap (PolicyFile only).
	PolicyConfigMapNamespace string
	PolicyConfigMapName      string
	// PolicyConfigMapKey is the data key holding the policy YAML.
	PolicyConfigMapKey string
	// PolicyFile, when set, is a policy read once at start-up. It is in force
	// until the ConfigMap supplies a valid policy; an invalid file stops start-up.
	PolicyFile string
	// PlacementEvents: every placed pod also gets a PlacedByRule Event (one
	// API write per pod). The rule and policy hash are on the pod's
	// annotations either way, written with its Binding.
	PlacementEvents bool
}
