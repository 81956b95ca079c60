package v1

import (
	"k8s.io/apimachinery/pkg/conversion"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedschemev1 "k8s.io/kube-scheduler/config/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"

	"github.com/ml-scheduler/ml-scheduler/pkg/apis/config"
)

// SchemeGroupVersion is kubescheduler.config.k8s.io/v1.
var SchemeGroupVersion = schema.GroupVersion{Group: schedconfig.GroupName, Version: "v1"}

// AddToScheme registers the v1 args type, its defaults and conversions.
var (
	// See the internal package: we join kube-scheduler's v1 builder.
	localSchemeBuilder = &schedschemev1.SchemeBuilder
	// AddToScheme registers kube-scheduler's v1 config types and ours.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func init() {
	localSchemeBuilder.Register(addKnownTypes, RegisterDefaults, registerConversions)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &MLPolicyArgs{})
	return nil
}

func registerConversions(s *runtime.Scheme) error {
	if err := s.AddConversionFunc((*MLPolicyArgs)(nil), (*config.MLPolicyArgs)(nil), func(a, b interface{}, _ conversion.Scope) error {
		return Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs(a.(*MLPolicyArgs), b.(*config.MLPolicyArgs))
	}); err != nil {
		return err
	}
	return s.AddConversionFunc((*config.MLPolicyArgs)(nil), (*MLPolicyArgs)(nil), func(a, b interface{}, _ conversion.Scope) error {
		return Convert_config_MLPolicyArgs_To_v1_MLPolicyArgs(a.(*config.MLPolicyArgs), b.(*MLPolicyArgs))
	})
}

// Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs converts versioned args to internal.
func Convert_v1_MLPolicyArgs_To_config_MLPolicyArgs(in *MLPolicyArgs, out *config.MLPolicyArgs) error {
	*out = config.MLPolicyArgs{}
	if in.PolicyConfigMap != nil {
		out.PolicyConfigMapNamespace = in.PolicyConfigMap.Namespace
		out.PolicyConfigMapName = in.PolicyConfigMap.Name
	}
	if in.PolicyConfigMapKey != nil {
		out.PolicyConfigMapKey = *in.PolicyConfigMapKey
	}
	if in.PolicyFile != nil {
		out.PolicyFile = *in.PolicyFile
	}
	if in.PlacementEvents != nil {
		out.PlacementEvents = *in.PlacementEvents
	}
	return nil
}

// Convert_config_MLPolicyArgs_To_v1_MLPolicyArgs converts internal args to versioned.
func Convert_config_MLPolicyArgs_To_v1_MLPolicyArgs(in *config.MLPolicyArgs, out *MLPolicyArgs) error {
	*out = MLPolicyArgs{TypeMeta: out.TypeMeta}
	out.PolicyConfigMap = &ConfigMapRef{Namespace: in.PolicyConfigMapNamespace, Name: in.PolicyConfigMapName}
	key, file := in.PolicyConfigMapKey, in.PolicyFile
	out.PolicyConfigMapKey = &key
	if file != "" {
		out.PolicyFile = &file
	}
	events := in.PlacementEvents
	out.PlacementEvents = &events
	return nil
}
