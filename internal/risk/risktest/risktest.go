// Package risktest holds a helper for tests of stages after exposure: run
// the stages between an ingested index and screening (clustering, a
// TagPack import, label refresh, exposure), failing the test on error.
//
// # Owns
//
// Test helpers only; no package may import it outside _test.go files
// (internal/lint checks).
//
// # Does not touch
//
// Anything but the stages' exported APIs.
package risktest

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Prepare clusters db, imports the TagPack at pack, refreshes the labels
// and computes exposure.
func Prepare(t testing.TB, db *index.DB, pack string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := label.ImportFile(ctx, db, pack, label.ImportOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	if _, err := risk.Update(ctx, db, risk.Options{}); err != nil {
		t.Fatal(err)
	}
}
