// Package bench measures ml-scheduler's scheduling throughput against the
// default scheduler on a real in-process kube-apiserver and etcd, with
// upstream scheduler_perf (perf_test.go, build tag schedperf), and as
// binaries against a real control plane (cmd/binrun). cmd/mlbench drives
// the runs and writes results/. See README.md.
package bench
