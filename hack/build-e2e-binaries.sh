#!/usr/bin/env bash
# Builds the extra binaries the e2e suite (test/e2e) runs beside what
# hack/build-control-plane.sh builds: kube-controller-manager, the stock
# kube-scheduler and kubectl v1.37.2 from the Kubernetes Go module (pinned by
# go.mod `tool` lines), and kwok from its own module (hack/tools/kwok, kept
# apart so its client-go does not clash with ours). Same caching as
# build-control-plane.sh: a binary is rebuilt only when the files pinning it
# change. Cold: a few minutes per binary on 2 cores; warm: nothing.
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

# A plain `go build` stamps v0.0.0-master; release binaries say v1.37.2, and
# kubectl's version-skew warning and discovery read it.
V=k8s.io/component-base/version
KUBE_LDFLAGS="-X $V.gitVersion=v1.37.2 -X $V.gitMajor=1 -X $V.gitMinor=37 -X $V.gitTreeState=clean"
KUBE_STAMP=$(stamp_of go.mod go.sum hack/build-e2e-binaries.sh)
for cmd in kube-controller-manager kube-scheduler kubectl; do
  build "${cmd}" "${KUBE_STAMP}" \
    go build -ldflags "${KUBE_LDFLAGS}" -o "${BIN}/${cmd}" "k8s.io/kubernetes/cmd/${cmd}"
done

build kwok "$(stamp_of hack/tools/kwok/go.mod hack/tools/kwok/go.sum)" \
  bash -c "cd hack/tools/kwok && go build -o '${BIN}/kwok' sigs.k8s.io/kwok/cmd/kwok"
