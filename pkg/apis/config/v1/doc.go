// +k8s:deepcopy-gen=package
// +k8s:conversion-gen=github.com/ml-scheduler/ml-scheduler/pkg/apis/config
// +k8s:defaulter-gen=TypeMeta

// Package v1 is the versioned (kubescheduler.config.k8s.io/v1) form of
// ml-scheduler's plugin args, as written in a KubeSchedulerConfiguration.
package v1
