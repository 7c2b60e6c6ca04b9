# gridmesh — the two commands a fresh machine with Go needs:
#   make testnet   a local city with a live summary and a JSON report
#   make test      the tests, with -race
GO      ?= go
BIN     := bin/gridmesh
REPORT  ?= report.json
HTML    ?= report.html

.PHONY: all build release release-check test test-short test-faults testnet testnet-100 testnet-1000 testnet-10000 testnet-faults lab vet fmt fmt-check fuzz bench bench-region clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/gridmesh

# Release binaries: static (CGO off), stripped, paths trimmed, the
# version stamped in (`gridmesh version`), for linux/amd64, linux/arm64
# and linux/arm (ARMv6: Raspberry Pi Zero and 1; ARMv7: Pi 2 and later
# on a 32-bit OS), with their SHA256SUMS, in dist/.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
DIST    ?= dist
RELEASE_LDFLAGS := -s -w -X main.version=$(VERSION)
# Each entry is NAME:GOARCH:GOARM.
RELEASE_TARGETS := linux-amd64:amd64: linux-arm64:arm64: linux-armv6:arm:6 linux-armv7:arm:7

release:
	rm -rf $(DIST)
	mkdir -p $(DIST)
	@set -e; for t in $(RELEASE_TARGETS); do \
	  name=$${t%%:*}; rest=$${t#*:}; arch=$${rest%%:*}; arm=$${rest#*:}; \
	  echo "== $(DIST)/gridmesh-$$name"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$arch GOARM=$$arm \
	    $(GO) build -trimpath -ldflags "$(RELEASE_LDFLAGS)" -o $(DIST)/gridmesh-$$name ./cmd/gridmesh; \
	done
	cd $(DIST) && sha256sum gridmesh-* > SHA256SUMS
	@cat $(DIST)/SHA256SUMS

# The release binaries, built and then checked: each one static (no
# interpreter, no dynamic section), of its architecture and ARM version,
# built with CGO off and the version stamped in, and SHA256SUMS true.
release-check: release
	$(GO) test -count=1 -run '^TestReleaseBinaries$$' ./cmd/gridmesh -args -release.dist=$(CURDIR)/$(DIST) -release.version=$(VERSION)

# The whole suite with the race detector. Must stay under 15 minutes on 2
# cores: slower suites get their own targets.
test:
	$(GO) vet ./...
	$(GO) test -race -timeout 14m ./...

# The self-organization suite at full length: 100 simultaneous cold starts
# of five homes (make test runs 5), voters grown and replaced, a split
# healed, leaders paused and killed under a linearizability check.
test-faults:
	$(GO) test -race -count=1 -timeout 40m ./node/ -run 'ColdStart|VotersGrow|Partitioned|PausedOrKilled' -formation.coldstarts 100 -v

# The OpenADR bridge against a live city: an 18-home testnet with the
# bridge as its operator and a VTN test double publishing a capacity
# limit and a cancelled event (about 110 s under -race; make test runs the
# bridge's own tests against the VTN double). EVENT=10m for the long run.
EVENT ?= 1m
test-openadr:
	$(GO) test -race -tags openadrcity -count=1 -timeout 30m -run TestOpenADRCity ./cmd/gridmesh/ -v -args -openadr.event $(EVENT)

# A quicker pass over the same tests, without the race detector: under
# -short, property tests draw fewer random cases and the testnet's
# leader-kill city runs three homes a neighborhood instead of four,
# checking the same properties on less; cities already at the fewest
# homes their scenario needs run as in make test.
test-short:
	$(GO) test -short -timeout 5m ./...

# The default city: 12 homes, 2 neighborhoods, 30 s, dr and leader-kill;
# the JSON report, and the same as plots in one HTML file for a browser.
testnet: build
	./$(BIN) testnet --report $(REPORT) --html $(HTML)

# A larger city: 100 homes, 4 neighborhoods, 60 s, dr and leader-kill.
testnet-100: build
	./$(BIN) testnet --homes 100 --neighborhoods 4 --duration 60s --report $(REPORT)

# A city of 10,000 homes in 400 neighborhoods on the in-memory network
# (the same hosts, Noise and yamux, without sockets), 120 s of demand
# response. It needs far more than two cores: see docs/BENCHMARKS.md for
# what it costs per home and the largest city this machine carries.
testnet-10000: build
	./$(BIN) testnet --homes 10000 --neighborhoods 400 --transport mem --duration 120s --scenario dr --quiet --report $(REPORT)
# A thousand homes: 40 neighborhoods of 25, 120 s, dr and leader-kill,
# on one machine. The report's cpu_s, cpu_core_pct and max_rss_mb say
# what the city cost (docs/BENCHMARKS.md has the profiles).
testnet-1000: build
	./$(BIN) testnet --homes 1000 --neighborhoods 40 --duration 120s --scenario dr,leader-kill --report $(REPORT)

# Neighborhoods that organize themselves, under churn, paused leaders and
# rogue hosts: 30 homes, 3 neighborhoods, 60 s.
testnet-faults: build
	./$(BIN) testnet --homes 30 --neighborhoods 3 --duration 60s --scenario cold-start,churn,pause-leader,rogue --report $(REPORT)

# The city as processes: 12 homes, each a gridmesh node in its own network
# namespace, 3 neighborhoods over home broadband, a leader killed, one
# stopped, one cut off (docs/LAB.md). Needs root, iproute2 and nftables.
LAB_REPORT ?= lab-report.json
lab: build
	./$(BIN) lab --report $(LAB_REPORT)

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# Every fuzz test in the tree, each for FUZZTIME (their seed corpora also
# run in `make test`). Found by name, so a new decoder's fuzz test joins.
FUZZTIME ?= 30s
fuzz:
	@set -e; grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do \
	  dir=$$(dirname "$$f"); \
	  for fn in $$(grep -o '^func Fuzz[A-Za-z0-9_]*' "$$f" | cut -d' ' -f2); do \
	    echo "== $$dir $$fn"; \
	    $(GO) test "$$dir" -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME); \
	  done; \
	done

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

# The region at full size: 2,000 neighborhood leaders on an in-memory
# network, in virtual time (testing/synctest), one round of aggregates on
# the leaders-only aggregates topic and one signed cut on the region topic; its figures in REGION_REPORT (make test runs 50 leaders
# and checks the same behaviour). About 30 minutes of CPU and 10 GB
# (1,000 leaders: 8 minutes and 5.3 GB, docs/BENCHMARKS.md).
# The per-message costs beside it: the region benchmarks of package mesh.
LEADERS       ?= 2000
REGION_REPORT ?= region-report.json
bench-region:
	$(GO) test -count=1 -timeout 120m -run '^TestRegionSimulation$$' ./node/ -v -args -regionsim.leaders $(LEADERS) -regionsim.report $(CURDIR)/$(REGION_REPORT)
	$(GO) test -run '^$$' -bench 'Region' -benchmem ./mesh/

clean:
	rm -rf bin $(DIST) $(REPORT)
