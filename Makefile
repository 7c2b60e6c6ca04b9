# gridmesh — the two commands a fresh machine with Go needs:
#   make testnet   a local city with a live summary and a JSON report
#   make test      the tests, with -race
GO      ?= go
BIN     := bin/gridmesh
REPORT  ?= report.json

.PHONY: all build test test-short testnet testnet-100 vet fmt fmt-check fuzz bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gridmesh

# The whole suite with the race detector. Must stay under 15 minutes on 2
# cores: slower suites get their own targets.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 14m ./...

test-short:
	$(GO) test -short -timeout 5m ./...

# The default city: 12 homes, 2 neighborhoods, 30 s, dr and leader-kill.
testnet: build
	./$(BIN) testnet --report $(REPORT)

# The larger city from the first-city issue.
testnet-100: build
	./$(BIN) testnet --homes 100 --neighborhoods 4 --duration 60s --report $(REPORT)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Each decoder's fuzz test for FUZZTIME (the seeds also run in `make test`).
FUZZTIME ?= 30s
fuzz:
	$(GO) test ./mesh -run '^$$' -fuzz '^FuzzDecodeTelemetry$$' -fuzztime $(FUZZTIME)
	$(GO) test ./mesh -run '^$$' -fuzz '^FuzzDecodePlan$$' -fuzztime $(FUZZTIME)
	$(GO) test ./consensus -run '^$$' -fuzz '^FuzzDecodeSnapshot$$' -fuzztime $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin $(REPORT)
