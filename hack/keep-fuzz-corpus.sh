#!/usr/bin/env bash
# Copies the inputs `go test -fuzz` found interesting (kept in Go's build
# cache) into each fuzz target's testdata/fuzz/<Target>, where plain
# `go test` (make test) replays them. At most MAX (default 300) per target,
# the newest first, so the committed corpus stays small.
set -euo pipefail
cd "$(dirname "$0")/.."
max=${MAX:-300}
cache="$(go env GOCACHE)/fuzz/$(go list -m)"
for target in pkg/policy:FuzzLoad pkg/nodeindex:FuzzMatchAndAdmit; do
	pkg=${target%%:*} name=${target##*:}
	src="$cache/$pkg/$name"
	dst="$pkg/testdata/fuzz/$name"
	[ -d "$src" ] || { echo "$name: nothing in $src (run make fuzz first)"; continue; }
	mkdir -p "$dst"
	n=0
	for f in $(ls -t "$src"); do
		[ "$n" -lt "$max" ] || break
		cp "$src/$f" "$dst/$f"
		n=$((n + 1))
	done
	echo "$name: $(ls "$dst" | wc -l) inputs in $dst"
done
