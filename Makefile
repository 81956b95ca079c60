# ml-scheduler — make targets. Everything builds into .cache/ (git-ignored).
SHELL := /bin/bash
BIN := $(CURDIR)/.cache/bin
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X k8s.io/component-base/version.gitVersion=v1.37.2+mlsched.$(VERSION) -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=37 \
           -X k8s.io/component-base/version.gitCommit=$(shell git rev-parse HEAD 2>/dev/null) \
           -X k8s.io/component-base/version.buildDate=$(shell TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null)
export ML_SCHEDULER_BIN_DIR := $(BIN)

.PHONY: all build control-plane verify test test-unit test-integration demo clean fuzz test-faults test-faults-short

all: build

# Real control-plane binaries (etcd, kube-apiserver v1.37.2) from their Go modules.
control-plane:
	@./hack/build-control-plane.sh

build: control-plane
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/ml-scheduler ./cmd/ml-scheduler
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-mlsched ./cmd/kubectl-mlsched

# Formatting, vet and a tidy go.mod; CI (.ci/run) runs it before the
# tests. Every Go file outside .cache must be gofmt-clean.
verify:
	@files=$$(gofmt -l $$(find . -path ./.cache -prune -o -name '*.go' -print)); \
	  if [ -n "$$files" ]; then echo "gofmt: these files are not formatted (run gofmt -w on them):"; echo "$$files"; exit 1; fi
	go vet ./...
	@go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy (run go mod tidy):"; go mod tidy -diff; exit 1; }
	@go -C hack/tools/staticcheck mod tidy -diff >/dev/null || { echo "hack/tools/staticcheck/go.mod is not tidy"; exit 1; }
	./hack/verify-codegen.sh
	go build -C hack/tools/staticcheck -o $(BIN)/staticcheck honnef.co/go/tools/cmd/staticcheck
	$(BIN)/staticcheck ./...
	$(BIN)/staticcheck -tags kind ./test/e2e/

# Unit tests run without binaries; the integration packages need etcd,
# kube-apiserver and ml-scheduler in .cache/bin (internal/controlplane's own
# tests start the control plane, so they run with the integration tests).
UNIT_PKGS = $$(go list ./... | grep -v -e /test/ -e /internal/controlplane)
INTEGRATION_PKGS = ./internal/controlplane/ ./test/...

# Unit tests (policy, plugin, watcher, index) and integration tests on a real
# etcd + kube-apiserver with the ml-scheduler binary as a second scheduler.
test: build
	go vet ./...
	go test -count=1 $(UNIT_PKGS)
	@echo ">> integration tests on a real etcd + kube-apiserver v1.37.2 (full log: .cache/integration.log)"
	@go test -count=1 -v -timeout 20m $(INTEGRATION_PKGS) > .cache/integration.log 2>&1; rc=$$?; \
	  grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok)|PROVED:|apiserver' .cache/integration.log; \
	  if [ $$rc -ne 0 ]; then echo "--- integration failed; last lines of .cache/integration.log:"; tail -n 80 .cache/integration.log; fi; exit $$rc

test-unit:
	go test -count=1 $(UNIT_PKGS)

test-integration: build
	go test -count=1 -v $(INTEGRATION_PKGS)

# The fault suite (test/faults): 3 ml-scheduler replicas on a real control
# plane while the leader is killed 5 times, kube-apiserver and etcd restart,
# kube-apiserver freezes 20 s, and the policy ConfigMap churns; every pod
# checked bound once, by the policy it carries. test-faults-short (CI) has
# a 400-pod backlog per scenario, test-faults the 2000 of issue 10. Figures
# go to .cache/faults*.json.
test-faults: build
	ML_SCHEDULER_FAULTS=1 ML_SCHEDULER_FAULTS_OUT=$(CURDIR)/.cache/faults.json go test -count=1 -v -timeout 90m ./test/faults/
test-faults-short: build
	ML_SCHEDULER_FAULTS=1 ML_SCHEDULER_FAULTS_PODS=400 ML_SCHEDULER_FAULTS_OUT=$(CURDIR)/.cache/faults-short.json go test -count=1 -v -timeout 30m ./test/faults/

# Fuzzing: the policy loader (decode, validate, compile) and the plugin's
# matching (rules, pools, node index) against Kubernetes' label selectors.
# New inputs the fuzzer keeps stay in Go's cache; hack/keep-fuzz-corpus.sh
# copies them into testdata/fuzz, which `make test` replays.
FUZZTIME ?= 60s
fuzz:
	go test ./pkg/policy/ -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZTIME)
	go test ./pkg/nodeindex/ -run '^$$' -fuzz '^FuzzMatchAndAdmit$$' -fuzztime $(FUZZTIME)

# The demo: an embedded control plane, a sample GPU cluster, the sample policy,
# ML pods placed by rule, a live policy edit, then teardown.
demo: build
	@go build -o $(BIN)/ml-demo ./hack/demo
	$(BIN)/ml-demo

clean:
	rm -rf .cache

.PHONY: test-e2e image

# End-to-end on real v1.37.2 binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl) and kwok: installs
# manifests/ with kubectl and runs two ml-scheduler replicas on the
# ServiceAccount's token (test/e2e). Prints what each scenario proved; the
# full log is .cache/e2e.log.
test-e2e: build
	@./hack/build-e2e-binaries.sh
	@ML_SCHEDULER_E2E=1 go test -count=1 -v -timeout 20m ./test/e2e/ > .cache/e2e.log 2>&1; rc=$$?; \
	  grep -E '^(=== RUN|\s*--- |PASS|FAIL|ok)|PROVED:|^ {8}	' .cache/e2e.log; \
	  if [ $$rc -ne 0 ]; then echo "--- e2e failed; last lines of .cache/e2e.log:"; tail -n 60 .cache/e2e.log; fi; exit $$rc

# Container image (needs Docker): a static binary on distroless, version
# stamped as by `make build`.
IMAGE ?= ml-scheduler:dev
image:
	docker build --build-arg VERSION=$(VERSION) --build-arg GIT_COMMIT=$$(git rev-parse HEAD 2>/dev/null) \
	  --build-arg BUILD_DATE=$$(date -u +%Y-%m-%dT%H:%M:%SZ) -t $(IMAGE) .

# Scheduling-throughput benchmark (bench/README.md): scheduler_perf on an
# in-process kube-apiserver + etcd, four scheduler profiles interleaved.
# Results (table, JSON, benchstat input, plot) land in bench/results/.
# The test binary links kube-apiserver: built once, under the shared lock.
BENCH_TEST := $(CURDIR)/.cache/bench.test
.PHONY: bench bench-quick bench-gang
bench-quick: control-plane
	flock /tmp/heavy-build.lock go test -tags schedperf -c -o $(BENCH_TEST) ./bench
	go run ./bench/cmd/mlbench -mode quick -out results/quick

# make bench then runs the binaries as users deploy them (bench/cmd/binrun):
# ml-scheduler and the stock kube-scheduler v1.37.2, 5000 nodes.
bench: control-plane
	flock /tmp/heavy-build.lock go test -tags schedperf -c -o $(BENCH_TEST) ./bench
	go run ./bench/cmd/mlbench -mode full -out results
	flock /tmp/heavy-build.lock $(MAKE) --no-print-directory build
	flock /tmp/heavy-build.lock bash -c 'source hack/lib/build.sh && go build -ldflags "$$KUBE_LDFLAGS" -o "$$BIN/kube-scheduler" k8s.io/kubernetes/cmd/kube-scheduler'
	go run ./bench/cmd/binrun -nodes 5000 -pods 2000 -reps 3 -out results

# Gang workload (bench/README.md, "Gang scheduling"): pod groups/s of
# ml-scheduler's profile against the default profile, the GenericWorkload and
# TopologyAwareWorkloadScheduling gates on for both; 500 and 5000 nodes, 3
# repetitions interleaved (about 50 min on 2 shared cores). Writes bench/results/gang/.
bench-gang: control-plane
	flock /tmp/heavy-build.lock go test -tags schedperf -c -o $(BENCH_TEST) ./bench
	go run ./bench/cmd/mlbench -mode gang -out results/gang

# DRA workload (bench/README.md, "GPUs through DRA"): pods/s of whole-GPU and
# GPU-sharing pods on ResourceSlice GPUs (pkg/gpudra's model), ml-scheduler's
# profile against the default profile with the same DRA objects; 500 and 1000
# nodes, 3 repetitions interleaved. Writes bench/results/dra/.
# DRA_FLAGS="-sizes 100 -pods 300 -reps 1" is the short, CI-sized form.
.PHONY: bench-dra
bench-dra: control-plane
	flock /tmp/heavy-build.lock go test -tags schedperf -c -o $(BENCH_TEST) ./bench
	go run ./bench/cmd/mlbench -mode dra -out results/dra $(DRA_FLAGS)

# Placement quality (bench/cmd/placement): the Alibaba GPU trace (default,
# gpuspec33, multigpu20 pod lists) replayed in-process through the stock
# scheduler (default, MostAllocated) and ml-scheduler as shipped; writes
# bench/results/placement/ (results.md, results.json, one SVG per trace).
.PHONY: bench-placement build-cli
bench-placement:
	go run ./bench/cmd/placement -out bench/results/placement

# Placement quality with GPU fractions through DRA (bench/cmd/placement
# -gpu-sharing=dra): the same three pod lists, GPUs as DRA devices
# (pkg/gpudra), a GPU-sharing pod claiming its gpu_milli, allocated by the
# scheduler's DynamicResources plugin; stock default, stock MostAllocated,
# ml-scheduler shipped and BinPack; writes bench/results/placement-dra/
# (results.md, results.json, one SVG per trace).
.PHONY: bench-placement-dra
bench-placement-dra:
	go run ./bench/cmd/placement -gpu-sharing=dra -out bench/results/placement-dra

# Rack fragmentation under gangs (bench/cmd/gangplacement): seeded streams
# of gang jobs (pkg/simulator/gangstream) on 16 racks of 8 nodes of 8 GPUs,
# replayed in-process with the workload feature gates on through the stock
# scheduler (PodGroups requiring a rack, and unconstrained) and ml-scheduler
# as shipped with a gang rule; writes bench/results/gang-placement/.
.PHONY: bench-gang-placement
bench-gang-placement:
	go run ./bench/cmd/gangplacement -out bench/results/gang-placement

# The kubectl plugin (kubectl mlsched ...), into .cache/bin.
build-cli:
	@mkdir -p $(BIN)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-mlsched ./cmd/kubectl-mlsched
