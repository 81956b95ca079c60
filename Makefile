# ml-scheduler — make targets. Everything builds into .cache/ (git-ignored).
SHELL := /bin/bash
BIN := $(CURDIR)/.cache/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X k8s.io/component-base/version.gitVersion=v1.37.2+mlsched.$(VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
           -X k8s.io/component-base/version.gitCommit=$(shell git rev-parse HEAD 2>/dev/null) \
           -X k8s.io/component-base/version.buildDate=$(shell date -u +%Y-%m-%dT%H:%M:%SZ)
export ML_SCHEDULER_BIN_DIR := $(BIN)

.PHONY: all build control-plane test test-unit test-integration demo clean fuzz

all: build

# Real control-plane binaries (etcd, kube-apiserver v1.37.2) from their Go modules.
control-plane:
	@./hack/build-control-plane.sh

build: control-plane
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/ml-scheduler ./cmd/ml-scheduler

# Unit tests (policy, plugin, watcher, index) and integration tests on a real
# etcd + kube-apiserver with the ml-scheduler binary as a second scheduler.
test: build
	go vet ./...
	go test -count=1 $$(go list ./... | grep -v /test/)
	go test -count=1 -v ./test/... 2>&1 | tee .cache/integration.log | grep -E '^(=== RUN|--- |PASS|FAIL|ok|    [a-z_]+\.go:[0-9]+: (PROVED|placed|policy))' ; exit $${PIPESTATUS[0]}

test-unit:
	go test -count=1 $$(go list ./... | grep -v /test/)

test-integration: build
	go test -count=1 -v ./test/...

fuzz:
	go test ./pkg/policy/ -run '^$$' -fuzz FuzzLoad -fuzztime 60s

# The demo: an embedded control plane, a sample GPU cluster, the sample policy,
# ML pods placed by rule, a live policy edit, then teardown.
demo: build
	go run ./hack/demo

clean:
	rm -rf .cache
