# loadlab — the lab's entry points. `make help` lists them.
#
#   make scenario name=partition            run a scenario (builds what is missing)
#   make scenario name=partition quick=1    the short version, for CI
#   make test                               all tests, against real containers

SHELL := /bin/bash
GO    ?= go
BIN   := bin
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
export CGO_ENABLED := 0

name  ?= partition
quick ?=
long  ?=
out   ?= results
scenario_flags := $(if $(quick),--quick) $(if $(long),--long) --out $(out)

.PHONY: help build images up scenario test test-short bench calibrate fuzz lint clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 14

build: ## build bin/loadlab and bin/backend (static)
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/loadlab ./cmd/loadlab
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/backend ./cmd/backend

images: build ## build every container image offline (cached, idempotent)
	$(BIN)/loadlab images

up: images ## bring the lab up until Ctrl-C
	$(BIN)/loadlab up

scenario: images ## run a scenario: make scenario name=partition [quick=1] [long=1] [out=results]
	$(BIN)/loadlab run $(scenario_flags) $(name)

# Test binaries build and run two at a time, but those that start containers
# or measure time take a machine-wide lock (harness/labtest.LockMachine) and
# run one after the other: the lessons, the duet and the history tests judge
# contrasts and slowdowns measured on a 2-core machine, and two labs side by
# side made the machine, not the system under test, decide them.
test: images ## run every test, then fuzz briefly (needs Docker; LOADLAB_REQUIRE_DOCKER=1 and LOADLAB_REQUIRE_BROWSER=1 turn skips into failures)
	$(GO) test -count=1 -timeout 13m ./...
	$(MAKE) --no-print-directory fuzz

test-short: ## unit tests only, no containers
	$(GO) test -short -count=1 ./...

bench: images ## run the benchmarks (results go to docs/PERFORMANCE.md by hand)
	$(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 30m ./... | tee $(BIN)/bench.txt

# The gate measured on this machine: A/A duets (false alarms) and duets with a
# planted GET slowdown of each size (detections). A full run (20 + 2×20 quick
# gates) takes hours on 2 cores; the counts are variables.
aa      ?= 20
planted ?= 20
rounds  ?= 20
variant ?=
calibrate: images ## measure the gate: make calibrate [aa=20 planted=20 rounds=20 variant=cp] (hours; figures go to docs/PERFORMANCE.md)
	$(GO) run ./cmd/calibrate -aa $(aa) -planted $(planted) -rounds $(rounds) $(if $(variant),-variant $(variant)) -out $(out)/calibrate

# Budgets are execution counts, not durations: a duration budget trips a race
# in Go 1.26's fuzz coordinator that fails at the deadline with "context
# deadline exceeded" and no crasher (golang/go#75804, fixed in Go 1.27).
fuzzparse ?= 25000x
fuzzdecode ?= 75000x
fuzz: ## fuzz the scenario parser and the results decoder: make fuzz [fuzzparse=100000x fuzzdecode=300000x]
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime $(fuzzparse) -fuzzminimizetime 5s ./scenarios
	$(GO) test -run '^$$' -fuzz FuzzDecode -fuzztime $(fuzzdecode) -fuzzminimizetime 5s ./reports/compare

# actionlint runs as a Go module at a pinned version (no binary to install,
# and go.mod stays free of a tool only lint needs).
ACTIONLINT ?= github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
lint: ## gofmt, go vet and actionlint on the workflows
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) run $(ACTIONLINT)

clean: ## remove built binaries and any containers or networks the lab left behind
	-$(BIN)/loadlab clean --all 2>/dev/null || $(GO) run ./cmd/loadlab clean --all
	rm -rf $(BIN)
