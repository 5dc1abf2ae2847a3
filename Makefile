# evidenced — build, test, lint, bench.
# `make test` is the command CI runs (through .ci/run); keep it green at every commit.

GO        ?= go
BIN       := bin/evidenced
PKGS      := ./...
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION := v0.8.2

DEV_DIR     ?= dev-alliance
TESTNET_DIR ?= testnet-out
TESTNET_MEMBERS ?= bank,notary,court,arbitration

.PHONY: all build test test-short lint fmt vet staticcheck bench bench-go fuzz clean tools run testnet testnet-stop wasm

all: lint test build

## build: compile the node binary to bin/evidenced
build:
	@mkdir -p bin
	$(GO) build -o $(BIN) ./cmd/evidenced

## run: a single-member dev alliance in $(DEV_DIR) (created on first run, reused after); API on http://127.0.0.1:8080
run: build
	@test -f $(DEV_DIR)/alliance.json || ./$(BIN) testnet --members bank --out $(DEV_DIR) --chain-id evidenced-dev --base-port 26650 --api-port 8080
	@echo "Explorer: http://127.0.0.1:8080/explorer/ (API under http://127.0.0.1:8080/v1/)"
	@if [ -d $(DEV_DIR)/tsa ]; then echo "Development TSA (RFC 3161, served by the node): http://127.0.0.1:26659/, anchor $(DEV_DIR)/tsa/tsa-ca.pem; a production alliance points at its real TSAs"; \
	  else echo "$(DEV_DIR) has no development TSA (made before trusted time): remove it for one"; fi
	@echo "Submit evidence with: ./$(BIN) submit --key $(DEV_DIR)/client/bank-client.pem --chain LOAN-1 --step 1 --kind loan-contract FILE"
	./$(BIN) start --home $(DEV_DIR)/bank

## testnet: the four-member alliance as four background processes (logs in $(TESTNET_DIR)/<member>/node.log); stop with make testnet-stop
testnet: build
	@test -f $(TESTNET_DIR)/alliance.json || ./$(BIN) testnet --members $(TESTNET_MEMBERS) --out $(TESTNET_DIR)
	@for cfg in $(TESTNET_DIR)/*/config/evidenced.toml; do \
	  home=$$(dirname $$(dirname $$cfg)); \
	  if [ -f $$home/node.pid ] && kill -0 $$(cat $$home/node.pid) 2>/dev/null; then echo "$$home already running"; continue; fi; \
	  nohup ./$(BIN) start --home $$home >> $$home/node.log 2>&1 & echo $$! > $$home/node.pid; \
	  echo "started $$home (pid $$(cat $$home/node.pid), log $$home/node.log)"; \
	done
	@echo "APIs: $$(grep -o '"api": "[^"]*"' $(TESTNET_DIR)/alliance.json | cut -d'"' -f4 | tr '\n' ' ')"

## testnet-stop: stop the processes started by make testnet
testnet-stop:
	@for pid in $(TESTNET_DIR)/*/node.pid; do \
	  [ -f $$pid ] || continue; \
	  kill $$(cat $$pid) 2>/dev/null && echo "stopped $$(dirname $$pid)"; rm -f $$pid; \
	done

## wasm: rebuild the explorer's in-browser receipt verifier (explorer/assets/verify.wasm.gz, committed; a test says when it is stale)
wasm:
	$(GO) test -count=1 -run TestVerifierCurrent ./internal/wasmbuild -update

## test: every test with the race detector
test:
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## test-short: a quick run without the race detector
test-short:
	$(GO) test -short -count=1 $(PKGS)

## lint: gofmt, go vet, staticcheck
lint: fmt vet staticcheck

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)
	GOOS=js GOARCH=wasm $(GO) vet ./explorer/verifywasm

staticcheck: tools
	$(STATICCHECK) $(PKGS)
	GOOS=js GOARCH=wasm $(STATICCHECK) ./explorer/verifywasm

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## bench: the side-by-side benchmark (docs/PERFORMANCE.md): a 4-node evidenced alliance and the CometBFT kvstore baseline under load; prints the table, writes bench/results/<date>.json. Pass flags with BENCH_FLAGS="--duration 10s --runs 1"
bench:
	$(GO) run ./bench/run $(BENCH_FLAGS)

## bench-go: Go benchmarks for the hot paths (compare runs with benchstat)
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count=$(or $(COUNT),1) $(PKGS)

## fuzz: run each fuzz target for FUZZTIME (default 10s)
fuzz:
	@for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(or $(FUZZTIME),10s) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf bin
