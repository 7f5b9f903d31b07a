# xpander-db-operator. `make help` lists the targets.

# Tool and control-plane versions. Everything is built from source into bin/ through the Go
# module proxy, so nothing here needs a prebuilt download.
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.5.0
HELM_VERSION ?= v3.21.4
K8S_VERSION ?= 1.37.2
ETCD_VERSION ?= 3.6.16

IMG ?= xpander-db-operator:dev
GOOS := $(shell go env GOOS)
GOARCH := $(shell go env GOARCH)

LOCALBIN := $(CURDIR)/bin
CONTROLLER_GEN := $(LOCALBIN)/controller-gen-$(CONTROLLER_TOOLS_VERSION)
KUSTOMIZE := $(LOCALBIN)/kustomize-$(KUSTOMIZE_VERSION)
ENVTEST_ASSETS := $(LOCALBIN)/k8s/$(K8S_VERSION)-$(GOOS)-$(GOARCH)
export KUBEBUILDER_ASSETS := $(ENVTEST_ASSETS)

# Flags for `go test`; CI adds -count and -race as it sees fit.
TEST_FLAGS ?=

.DEFAULT_GOAL := help
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ General

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} \
	/^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 } \
	/^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and RBAC manifests under config/.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd webhook paths="./..." \
		output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate the DeepCopy methods of the API types.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: chart-sync
chart-sync: manifests ## Copy the generated CRD and manager RBAC rules from config/ into the Helm chart.
	hack/chart/sync.sh

.PHONY: chart-check
chart-check: envtest ## Lint and render the Helm chart, dry-run it, install/upgrade/roll back/uninstall it on envtest, run the operator with it.
	HELM_VERSION=$(HELM_VERSION) hack/chart/check.sh

.PHONY: fmt
fmt: ## Run gofmt on the code.
	gofmt -s -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet on the code.
	go vet ./...

.PHONY: verify
verify: manifests generate ## Fail when generated files or formatting drift from the sources.
	@test -z "$$(gofmt -s -l $$(git ls-files '*.go'))" || { gofmt -s -l $$(git ls-files '*.go'); \
		echo "gofmt: the files above need formatting (make fmt)"; exit 1; }
	@go mod tidy -diff >/dev/null || { echo "go.mod/go.sum are not tidy (go mod tidy)"; exit 1; }
	@git diff --exit-code -- api config || { \
		echo "generated files are out of date: run 'make manifests generate' and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config)" || { git status --porcelain -- api config; \
		echo "generated files are untracked: commit them"; exit 1; }
	@hack/chart/sync.sh --check

.PHONY: test
test: manifests generate vet envtest ## Run the unit and envtest suites (unit, client, controller).
	go test $(TEST_FLAGS) ./...

.PHONY: test-libpq
test-libpq: ## Hold the URI parser against libpq's own PQconninfoParse (needs libpq-dev and gcc).
	hack/conformance/run.sh

.PHONY: ci
ci: verify test test-libpq e2e bench-ci image-check chart-check ## Run everything CI runs: drift checks, unit, envtest and libpq suites, end-to-end test, image, Helm chart.

.PHONY: e2e
e2e: envtest build ## Run the end-to-end test: control plane, stand-in API, PostgreSQL over TLS, six real clients.
	hack/demo.sh --ci

.PHONY: bench
bench: envtest build ## Benchmark N objects x K keys to Ready against the API server's raw floor (docs/performance.md).
	go run ./hack/bench --markdown $(ARGS)

.PHONY: bench-ci
bench-ci: envtest build ## Short benchmark: 100 objects, one key; checks API calls and writes exactly.
	go run ./hack/bench --ci

.PHONY: demo
demo: envtest build ## Show the operator syncing a sample and psql connecting before and after a rotation.
	hack/demo.sh

##@ Build

.PHONY: build
build: ## Build the manager binary into bin/manager and the stand-in API into bin/xpander-standin.
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/manager .
	CGO_ENABLED=0 go build -trimpath -o $(LOCALBIN)/xpander-standin ./hack/xpander-standin

.PHONY: run
run: manifests generate ## Run the operator against the cluster in the current kubeconfig (ARGS=... adds flags).
	go run . --leader-elect=false --health-probe-bind-address=0 $(ARGS)

##@ Image

.PHONY: image
image: ## Build bin/xpander-db-operator-image.tar (docker load) and bin/image/oci from scratch, no Docker engine.
	IMG=$(IMG) hack/image/build.sh

.PHONY: image-check
image-check: ## Build the image twice and check it: entrypoint, user 65532, no shell, static /manager runs, CA bundle, reproducible.
	IMG=$(IMG) hack/image/check.sh

.PHONY: docker-build
docker-build: ## Build $(IMG) from the Dockerfile (needs a Docker engine).
	docker build --build-arg VERSION=$$(git describe --tags --always --dirty) \
		--build-arg REVISION=$$(git rev-parse HEAD) -t $(IMG) .

##@ Deployment

.PHONY: install
install: manifests ## Install the CRDs into the cluster in the current kubeconfig.
	kubectl apply --server-side -k config/crd

.PHONY: uninstall
uninstall: manifests ## Remove the CRDs (and with them every XpanderDatabase) from the cluster.
	kubectl delete --ignore-not-found -k config/crd

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) ## Deploy the operator with image $(IMG) to the cluster in the current kubeconfig.
	rm -rf $(LOCALBIN)/deploy && mkdir -p $(LOCALBIN)/deploy && cp -r config $(LOCALBIN)/deploy/
	cd $(LOCALBIN)/deploy/config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build $(LOCALBIN)/deploy/config/default | kubectl apply --server-side -f -

.PHONY: undeploy
undeploy: ## Remove the operator (and its CRDs) from the cluster in the current kubeconfig.
	kubectl delete --ignore-not-found -k config/default

##@ Tools

.PHONY: envtest
envtest: $(ENVTEST_ASSETS)/kube-apiserver $(ENVTEST_ASSETS)/etcd $(ENVTEST_ASSETS)/kubectl ## Build kube-apiserver and etcd for envtest into bin/k8s.

$(ENVTEST_ASSETS)/kube-apiserver $(ENVTEST_ASSETS)/etcd $(ENVTEST_ASSETS)/kubectl:
	K8S_VERSION=$(K8S_VERSION) ETCD_VERSION=$(ETCD_VERSION) hack/build-control-plane.sh $(ENVTEST_ASSETS)

$(CONTROLLER_GEN):
	GOBIN=$(LOCALBIN)/.tmp-cg go install sigs.k8s.io/controller-tools/cmd/controller-gen@$(CONTROLLER_TOOLS_VERSION)
	mv $(LOCALBIN)/.tmp-cg/controller-gen $@ && rm -rf $(LOCALBIN)/.tmp-cg

$(KUSTOMIZE):
	GOBIN=$(LOCALBIN)/.tmp-kz go install sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION)
	mv $(LOCALBIN)/.tmp-kz/kustomize $@ && rm -rf $(LOCALBIN)/.tmp-kz
