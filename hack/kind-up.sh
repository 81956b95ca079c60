#!/usr/bin/env bash
# Brings up ml-scheduler on a kind cluster (needs Docker): a control plane and
# two workers (the Deployment's replicas must land on different nodes), the
# image built and loaded, manifests/overlays/sample applied, rollout awaited.
# Then run the e2e scenarios against it:
#   ML_SCHEDULER_E2E=1 go test -tags kind -run TestKind -v ./test/e2e/
# Env: KIND_CLUSTER (default ml-scheduler; recreated if it exists),
#      KIND_NODE_IMAGE (default: kind's own), IMAGE (default ml-scheduler:dev).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
BIN="${ROOT}/.cache/bin"
CLUSTER=${KIND_CLUSTER:-ml-scheduler}
IMAGE=${IMAGE:-ml-scheduler:dev}

command -v docker >/dev/null || { echo "kind-up: docker is required" >&2; exit 1; }
# kind (sigs.k8s.io/kind, pinned by go.mod), kubectl v1.37.2 and kwok.
mkdir -p "${BIN}"
go build -o "${BIN}/kind" sigs.k8s.io/kind
./hack/build-e2e-binaries.sh
KIND="${BIN}/kind"
KUBECTL=("${BIN}/kubectl" --context "kind-${CLUSTER}")

if "${KIND}" get clusters | grep -qx "${CLUSTER}"; then
  "${KIND}" delete cluster --name "${CLUSTER}"
fi
"${KIND}" create cluster --name "${CLUSTER}" ${KIND_NODE_IMAGE:+--image "${KIND_NODE_IMAGE}"} --wait 120s --config - <<'YAML'
kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
# The PodGroup API ml-scheduler schedules gangs with (off by default in 1.37).
featureGates:
  GenericWorkload: true
  TopologyAwareWorkloadScheduling: true
runtimeConfig:
  scheduling.k8s.io/v1beta1: "true"
nodes:
- role: control-plane
- role: worker
- role: worker
YAML

make image IMAGE="${IMAGE}"
"${KIND}" load docker-image "${IMAGE}" --name "${CLUSTER}"

# kind's local-path provisioner creates helper pods with spec.nodeName: an
# admin-run system namespace, exempt from the guard like kube-system.
"${KUBECTL[@]}" label namespace local-path-storage ml-scheduler.io/guard=exempt --overwrite
# The overlay points the image at ${IMAGE}.
"${KUBECTL[@]}" apply -k manifests/overlays/sample
if [[ "${IMAGE}" != "ml-scheduler:dev" ]]; then
  "${KUBECTL[@]}" -n ml-scheduler set image deployment/ml-scheduler ml-scheduler="${IMAGE}"
fi
"${KUBECTL[@]}" -n ml-scheduler rollout status deployment/ml-scheduler --timeout=180s
cat <<MSG
ml-scheduler is running on kind cluster ${CLUSTER}.
  Taint pool nodes:  kubectl taint nodes <node> ml-scheduler.io/pool=<pool>:NoSchedule
  Example pods:      kubectl apply -k manifests/overlays/sample/pods
  e2e scenarios:     ML_SCHEDULER_E2E=1 KIND_CLUSTER=${CLUSTER} go test -tags kind -run TestKind -v ./test/e2e/
MSG
