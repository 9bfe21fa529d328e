# bindery's developer entry points. `make help` lists them.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

# The checksum database does not know some kcp-dev and multicluster-runtime versions served here.
export GONOSUMDB ?= github.com/kcp-dev,sigs.k8s.io/multicluster-runtime

GO ?= go
CONTROLLER_GEN ?= $(GO) run sigs.k8s.io/controller-tools/cmd/controller-gen@v0.20.0
E2E_TIMEOUT ?= 60m
# make run's ports: kcp's, and its embedded etcd's (default KCP_PORT+1 and KCP_PORT+2).
KCP_PORT ?= 6443
ETCD_CLIENT_PORT ?=
ETCD_PEER_PORT ?=
# make run's bindery-backend (page and API) and its development OIDC issuer (default BACKEND_PORT+1).
BACKEND_PORT ?= 8443
ISSUER_PORT ?=
# make run's bindery-backend serving the workspace root:team-a (default BACKEND_PORT+2).
TEAM_BACKEND_PORT ?=
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS = -X github.com/bindery-dev/bindery/pkg/version.Version=$(VERSION)
STATE_DIR ?= .bindery

# Every package except the e2e suites and end-to-end benchmarks, which need real servers. Assigned
# in the recipe, so that a failing `go list` fails the target instead of testing nothing.
LIST_UNIT_PKGS = pkgs=$$($(GO) list ./... | grep -v -e '/test/e2e/' -e '/test/bench/')
CMDS = $(notdir $(patsubst %/,%,$(wildcard cmd/*/)))

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: build
build: ## build every cmd/ binary into bin/
	@mkdir -p bin
	@for cmd in $(CMDS); do echo ">>> go build ./cmd/$$cmd -> bin/$$cmd"; $(GO) build -ldflags "$(LDFLAGS)" -o bin/$$cmd ./cmd/$$cmd; done

# make images: the references' repository prefix, and the platforms (comma-separated os/arch).
IMAGE_REPOSITORY ?= ghcr.io/bindery-dev
IMAGE_PLATFORMS ?= linux/$(shell $(GO) env GOARCH)
IMAGES = bindery-backend bindery-konnector bindery-syncagent bindery-manager

.PHONY: images
images: ## OCI images of the processes, as layouts in bin/images/<binary>/ (no container engine needed)
	@SOURCE_DATE_EPOCH=$${SOURCE_DATE_EPOCH:-$$(git log -1 --format=%ct 2>/dev/null || echo 0)} \
		$(GO) run ./hack/images --version $(VERSION) --repository $(IMAGE_REPOSITORY) --platform $(IMAGE_PLATFORMS) \
		--revision "$$(git rev-parse HEAD 2>/dev/null)" --output bin/images $(IMAGES)

.PHONY: tools
tools: ## build kcp, kube-apiserver, etcd, kubectl and helm from pinned modules (cached per user)
	@hack/tools.sh

.PHONY: test
test: tools test-unit test-e2e ## unit and e2e tests (builds the tools first when missing)

.PHONY: test-unit
test-unit: ## unit tests (no servers)
	@$(LIST_UNIT_PKGS); echo "go test -race <$$(echo $$pkgs | wc -w) packages>"; $(GO) test -race $$pkgs

.PHONY: test-e2e
test-e2e: ## e2e tests against real kcp and kube-apiservers (needs make tools)
	$(GO) test -count=1 -timeout $(E2E_TIMEOUT) ./test/e2e/...

.PHONY: bench
bench: tools ## benchmarks with their ratios (input sizes and results: docs/performance.md)
	@mkdir -p bin
	@$(LIST_UNIT_PKGS); $(GO) test -run '^$$' -bench . -benchmem -timeout 60m $$pkgs | tee bin/bench.txt
	@awk -f hack/bench-ratios.awk bin/bench.txt
	@echo ">>> end-to-end benchmarks against real kcp and kube-apiserver (a few minutes)"
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 60m ./test/bench/... | tee bin/bench-e2e.txt

# The CRDs the charts ship in their crds/, as <chart>:<file of deploy/crd>: make generate copies
# them, make verify fails when a copy differs.
CHART_CRDS = bindery-syncagent:syncagent.bindery.dev_publishedresources.yaml \
	bindery-backend:bind.bindery.dev_services.yaml bindery-backend:bind.bindery.dev_consumers.yaml \
	bindery-backend:bind.bindery.dev_boundapis.yaml bindery-backend:syncagent.bindery.dev_publishedresources.yaml \
	bindery-konnector:bind.bindery.dev_servicebindings.yaml

.PHONY: generate
generate: ## deepcopy code and CRDs from apis/ (controller-gen, pinned)
	@if compgen -G 'apis/*/*/*.go' >/dev/null; then \
		$(CONTROLLER_GEN) object paths=./apis/... && \
		$(CONTROLLER_GEN) object paths=./examples/database-operator/api/... && \
		$(CONTROLLER_GEN) crd paths=./apis/... output:crd:dir=deploy/crd && \
		for c in $(CHART_CRDS); do cp deploy/crd/$${c#*:} deploy/charts/$${c%%:*}/crds/; done; \
	else echo "no API types under apis/ yet"; fi

.PHONY: verify
verify: ## gofmt, go vet, go.mod tidy, generated code up to date, helm charts lint and render
	@echo ">>> gofmt"; out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt'ed:"; echo "$$out"; exit 1; fi
	@echo ">>> go vet"; $(GO) vet ./...
	@echo ">>> go mod tidy"; $(GO) mod tidy -diff
	@echo ">>> generated code"; \
		for c in $(CHART_CRDS); do chart=$${c%%:*} crd=$${c#*:}; if ! cmp -s deploy/crd/$$crd deploy/charts/$$chart/crds/$$crd; then \
		echo "deploy/charts/$$chart/crds/$$crd differs from deploy/crd/; run make generate and commit"; exit 1; fi; done; \
		$(MAKE) --no-print-directory generate; \
		if [ -n "$$(git status --porcelain -- apis deploy/crd examples/database-operator/api)" ]; then \
		echo "generated code is out of date; run make generate and commit:"; git status --porcelain -- apis deploy/crd examples/database-operator/api; exit 1; fi
	@echo ">>> helm charts"; hack/tools.sh helm | sed 's/^/    /'; \
		for chart in deploy/charts/*/; do chart=$${chart%/}; \
		for values in $$chart/ci/*-values.yaml; do \
		echo "    $$chart with $$(basename $$values)"; \
		bin/tools/helm lint --strict --quiet $$chart --values $$values --namespace bindery-system; \
		bin/tools/helm template $$(basename $$chart) $$chart --values $$values --namespace bindery-system >/dev/null; \
		done; done

.PHONY: run
run: tools build ## start kcp, a provider and a consumer cluster and the quickstart's processes in the background (state in .bindery/)
	@echo ">>> go build ./examples/database-operator -> bin/database-operator"; $(GO) build -o bin/database-operator ./examples/database-operator
	@$(GO) build -o bin/localenv ./hack/localenv
	@bin/localenv start --state $(STATE_DIR) --bin-dir bin --kcp-port $(KCP_PORT) \
		$(if $(ETCD_CLIENT_PORT),--etcd-client-port $(ETCD_CLIENT_PORT)) $(if $(ETCD_PEER_PORT),--etcd-peer-port $(ETCD_PEER_PORT)) \
		--backend-port $(BACKEND_PORT) $(if $(ISSUER_PORT),--issuer-port $(ISSUER_PORT)) $(if $(TEAM_BACKEND_PORT),--team-backend-port $(TEAM_BACKEND_PORT))

.PHONY: stop
stop: ## stop what make run started
	@$(GO) build -o bin/localenv ./hack/localenv
	@bin/localenv stop --state $(STATE_DIR)

.PHONY: clean
clean: stop ## stop the environment, remove bin/ and .bindery/ (the tool cache stays)
	rm -rf bin $(STATE_DIR)
