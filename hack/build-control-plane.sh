#!/usr/bin/env bash
# Builds the real control-plane binaries the tests and the demo run (etcd and
# kube-apiserver v1.37.2) from their Go modules into .cache/bin. A binary is
# rebuilt only when the go.mod/go.sum that pin it change, so warm runs cost
# nothing; a cold build takes a few minutes per binary on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
source hack/lib/build.sh

build etcd "$(stamp_of hack/tools/etcd/go.mod hack/tools/etcd/go.sum hack/tools/etcd/main.go)" \
  bash -c "cd hack/tools/etcd && go build -o '${BIN}/etcd' ."
build kube-apiserver "$(stamp_of go.mod go.sum hack/build-control-plane.sh hack/lib/build.sh)" \
  go build -ldflags "${KUBE_LDFLAGS}" -o "${BIN}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
