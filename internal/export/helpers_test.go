package export

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/risk/risktest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// dsn is pgtest's: the test server's DSN, or a skip.
func dsn(t testing.TB) string { t.Helper(); return pgtest.DSN(t) }

var schemaSeq atomic.Int64

// freshSchema returns the name of a schema no other test uses, dropped
// when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := dsn(t)
	name := fmt.Sprintf("x%d_%d", os.Getpid(), schemaSeq.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		if c, err := pgx.Connect(ctx, base); err == nil {
			c.Exec(ctx, "DROP SCHEMA IF EXISTS "+name+" CASCADE")
			c.Close(ctx)
		}
	})
	return name
}

// open opens the export target in schema.
func open(t testing.TB, schema string) *Target {
	t.Helper()
	tg, err := Open(context.Background(), dsn(t), schema)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tg.Close)
	return tg
}

// export runs one export and fails the test on error.
func export(t testing.TB, tg *Target, db *index.DB, opts Options) *Summary {
	t.Helper()
	if opts.FromHeight == 0 {
		opts.FromHeight = -1
	}
	sum, err := tg.Export(context.Background(), db, opts)
	if err != nil {
		t.Fatal(err)
	}
	return sum
}

// simStore is an index of a simulated chain, clustered, labelled with
// the chain's public TagPack and with exposure computed; out is the
// simulator's directory (truth/, public/).
func simStore(t testing.TB, seed int64, scale float64) (db *index.DB, out string) {
	t.Helper()
	out = simtest.Chain(t, seed, scale)
	db = indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	risktest.Prepare(t, db, filepath.Join(out, "public", "tagpack.yaml"))
	return db, out
}

// pks orders each table's rows for digest.
var pks = map[string]string{
	"blocks": "height", "transactions": "tx", "outputs": "tx, n", "inputs": "tx, vin", "addresses": "address_id",
	"entities": "entity_id", "entity_members": "address_id", "label_sources": "source_id",
	"labels": "address_id, list, label, category", "exposure": "address_id, category, direction, indirect",
	"export_state": "id",
}

// digest returns a hash of every row of every exported table (and
// export_state's position), so two schemas can be compared.
func digest(t testing.TB, tg *Target) map[string]string {
	t.Helper()
	ctx := context.Background()
	out := map[string]string{}
	for tb, pk := range pks {
		cols := tb + ".*"
		if tb == "export_state" {
			cols = "network, height, tip_hash, next_tx, next_addr, derived_height"
		}
		if tb == "label_sources" {
			cols = "source_id, kind, name, sha256"
		}
		var d string
		q := fmt.Sprintf(`SELECT md5(coalesce(string_agg(r::text, E'\n' ORDER BY %s, r::text), '')) || ':' || count(*) FROM (SELECT %s, ROW(%s) AS r FROM %s) x`, pk, pk, cols, tb)
		if err := tg.pool.QueryRow(ctx, q).Scan(&d); err != nil {
			t.Fatalf("digest %s: %v", tb, err)
		}
		out[tb] = d
	}
	return out
}

// sameDigest fails the test when two digests differ, naming the tables.
func sameDigest(t testing.TB, what string, got, want map[string]string) {
	t.Helper()
	for tb, w := range want {
		if got[tb] != w {
			t.Errorf("%s: table %s differs: %s, want %s", what, tb, got[tb], w)
		}
	}
}
