package v1

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
