package cluster

import (
	"context"
	"errors"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"os"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestInterrupted stops Update at several points (after committed batches,
// before the entity keyspaces are written) and checks that the next run
// ends equal to an uninterrupted one (C1).
func TestInterrupted(t *testing.T) {
	out := simtest.Chain(t, 7, 0.3)
	cfg := Config{Change: allChange}
	fresh := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, fresh, Options{Config: &cfg})
	want := clusterDigest(t, fresh)
	tip := fresh.Tip().Height
	for _, stop := range []int64{1, tip / 3, tip / 2, tip - 1, tip} {
		db := indextest.Open(t, t.TempDir())
		indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
		ctx, cancel := context.WithCancel(context.Background())
		_, err := Update(ctx, db, Options{Config: &cfg, BatchBytes: 4096, Progress: func(h, _ int64, _ uint64) {
			if h >= stop {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("stop at %d: %v, want context.Canceled", stop, err)
		}
		st, err := ReadStatus(db)
		if err != nil {
			t.Fatal(err)
		}
		if st.Height >= 0 && !st.Dirty {
			t.Fatalf("stop at %d: interrupted run left a clean state %+v", stop, st)
		}
		update(t, db, Options{})
		if clusterDigest(t, db) != want {
			t.Fatalf("stop at %d (state %+v): resumed clustering differs from an uninterrupted one", stop, st)
		}
	}
}

// FuzzRecordDecode: no stored cluster record, however damaged, panics a
// decoder.
func FuzzRecordDecode(f *testing.F) {
	m := mergeRecord{A: 5, B: 900, Heuristic: Change, Evidence: Optimal | Round, Confidence: 93, ChangeOut: btc.MakeOutRef(7, 1), SizeA: 3, SizeB: 4}
	f.Add(m.encode(true))
	f.Add(m.encode(false))
	st := state{Height: 10, NextTx: 99, Merges: 4, Config: (&Config{Change: Fresh}).EnsureDefaults().encode()}
	f.Add(st.encode())
	c := candidate{evidence: Fresh, fp: fingerprint{version: 2, lock: 1}, twoOut: true, input: 77}
	f.Add(c.encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		var m mergeRecord
		_ = m.decode(b, false)
		_ = m.decode(b, true)
		var st state
		_ = st.decode(b)
		var cfg Config
		_ = cfg.decode(b)
		var c candidate
		_ = c.decode(b, 0)
		_, _ = decodeNote(b)
	})
}

// TestSnapshot: an Update after a clean one loads the forest snapshot and
// replays only the log after it; a damaged or missing snapshot falls back
// to the whole log; all end equal (the snapshot is only a cache).
func TestSnapshot(t *testing.T) {
	out := simtest.Chain(t, 9, 0.2)
	blocks := simtest.Blocks(t, out)
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	half := len(blocks) * 4 / 5
	var recs [][]byte
	for _, b := range blocks[:half] {
		recs = append(recs, b.Record)
	}
	simtest.AppendRecords(t, dir, recs...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	first := update(t, db, Options{})
	if first.Replayed != 0 || first.TotalMerges == 0 {
		t.Fatalf("first run replayed %d merges, logged %d", first.Replayed, first.TotalMerges)
	}
	recs = recs[:0]
	for _, b := range blocks[half:] {
		recs = append(recs, b.Record)
	}
	simtest.AppendRecords(t, dir, recs...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	second := update(t, db, Options{})
	if second.Replayed != 0 || second.Merges == 0 {
		t.Fatalf("second run: replayed %d merges (want 0: the snapshot holds them all), %d new", second.Replayed, second.Merges)
	}
	third := update(t, db, Options{})
	if third.Replayed != second.Merges {
		t.Fatalf("third run replayed %d merges, want the %d logged after the snapshot", third.Replayed, second.Merges)
	}
	want := clusterDigest(t, db)
	// Damage the snapshot: the next run must replay everything.
	path := snapshotPath(db.Dir())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0xff
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	fourth := update(t, db, Options{})
	if fourth.Replayed != fourth.TotalMerges {
		t.Fatalf("damaged snapshot: replayed %d of %d merges", fourth.Replayed, fourth.TotalMerges)
	}
	if clusterDigest(t, db) != want {
		t.Fatal("clustering changed after replaying around a damaged snapshot")
	}
	fresh := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: dir})
	update(t, fresh, Options{})
	if clusterDigest(t, fresh) != want {
		t.Fatal("snapshot-based increments differ from a fresh run")
	}
}

// TestAdjacencyDeferred: a bulk run writes its merges' adjacency keys at
// its end, two a merge, and a run that stopped before they were written,
// or after they were ingested but before the mark was cleared, is
// finished by the next one: the clustering ends equal to an uninterrupted
// run's, and Explain refuses while the adjacency is incomplete instead
// of calling the store corrupt. A small sort budget makes the sort spill.
func TestAdjacencyDeferred(t *testing.T) {
	defer func(b int) { adjSortBytes = b }(adjSortBytes)
	adjSortBytes = 64 << 10
	out := simtest.Chain(t, 5, 0.2)
	ctx := context.Background()
	build := func() *index.DB {
		db := indextest.Open(t, t.TempDir())
		indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
		return db
	}
	fresh := build()
	sum := update(t, fresh, Options{Config: &Config{Change: allChange}})
	if sum.Merges == 0 || sum.AdjDerived != 2*sum.Merges {
		t.Fatalf("bulk run: %d merges, %d adjacency keys derived", sum.Merges, sum.AdjDerived)
	}
	want := clusterDigest(t, fresh)
	st, err := readState(fresh)
	if err != nil || st.AdjFrom != 0 {
		t.Fatalf("mark left after a finished run: %+v (%v)", st, err)
	}
	// Two addresses the log joined.
	v, err := fresh.StageLast([]byte{pMerge}, []byte{pMerge + 1})
	if err != nil || v == nil {
		t.Fatalf("no merge logged (%v)", err)
	}
	mv, err := fresh.StageGet(v)
	if err != nil {
		t.Fatal(err)
	}
	var m mergeRecord
	if err := m.decode(mv, false); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		dropAdj bool
	}{{"stopped before the adjacency was written", true}, {"stopped after it was ingested, before the mark was cleared", false}} {
		t.Run(tc.name, func(t *testing.T) {
			db := build()
			update(t, db, Options{Config: &Config{Change: allChange}})
			st, err := readState(db)
			if err != nil {
				t.Fatal(err)
			}
			st.AdjFrom, st.Dirty = 1, true
			b := db.NewStageBatch()
			if tc.dropAdj {
				b.DeleteRange([]byte{pAdj}, []byte{pAdj + 1})
			}
			b.Set([]byte{pState}, st.encode())
			if err := b.Commit(); err != nil {
				t.Fatal(err)
			}
			if _, err := Explain(ctx, db, m.A, m.B, 0); !errors.Is(err, ErrNotClustered) {
				t.Fatalf("Explain with the adjacency pending: %v, want ErrNotClustered", err)
			}
			sum := update(t, db, Options{})
			if sum.AdjDerived == 0 {
				t.Fatal("the next run derived no adjacency")
			}
			if clusterDigest(t, db) != want {
				t.Fatal("the finished clustering differs from an uninterrupted one")
			}
			if _, err := Explain(ctx, db, m.A, m.B, 0); err != nil {
				t.Fatalf("Explain after the next run: %v", err)
			}
		})
	}
}
