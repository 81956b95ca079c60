#!/usr/bin/env bash
# Regenerates the deepcopy, defaulting and conversion code of the plugin
# args (pkg/apis/config, pkg/apis/config/v1) with Kubernetes' own
# generators, the versions go.mod names as tools. hack/verify-codegen.sh
# (make verify) fails when the committed files differ from what this writes.
set -euo pipefail
cd "$(dirname "$0")/.."

module=github.com/ml-scheduler/ml-scheduler
header=hack/boilerplate.go.txt
internal=./pkg/apis/config
v1=./pkg/apis/config/v1

go tool deepcopy-gen --go-header-file "$header" --output-file zz_generated.deepcopy.go "$internal" "$v1"
go tool defaulter-gen --go-header-file "$header" --output-file zz_generated.defaults.go "$v1"
go tool conversion-gen --go-header-file "$header" --output-file zz_generated.conversion.go "$v1"
echo "generated: $(cd pkg/apis/config && ls zz_generated.* v1/zz_generated.* | tr '\n' ' ')"
