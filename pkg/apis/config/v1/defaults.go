package v1

import "k8s.io/apimachinery/pkg/runtime"

const (
	DefaultPolicyNamespace = "ml-scheduler"
	DefaultPolicyName      = "ml-scheduler-policy"
	DefaultPolicyKey       = "policy.yaml"
)

// SetDefaults_MLPolicyArgs fills unset args.
func SetDefaults_MLPolicyArgs(obj *MLPolicyArgs) {
	if obj.PolicyConfigMap == nil {
		obj.PolicyConfigMap = &ConfigMapRef{Name: DefaultPolicyName}
	}
	if obj.PolicyConfigMap.Namespace == "" {
		obj.PolicyConfigMap.Namespace = DefaultPolicyNamespace
	}
	if obj.PolicyConfigMapKey == nil {
		key := DefaultPolicyKey
		obj.PolicyConfigMapKey = &key
	}
	if obj.PlacementEvents == nil {
		off := false
		obj.PlacementEvents = &off
	}
}

// RegisterDefaults adds the defaulting function to the scheme.
func RegisterDefaults(scheme *runtime.Scheme) error {
	scheme.AddTypeDefaultingFunc(&MLPolicyArgs{}, func(obj interface{}) { SetDefaults_MLPolicyArgs(obj.(*MLPolicyArgs)) })
	return nil
}
