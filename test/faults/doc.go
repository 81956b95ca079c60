// Package faults is the fault suite: ml-scheduler keeps its promises while
// its control plane and its own replicas fail under it.
//
// Each scenario runs on a real etcd and kube-apiserver v1.37.2 and three
// ml-scheduler replicas (the real binary, leader election on), with a
// backlog of pods mixing CPU pods, whole-GPU pods (nvidia.com/gpu), gangs
// (PodGroups, scheduling.k8s.io/v1beta1) and GPU-sharing pods (a share of
// one GPU through a DRA ResourceClaim). Nodes are API objects standing in
// for kwok nodes: a scheduler needs nothing of a node but its Ready object
// (and, for DRA, its ResourceSlice), so no kubelet or kwok runs. A replica
// that exits (killed, or after losing its lease while the apiserver was
// away) is started again as a Deployment's kubelet would.
//
// The faults: the leader SIGKILLed 5 times in a row; kube-apiserver
// restarted; etcd restarted; kube-apiserver frozen (SIGSTOP) for 20 s;
// the policy ConfigMap rewritten 1000 times in a minute (valid and invalid
// edits mixed), deleted and recreated. Afterwards every scenario proves
// from the API that every pod was bound exactly once, none was lost, no
// node or GPU share is over-committed, gangs are whole, every pod sits
// where the policy whose hash it carries allows, and the replicas agree on
// the last valid policy; it logs how long each handover or recovery took
// in a "PROVED:" line.
//
// `go test` skips it unless ML_SCHEDULER_FAULTS=1. ML_SCHEDULER_FAULTS_PODS
// sets the backlog (default 2000), ML_SCHEDULER_FAULTS_OUT names a file
// the figures are written to as JSON; -run TestFaults/<scenario> picks one.
package faults
