// +k8s:deepcopy-gen=package

// Package config holds the internal version of ml-scheduler's plugin args,
// registered in kube-scheduler's config scheme like upstream plugin args.
package config
