#!/usr/bin/env bash
# Builds the real control-plane binaries the tests and the demo run (etcd and
# kube-apiserver v1.37.2) from their Go modules into .cache/bin. A binary is
# rebuilt only when the go.mod/go.sum that pin it change, so warm runs cost
# nothing; a cold build takes a few minutes per binary on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="${ROOT}/.cache/bin"
mkdir -p "${BIN}"

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

build() { # name, stamp, build command...
  local name=$1 stamp=$2; shift 2
  if [[ -x "${BIN}/${name}" && "$(cat "${BIN}/${name}.stamp" 2>/dev/null)" == "${stamp}" ]]; then
    return 0
  fi
  echo ">> building ${name} (cached in .cache/bin)" >&2
  local start=$SECONDS
  "$@"
  echo "${stamp}" > "${BIN}/${name}.stamp"
  echo ">> built ${name} in $((SECONDS - start))s" >&2
}

build etcd "$(stamp_of hack/tools/etcd/go.mod hack/tools/etcd/go.sum hack/tools/etcd/main.go)" \
  bash -c "cd hack/tools/etcd && go build -o '${BIN}/etcd' ."
# Stamp the version a plain `go build` leaves as v0.0.0-master, so the
# apiserver reports v1.37.2 to discovery like a release binary.
V=k8s.io/component-base/version
KUBE_LDFLAGS="-X $V.gitVersion=v1.37.2 -X $V.gitMajor=1 -X $V.gitMinor=37 -X $V.gitTreeState=clean"
build kube-apiserver "$(stamp_of go.mod go.sum hack/build-control-plane.sh)" \
  go build -ldflags "${KUBE_LDFLAGS}" -o "${BIN}/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver
