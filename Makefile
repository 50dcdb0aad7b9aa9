# sleuth: make test is what CI runs (.ci/run); make bench records numbers.
GO      ?= go
TAGS    ?= invariants
FUZZTIME ?= 3s

.PHONY: all build test test-unit fuzz-smoke bench demo clean

all: build

build:
	$(GO) build -o bin/sleuth ./cmd/sleuth

# vet, every test with the invariants self-checks on, the same without them
# (-short), and each fuzz target briefly.
test: test-unit fuzz-smoke

test-unit:
	$(GO) vet ./...
	$(GO) test -tags '$(TAGS)' -count=1 ./...
	$(GO) test -short -count=1 ./...

fuzz-smoke:
	./scripts/fuzz-smoke.sh $(FUZZTIME)

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 3 ./internal/blockfile/ ./internal/address/
	$(GO) run ./cmd/sleuth bench ingest

demo:
	$(GO) run ./cmd/sleuth demo

clean:
	rm -rf bin gen
