# sleuth: make test is what CI runs (.ci/run); make bench records numbers.
GO      ?= go
TAGS    ?= invariants
FUZZTIME ?= 10000x

.PHONY: all build test test-unit fuzz-smoke bench bench-stages demo clean

all: build

# One static binary (no cgo: Pebble, the API and ZMQ are pure Go).
build:
	CGO_ENABLED=0 $(GO) build -o bin/sleuth ./cmd/sleuth

# vet, every test with the invariants self-checks on, the same without them
# (-short), the race detector over the concurrent packages (pipeline, api,
# labelsync, and pgstore's servers sharing one PostgreSQL), and each fuzz
# target briefly.
test: test-unit fuzz-smoke

# A real btcd (pinned, built with go install into the git-ignored gen/bin)
# for the follower's regtest test, and Debian's Chromium for the UI's
# browser test; each test skips with a message without its program. The
# main run has a throwaway PostgreSQL (TEST_PG_DSN) for internal/pgstore.
test-unit:
	./scripts/btcd-regtest.sh install || echo "btcd could not be built: the regtest test will skip"
	./scripts/chromium.sh install || echo "chromium could not be installed: the UI's browser test will skip"
	$(GO) vet ./...
	./scripts/postgres.sh run $(GO) test -tags '$(TAGS)' -count=1 ./...
	$(GO) test -short -count=1 ./...
	$(GO) test -race -short -count=1 ./internal/pipeline/ ./internal/api/ ./internal/labelsync/
	./scripts/postgres.sh run $(GO) test -race -count=1 -run 'Alert|Lease|TwoServers|Unreachable' ./internal/pgstore/

fuzz-smoke:
	./scripts/fuzz-smoke.sh $(FUZZTIME)

# Parse and classify against btcd, then end-to-end ingest of a simulated
# 1M-transaction chain (generated once into the git-ignored gen/).
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./internal/blockfile/ ./internal/address/
	test -d gen/sim-1m/blocks || bin/sleuth sim --out gen/sim-1m --seed 1 --scale 100
	bin/sleuth bench ingest --blocks gen/sim-1m/blocks --cores 1
	bin/sleuth bench ingest --blocks gen/sim-1m/blocks

# every stage from scratch on chains of about 1M, 3M and 10M transactions,
# then the projection to mainnet fitted to them (issue 15; ~25 min, 15 GB)
STAGE_SCALES ?= 100 300 1000
bench-stages: build
	./scripts/bench-stages.sh bin/sleuth gen/stages/results $(STAGE_SCALES)

demo:
	$(GO) run ./cmd/sleuth demo

clean:
	rm -rf bin gen
