# evidenced — build, test, lint, bench.
# `make test` is the command CI runs (through .ci/run); keep it green at every commit.

GO        ?= go
BIN       := bin/evidenced
PKGS      := ./...
STATICCHECK ?= $(shell $(GO) env GOPATH)/bin/staticcheck
STATICCHECK_VERSION := v0.8.2

.PHONY: all build test test-short lint fmt vet staticcheck bench fuzz clean tools

all: lint test build

## build: compile the node binary to bin/evidenced (once cmd/evidenced exists)
build:
	@mkdir -p bin
	@if [ -d cmd/evidenced ]; then $(GO) build -o $(BIN) ./cmd/evidenced; else echo "build: cmd/evidenced arrives with the node issue"; fi

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

staticcheck: tools
	$(STATICCHECK) $(PKGS)

tools:
	@test -x $(STATICCHECK) || $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

## bench: Go benchmarks for the hot paths (compare runs with benchstat)
bench:
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
