package config

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	schedconfig "k8s.io/kubernetes/pkg/scheduler/apis/config"
)

// SchemeGroupVersion is the internal version of kube-scheduler's config group.
var SchemeGroupVersion = schema.GroupVersion{Group: schedconfig.GroupName, Version: runtime.APIVersionInternal}

var (
	// Our types join kube-scheduler's own scheme builder: the scheduler
	// builds a second, private scheme from it to convert plugin args, so
	// registering into a scheme alone would not reach that one.
	localSchemeBuilder = &schedconfig.SchemeBuilder
	// AddToScheme registers kube-scheduler's internal config types and ours.
	AddToScheme = localSchemeBuilder.AddToScheme
)

func addKnownTypes(scheme *runtime.Scheme) error {
	scheme.AddKnownTypes(SchemeGroupVersion, &MLPolicyArgs{})
	return nil
}

func init() {
	localSchemeBuilder.Register(addKnownTypes)
}
