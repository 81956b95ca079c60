#!/usr/bin/env bash
# Fails when the generated code of the plugin args is not what
# hack/update-codegen.sh writes from the current types.
set -euo pipefail
cd "$(dirname "$0")/.."

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -a pkg/apis/config "$tmp/before"
hack/update-codegen.sh >/dev/null
if ! diff -ru "$tmp/before" pkg/apis/config >"$tmp/diff"; then
	echo "generated code under pkg/apis/config is out of date: run hack/update-codegen.sh and commit the result:" >&2
	cat "$tmp/diff" >&2
	rm -rf pkg/apis/config && cp -a "$tmp/before" pkg/apis/config
	exit 1
fi
