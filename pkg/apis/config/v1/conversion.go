package v1

import (
	"k8s.io/apimachinery/pkg/conversion"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

// The versioned args name the ConfigMap as one object; the internal ones
// hold its namespace and name. conversion-gen converts the other fields
// (autoConvert_*) and registers these two, which add the ConfigMap.

// Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs converts versioned args to internal.
func Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs(in *MLPolicyArgs, out *config.MLPolicyArgs, s conversion.Scope) error {
	if err := autoConvert_v1_MLPolicyArgs_To_config_MLPolicyArgs(in, out, s); err != nil {
		return err
	}
	out.PolicyConfigMapNamespace, out.PolicyConfigMapName = "", ""
	if in.PolicyConfigMap != nil {
		out.PolicyConfigMapNamespace = in.PolicyConfigMap.Namespace
		out.PolicyConfigMapName = in.PolicyConfigMap.Name
	}
	return nil
}

// Convert_config_MLPolicyArgs_To_v1_MLPolicyArgs converts internal args to versioned.
func Convert_config_MLPolicyArgs_To_v1_MLPolicyArgs(in *config.MLPolicyArgs, out *MLPolicyArgs, s conversion.Scope) error {
	if err := autoConvert_config_MLPolicyArgs_To_v1_MLPolicyArgs(in, out, s); err != nil {
		return err
	}
	out.PolicyConfigMap = &ConfigMapRef{Namespace: in.PolicyConfigMapNamespace, Name: in.PolicyConfigMapName}
	if in.PolicyFile == "" {
		out.PolicyFile = nil // no file: leave it out, as written
	}
	return nil
}
