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
source hack/lib/build.sh

KUBE_STAMP=$(stamp_of go.mod go.sum hack/build-e2e-binaries.sh hack/lib/build.sh)
for cmd in kube-controller-manager kube-scheduler kubectl; do
  build "${cmd}" "${KUBE_STAMP}" \
    go build -ldflags "${KUBE_LDFLAGS}" -o "${BIN}/${cmd}" "k8s.io/kubernetes/cmd/${cmd}"
done

build kwok "$(stamp_of hack/tools/kwok/go.mod hack/tools/kwok/go.sum)" \
  bash -c "cd hack/tools/kwok && go build -o '${BIN}/kwok' sigs.k8s.io/kwok/cmd/kwok"
