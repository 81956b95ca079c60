package v1

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedschemev1 "k8s.io/kube-scheduler/config/v1"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
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
	// RegisterConversions (zz_generated.conversion.go) registers itself.
	localSchemeBuilder.Register(addKnownTypes, RegisterDefaults)
}

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &MLPolicyArgs{})
	return nil
}
