# ecs-drainer. `make demo` drains instances on the local AWS; `make test` is
# what CI runs (.ci/run); `make build` makes the Lambda's bootstrap binary for
# provided.al2023 on arm64.
GO ?= go

.PHONY: build demo soak bench test vet lint vulncheck fmt-check fuzz clean

# Static (CGO off) and without net/rpc (lambda.norpc: only the retired go1.x
# runtime used it), stripped, reproducible paths, no inlining: the function
# waits on the network, not the CPU, and without inlining the binary is about
# 1 MB smaller (9.6 MB instead of 10.6 MB) with the same cold start. The
# construct's synth builds it the same way (infra/drainer/bundle.go).
build:
	GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -gcflags=all=-l -ldflags="-s -w" -o bootstrap ./functions/drainer
	@ls -l bootstrap

# A full drain on the local AWS with the real binary, deployed as the
# construct's template for the demo says (cmd/demo/demo.template.json, kept
# in step with the construct by a test); flags: make demo DEMO_FLAGS="-refresh -instances 6".
# CGO off, as in the deployed build: a first run then compiles the standard
# library without the C toolchain, a few seconds sooner.
demo:
	@echo "compiling the demo (a first run downloads and compiles the AWS SDK for Go) ..."
	CGO_ENABLED=0 $(GO) run ./cmd/demo $(DEMO_FLAGS)

# The chaos soak: 500 drains at once under every fault, for three seeds.
soak:
	$(GO) run ./cmd/soak $(SOAK_FLAGS)

# Three drain designs on the same local AWS and workload, 1, 100 and 1,000
# drains: prints a markdown table and writes docs/benchmark.md, the whole page
# (its prose is cmd/bench/benchmark.md.tmpl), and docs/benchmark.svg.
bench:
	$(GO) run ./cmd/bench $(BENCH_FLAGS)

# examples/ is a module of its own (the construct imported as a team's app
# would), which ./... does not reach: vetted and synthesized on its own.
test: fmt-check vet lint
	$(GO) test -race -count=1 ./...
	cd examples && $(GO) vet ./... && $(GO) test -count=1 ./...

vet:
	$(GO) vet ./...

# Static analysis, pinned. Findings are fixed or justified where they stand
# (#nosec with the reason). govulncheck needs its online database: `make
# vulncheck`, not part of `make test`.
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
GOSEC       = github.com/securego/gosec/v2/cmd/gosec@v2.30.0
GOVULNCHECK = golang.org/x/vuln/cmd/govulncheck@v1.9.0

lint:
	$(GO) run $(STATICCHECK) ./...
	$(GO) run $(GOSEC) -quiet -exclude-generated ./...

vulncheck:
	$(GO) run $(GOVULNCHECK) ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Fuzz the parsers for a while (not part of `make test`, which runs the seeds).
fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./internal/lifecycle

clean:
	rm -f bootstrap

# The CDK app (infra/). The CLI is pinned and run through npx, nothing global:
# 2.1148.1 reads the cloud assembly (schema 55) that aws-cdk-go v2.277.0 writes
# (the deprecated 3.0.0 reads up to 43). The synth builds the function itself
# and needs no AWS account.
# Without CDK_FLAGS: the example stack. For an existing cluster:
#   make deploy CDK_FLAGS="-c cluster=NAME -c asgs=ASG1,ASG2"
CDK ?= npx --yes aws-cdk@2.1148.1
CDK_FLAGS ?=
# jsii's banners for node 20 (deprecated; past jsii's support since
# 2026-10-30, which needs the major version named).
CDK_ENV = JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1 JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20

.PHONY: synth deploy destroy

synth:
	$(CDK_ENV) $(CDK) synth --quiet $(CDK_FLAGS)
	@ls cdk.out/*.template.json

deploy:
	$(CDK_ENV) $(CDK) deploy $(CDK_FLAGS)

destroy:
	$(CDK_ENV) $(CDK) destroy $(CDK_FLAGS)
