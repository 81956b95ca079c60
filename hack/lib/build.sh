# Shared by the hack/build-*.sh scripts: build a binary into .cache/bin only
# when the files that pin it changed (a stamp per binary), so warm runs cost
# nothing. Source it after `cd` to the repo root.
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
# discovery and kubectl's version-skew check read it.
V=k8s.io/component-base/version
KUBE_LDFLAGS="-X $V.gitVersion=v1.37.2 -X $V.gitMajor=1 -X $V.gitMinor=37 -X $V.gitTreeState=clean"
