// Package e2e installs ml-scheduler from manifests/ onto a real cluster and
// proves, scenario by scenario, what the issue promises: least-privilege RBAC
// that is enough, a leader handover that loses and double-binds no pod, a
// guard tenants cannot get around, and coexistence with the default scheduler.
//
// `make test-e2e` runs it on real binaries started here (etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler, kubectl v1.37.2 and kwok; see
// hack/build-e2e-binaries.sh). With `-tags kind` the same scenarios run
// against a kind cluster brought up by hack/kind-up.sh (needs Docker).
package e2e
