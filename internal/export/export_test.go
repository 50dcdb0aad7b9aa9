package export

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/risk/risktest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestExportMatchesIndex: a full export holds what the index holds:
// every block, transaction, address, spend and entity (E2, E4).
func TestExportMatchesIndex(t *testing.T) {
	dsn(t)
	db, _ := simStore(t, 1, 0.2)
	tg := open(t, freshSchema(t))
	sum := export(t, tg, db, Options{BatchTxs: 3000})
	ctx := context.Background()
	tip := db.Tip()
	st := db.Stats()
	if sum.From != 0 || sum.To != tip.Height || sum.Deleted != -1 || sum.Reorg {
		t.Errorf("summary %+v: want heights 0-%d, nothing deleted", sum, tip.Height)
	}
	count := func(q string, args ...any) int64 {
		t.Helper()
		var n int64
		if err := tg.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	for _, c := range []struct {
		q    string
		want int64
	}{
		{`SELECT count(*) FROM blocks`, tip.Height + 1},
		{`SELECT count(*) FROM transactions`, int64(tip.NextTx)},
		{`SELECT max(tx) + 1 FROM transactions`, int64(tip.NextTx)},
		{`SELECT count(*) FROM addresses`, int64(tip.NextAddr)},
		{`SELECT max(address_id) + 1 FROM addresses`, int64(tip.NextAddr)},
		{`SELECT count(*) FROM outputs`, int64(st.Outputs)},
		{`SELECT count(*) FROM inputs`, int64(st.Inputs) + tip.Height + 1}, // Stats counts no coinbase input
		// Every resolved input marks its output spent by it, and nothing else is spent.
		{`SELECT count(*) FROM outputs WHERE spent_tx IS NOT NULL`, count(`SELECT count(*) FROM inputs WHERE prev_tx IS NOT NULL`)},
		{`SELECT count(*) FROM inputs i JOIN outputs o ON o.tx = i.prev_tx AND o.n = i.prev_vout
			WHERE o.spent_tx = i.tx AND o.spent_vin = i.vin AND o.value = i.value AND o.address_id IS NOT DISTINCT FROM i.address_id`,
			count(`SELECT count(*) FROM inputs WHERE prev_tx IS NOT NULL`)},
		{`SELECT coalesce(sum(o.value), 0) FROM outputs o WHERE spent_tx IS NULL AND type <> 8`, int64(st.UTXOValue) + count(`SELECT coalesce(sum(value), 0) FROM outputs WHERE tx = 0`)},
		{`SELECT sum(n_tx) FROM blocks`, int64(tip.NextTx)},
		{`SELECT count(*) FROM transactions WHERE coinbase`, tip.Height + 1},
		{`SELECT count(*) FROM blocks b JOIN export_state s ON s.height = b.height AND s.tip_hash = b.hash`, 1},
	} {
		if got := count(c.q); got != c.want {
			t.Errorf("%s: %d, want %d", c.q, got, c.want)
		}
	}
	if sum.Rows["transactions"] != int64(tip.NextTx) || sum.Txs != uint64(tip.NextTx) {
		t.Errorf("summary rows %v txs %d, want %d transactions", sum.Rows, sum.Txs, tip.NextTx)
	}

	// Addresses: strings, types and first heights as the index has them.
	for _, id := range []btc.AddrID{0, 1, tip.NextAddr / 2, tip.NextAddr - 1} {
		s, typ, err := db.AddrString(id)
		if err != nil {
			t.Fatal(err)
		}
		var got string
		var gotType int
		if err := tg.pool.QueryRow(ctx, `SELECT coalesce(address, ''), type FROM addresses WHERE address_id = $1`, int64(id)).Scan(&got, &gotType); err != nil {
			t.Fatal(err)
		}
		if got != s || address.Type(gotType) != typ {
			t.Errorf("address %d: %q %d, want %q %v", id, got, gotType, s, typ)
		}
		tot, err := db.AddrTotals(id)
		if err != nil {
			t.Fatal(err)
		}
		recv := count(`SELECT coalesce(sum(value), 0) FROM outputs WHERE address_id = $1`, int64(id))
		if uint64(recv) != tot.Received {
			t.Errorf("address %d received %d in SQL, %d in the index", id, recv, tot.Received)
		}
		first := count(`SELECT first_height FROM addresses WHERE address_id = $1`, int64(id))
		h, err := txHeight(db, tot.First)
		if err != nil {
			t.Fatal(err)
		}
		if first != h {
			t.Errorf("address %d first seen at %d in SQL, %d in the index", id, first, h)
		}
	}

	// Entities: the largest, and each address's entity, as cluster has them.
	top, err := cluster.Largest(ctx, db, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range top {
		if got := count(`SELECT size FROM entities WHERE entity_id = $1`, int64(e.ID)); got != int64(e.Size) {
			t.Errorf("entity %d size %d, want %d", e.ID, got, e.Size)
		}
		if got := count(`SELECT count(*) FROM address_entity WHERE entity_id = $1`, int64(e.ID)); got != int64(e.Size) {
			t.Errorf("entity %d has %d members in address_entity, want %d", e.ID, got, e.Size)
		}
	}
	for _, id := range []btc.AddrID{0, tip.NextAddr / 3, tip.NextAddr - 1} {
		want, err := cluster.EntityOf(db, id)
		if err != nil {
			t.Fatal(err)
		}
		if got := count(`SELECT entity_id FROM address_entity WHERE address_id = $1`, int64(id)); got != int64(want) {
			t.Errorf("address %d in entity %d, want %d", id, got, want)
		}
	}

	// Labels and exposure: as many as the stores hold.
	var nLabels int64
	if err := label.EachLabelled(ctx, db, func(_ btc.AddrID, _ uint64, vs []label.View) error {
		nLabels += int64(len(vs))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := count(`SELECT count(*) FROM labels`); got != nLabels || nLabels == 0 {
		t.Errorf("%d labels exported, the store has %d", got, nLabels)
	}
	var nExpo int64
	if err := risk.EachAggregate(ctx, db, func(_ btc.AddrID, fs []risk.Flow) error {
		nExpo += int64(len(fs))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := count(`SELECT count(*) FROM exposure`); got != nExpo || nExpo == 0 {
		t.Errorf("%d exposure rows exported, the store has %d", got, nExpo)
	}
	if got := count(`SELECT count(*) FROM labels WHERE source_id IS NULL`); got != 0 {
		t.Errorf("%d labels without a source", got)
	}
	if got := count(`SELECT count(*) FROM script_types`); got != int64(address.P2A)+1 {
		t.Errorf("%d script types", got)
	}
	for ty := address.NonStandard; ty <= address.P2A; ty++ {
		var name string
		if err := tg.pool.QueryRow(ctx, `SELECT name FROM script_types WHERE type = $1`, int(ty)).Scan(&name); err != nil || name != ty.String() {
			t.Errorf("script type %d: %q %v, want %q", ty, name, err, ty.String())
		}
	}

	// The secondary indexes a full load dropped are built again (E6).
	var names []string
	for _, ix := range indexes {
		names = append(names, ix.name)
	}
	if got := count(`SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ANY ($1)`, names); got != int64(len(indexes)) {
		t.Errorf("%d secondary indexes after a full export, want %d", got, len(indexes))
	}

	// A second run with nothing new writes no chain row and changes nothing.
	before := digest(t, tg)
	again := export(t, tg, db, Options{})
	if again.From != tip.Height+1 || again.Rows["transactions"] != 0 || again.Deleted != -1 {
		t.Errorf("rerun: %+v, want nothing new", again)
	}
	sameDigest(t, "rerun", digest(t, tg), before)
}

func txHeight(db *index.DB, n btc.TxNum) (int64, error) {
	id, err := db.TxID(n)
	if err != nil {
		return 0, err
	}
	v, err := db.Tx(id)
	if err != nil {
		return 0, err
	}
	return *v.Height, nil
}

// TestIncrementalEqualsFresh: exporting a chain in two runs (the second
// after more blocks, new merges, labels and exposure), after a reorg
// below the exported tip, after --from-height, and after an interrupted
// run, each ends equal to one export on an empty schema (E2, E3, E4).
func TestIncrementalEqualsFresh(t *testing.T) {
	dsn(t)
	ctx := context.Background()
	out := simtest.Chain(t, 2, 0.2)
	recs := simtest.BestRecords(t, out)
	blocks := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	half := len(recs) / 2
	simtest.AppendRecords(t, blocks, recs[:half]...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: blocks})
	pack := filepath.Join(out, "public", "tagpack.yaml")
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	tg := open(t, freshSchema(t))
	first := export(t, tg, db, Options{BatchTxs: 2000})
	if first.Rows["labels"] != 0 || len(first.Notes) != 1 {
		t.Errorf("first run: rows %v notes %q: want no labels and a note that exposure was not computed", first.Rows, first.Notes)
	}

	simtest.AppendRecords(t, blocks, recs[half:]...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: blocks})
	risktest.Prepare(t, db, pack)
	second := export(t, tg, db, Options{BatchTxs: 2000})
	if second.From != first.To+1 || second.Deleted != -1 || second.Rows["labels"] == 0 {
		t.Errorf("second run %+v: want heights from %d, labels", second, first.To+1)
	}
	fresh := open(t, freshSchema(t))
	export(t, fresh, db, Options{})
	want := digest(t, fresh)
	sameDigest(t, "incremental", digest(t, tg), want)

	// A reorg below the exported tip: the stored hashes of the blocks from
	// h on differ from the index's (as after a reorg, when the export was
	// of the other branch), so the run deletes from h and writes again.
	h := db.Tip().Height - 7
	if _, err := tg.pool.Exec(ctx, `UPDATE blocks SET hash = repeat('0', 64) WHERE height >= $1`, h); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.pool.Exec(ctx, `UPDATE outputs SET value = -1 WHERE tx >= (SELECT first_tx FROM blocks WHERE height = $1)`, h+1); err != nil {
		t.Fatal(err)
	}
	re := export(t, tg, db, Options{})
	if !re.Reorg || re.Deleted != h || re.From != h {
		t.Errorf("after a changed block hash at %d: %+v, want a reorg from %d", h, re, h)
	}
	sameDigest(t, "reorg", digest(t, tg), want)

	// --from-height re-exports from there.
	re = export(t, tg, db, Options{FromHeight: 10})
	if re.Reorg || re.Deleted != 10 || re.Rows["blocks"] != db.Tip().Height-9 {
		t.Errorf("--from-height 10: %+v", re)
	}
	sameDigest(t, "from-height", digest(t, tg), want)

	// An interrupted run leaves the export complete through its last
	// committed batch, and the next run ends equal.
	cctx, cancel := context.WithCancel(ctx)
	var batches int
	_, err := tg.Export(cctx, db, Options{FromHeight: 5, BatchTxs: 500, Progress: func(p Progress) {
		if p.Phase == "chain" {
			if batches++; batches == 2 {
				cancel()
			}
		}
	}})
	cancel()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	s, err := readState(ctx, tg.pool)
	if err != nil {
		t.Fatal(err)
	}
	var nb, maxH int64
	if err := tg.pool.QueryRow(ctx, `SELECT count(*), max(height) FROM blocks`).Scan(&nb, &maxH); err != nil {
		t.Fatal(err)
	}
	if s.height >= db.Tip().Height || s.height < 5 || maxH != s.height || nb != s.height+1 {
		t.Errorf("after an interrupted run: state height %d, blocks %d up to %d", s.height, nb, maxH)
	}
	re = export(t, tg, db, Options{})
	if re.From != s.height+1 {
		t.Errorf("resumed from %d, want %d", re.From, s.height+1)
	}
	sameDigest(t, "resumed", digest(t, tg), want)
}

// TestErrors: a malformed DSN, an unreachable server, a schema of a newer
// version, another network's export and a second run at once are clear
// errors, and write nothing.
func TestErrors(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ dsn, want string }{
		{"postgres://u:secret@[::1:5432/db", "malformed --postgres DSN"},
		{"host=127.0.0.1 port=notaport password=secret", "malformed --postgres DSN"},
		{"postgres://sleuth:secret@127.0.0.1:1/sleuth?sslmode=disable&connect_timeout=2", "127.0.0.1:1"},
	} {
		_, err := Open(ctx, c.dsn, "")
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "secret") {
			t.Errorf("Open(%q): %v: want %q and no password", c.dsn, err, c.want)
		}
	}
	if _, err := Open(ctx, "postgres://127.0.0.1/x", "Bad-Name;"); err == nil || !strings.Contains(err.Error(), "schema name") {
		t.Errorf("bad schema name: %v", err)
	}

	dsn(t)
	schema := freshSchema(t)
	tg := open(t, schema)
	if _, err := tg.pool.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES (1000, 'from_the_future')`); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(ctx, dsn(t), schema); !errors.Is(err, ErrNewerSchema) || !strings.Contains(err.Error(), "upgrade sleuth") {
		t.Errorf("newer schema: %v", err)
	}
	if _, err := tg.pool.Exec(ctx, `DELETE FROM schema_migrations WHERE version = 1000`); err != nil {
		t.Fatal(err)
	}

	db := indextest.Open(t, t.TempDir())
	if _, err := tg.Export(ctx, db, Options{FromHeight: -1}); err == nil || !strings.Contains(err.Error(), "no block") {
		t.Errorf("empty index: %v", err)
	}
	out := simtest.Chain(t, 3, 0.05)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	if _, err := tg.Export(ctx, db, Options{FromHeight: db.Tip().Height + 1}); err == nil || !strings.Contains(err.Error(), "above the index's tip") {
		t.Errorf("--from-height above the tip: %v", err)
	}
	sum := export(t, tg, db, Options{})
	if len(sum.Notes) != 2 {
		t.Errorf("an index without clustering and exposure: notes %q", sum.Notes)
	}
	if _, err := tg.pool.Exec(ctx, `UPDATE export_state SET network = 'testnet4'`); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Export(ctx, db, Options{FromHeight: -1}); err == nil || !strings.Contains(err.Error(), "testnet4 export") {
		t.Errorf("another network's export: %v", err)
	}
	if _, err := tg.pool.Exec(ctx, `UPDATE export_state SET network = 'mainnet'`); err != nil {
		t.Fatal(err)
	}
	// A second export of the same schema while one runs is refused.
	other := open(t, schema)
	conn, err := other.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, tg.lockKey()^1); err != nil {
		t.Fatal(err)
	}
	if _, err := tg.Export(ctx, db, Options{FromHeight: -1}); !errors.Is(err, ErrBusy) {
		t.Errorf("concurrent export: %v, want ErrBusy", err)
	}
	conn.Exec(ctx, `SELECT pg_advisory_unlock($1)`, tg.lockKey()^1)
	conn.Release()
}

// TestReorg: an export of a stale branch, after the index reorganised
// onto the best chain, is rewritten from the fork and ends equal to a
// fresh export of the new best chain (E2).
func TestReorg(t *testing.T) {
	dsn(t)
	out := simtest.Chain(t, 11, 0.5)
	// The first stale branch with transactions: the index first sees the
	// best chain before it and the branch (before), then the rest of
	// the best chain (after), which outweighs the branch.
	recs := simtest.Blocks(t, out)
	fork := -1
	for _, b := range recs {
		if b.Stale && len(b.Record) > 2000 {
			fork = b.Height
			break
		}
	}
	var before, after [][]byte
	for _, b := range recs {
		if b.Stale == (b.Height >= fork) {
			before = append(before, b.Record)
		} else if !b.Stale {
			after = append(after, b.Record)
		}
	}
	if fork < 0 {
		t.Fatal("the simulated chain has no stale block with transactions")
	}
	blocks := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	simtest.AppendRecords(t, blocks, before...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: blocks})
	tg := open(t, freshSchema(t))
	first := export(t, tg, db, Options{BatchTxs: 5000})
	simtest.AppendRecords(t, blocks, after...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: blocks})
	re := export(t, tg, db, Options{BatchTxs: 5000})
	if !re.Reorg || re.Deleted != int64(fork) || re.From != int64(fork) || re.To <= first.To {
		t.Errorf("after the reorg at %d (export was at %d): %+v", fork, first.To, re)
	}
	fresh := open(t, freshSchema(t))
	export(t, fresh, db, Options{})
	sameDigest(t, "after a reorg", digest(t, tg), digest(t, fresh))
}

// TestServerLostMidRun: when PostgreSQL drops the export's connections
// between batches, the run retries the batch on a new connection and
// completes; without retries it fails with an error naming the server,
// the export stays complete through its last committed batch, and the
// next run resumes. Either way it ends equal to a fresh export (E3).
func TestServerLostMidRun(t *testing.T) {
	base := dsn(t)
	ctx := context.Background()
	out := simtest.Chain(t, 4, 0.1)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	fresh := open(t, freshSchema(t))
	export(t, fresh, db, Options{})
	want := digest(t, fresh)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, retries := range []int{-1, 0} {
		schema := freshSchema(t)
		tg, err := Open(ctx, base+sep+"application_name="+schema, schema)
		if err != nil {
			t.Fatal(err)
		}
		defer tg.Close()
		batches := 0
		sum, err := tg.Export(ctx, db, Options{FromHeight: -1, BatchTxs: 300, Retries: retries, Progress: func(p Progress) {
			if batches++; batches == 2 {
				if _, err := fresh.pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1`, schema); err != nil {
					t.Error(err)
				}
			}
		}})
		if retries == 0 {
			if err != nil || sum.Retries == 0 {
				t.Errorf("with retries: %v, %+v: want the batch retried and the run done", err, sum)
			}
			sameDigest(t, "after a retry", digest(t, tg), want)
			continue
		}
		if err == nil || !strings.Contains(err.Error(), "PostgreSQL at") {
			t.Fatalf("run whose connections were dropped: %v, want an error naming the server", err)
		}
		t.Logf("the error: %v", err)
		s, err := readState(ctx, tg.pool)
		if err != nil {
			t.Fatal(err)
		}
		var nb int64
		if err := tg.pool.QueryRow(ctx, `SELECT count(*) FROM blocks`).Scan(&nb); err != nil {
			t.Fatal(err)
		}
		if !s.found || s.height >= db.Tip().Height || nb != s.height+1 {
			t.Errorf("after the lost connection: state %+v, %d blocks stored", s, nb)
		}
		re := export(t, tg, db, Options{})
		if re.From != s.height+1 {
			t.Errorf("resumed from %d, want %d", re.From, s.height+1)
		}
		sameDigest(t, "resumed after a lost connection", digest(t, tg), want)
	}
}
