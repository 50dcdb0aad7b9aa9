// Package indextest holds helpers for tests of later stages that need an
// index store: open one in a directory (closed when the test ends) and
// ingest into it, failing the test on error.
//
// # Owns
//
// Test helpers only; no package may import it outside _test.go files
// (internal/lint checks).
//
// # Does not touch
//
// Anything but the index's exported API.
package indextest

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Open opens (creating) a mainnet store in dir with small caches, closed
// when the test ends.
func Open(t testing.TB, dir string) *index.DB {
	t.Helper()
	return OpenWith(t, dir, nil)
}

// OpenWith is Open with the test's options changed by set (nil: none),
// for example StageTableBytes, to send every stage batch one way.
func OpenWith(t testing.TB, dir string, set func(*index.Options)) *index.DB {
	t.Helper()
	o := index.Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20}
	if set != nil {
		set(&o)
	}
	db, err := index.Open(dir, &o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// Ingest runs db.Ingest and fails the test on error.
func Ingest(t testing.TB, db *index.DB, opts index.IngestOptions) *index.IngestSummary {
	t.Helper()
	sum, err := db.Ingest(context.Background(), opts)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return sum
}
