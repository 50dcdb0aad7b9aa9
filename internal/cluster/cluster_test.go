package cluster

import (
	"context"
	"errors"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

var allChange = ScriptType | Fresh | Optimal | Round | Fingerprint | Peel

// TestIncrementalEqualsFresh ingests a simulated chain in pieces, with
// out-of-order and stale blocks, clustering after each, and checks that the
// cluster keyspaces equal those of one run over the whole chain (C1), with
// and without change heuristics. The incremental store commits every stage
// batch through Pebble's batches, the fresh one every batch as ingested
// tables (index.Options.StageTableBytes), so the two commit paths are held
// to the same keyspaces too.
func TestIncrementalEqualsFresh(t *testing.T) {
	scale := 0.5
	if testing.Short() {
		scale = 0.2
	}
	out := simtest.Chain(t, 11, scale)
	blocks := simtest.Blocks(t, out)
	for _, cfg := range []Config{{}, {Change: allChange}} {
		t.Run(cfg.String(), func(t *testing.T) {
			dir := t.TempDir()
			inc := indextest.OpenWith(t, t.TempDir(), func(o *index.Options) { o.StageTableBytes = -1 })
			steps := 7
			var last Summary
			for i := 0; i < steps; i++ {
				lo, hi := len(blocks)*i/steps, len(blocks)*(i+1)/steps
				var recs [][]byte
				for _, b := range blocks[lo:hi] {
					recs = append(recs, b.Record)
				}
				simtest.AppendRecords(t, dir, recs...)
				indextest.Ingest(t, inc, index.IngestOptions{BlocksDir: dir})
				c := cfg
				last = update(t, inc, Options{Config: &c})
			}
			fresh := indextest.OpenWith(t, t.TempDir(), func(o *index.Options) { o.StageTableBytes = 1 })
			indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: dir})
			c := cfg
			sum := update(t, fresh, Options{Config: &c})
			if sum.TotalMerges == 0 || sum.TotalMerges != last.TotalMerges {
				t.Fatalf("fresh run: %d merges; incremental: %d", sum.TotalMerges, last.TotalMerges)
			}
			if cfg.Change != 0 && sum.ChangeMerges == 0 {
				t.Fatalf("change heuristics on, but no change links: %+v", sum)
			}
			if clusterDigest(t, inc) != clusterDigest(t, fresh) {
				t.Fatal("incremental clustering differs from a fresh one")
			}
			t.Logf("%s: %d merges (%d change), %d refused, %d CoinJoins", sum.Config, sum.TotalMerges, sum.ChangeMerges, sum.Refused, sum.CoinJoins)
		})
	}
}

// TestReorgUndoesMerges clusters a stale branch, then lets the index reorg
// to the best chain: the stale blocks' merges are undone and the result
// equals a store that never saw the stale branch (C1, C4).
func TestReorgUndoesMerges(t *testing.T) {
	best, stale, bestAfter, fork := reorgBranches(t)
	for _, cfg := range []Config{{}, {Change: allChange}} {
		t.Run(cfg.String(), func(t *testing.T) {
			dir := t.TempDir()
			db := indextest.Open(t, t.TempDir())
			simtest.AppendRecords(t, dir, append(append([][]byte{}, best...), stale...)...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			c := cfg
			before := update(t, db, Options{Config: &c})
			simtest.AppendRecords(t, dir, bestAfter...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			sum := update(t, db, Options{})
			if sum.Undone == 0 {
				t.Fatalf("no stale blocks undone (stale branch at %d, clustered to %d)", fork, before.Height)
			}
			freshDir := t.TempDir()
			simtest.AppendRecords(t, freshDir, append(append([][]byte{}, best...), bestAfter...)...)
			fresh := indextest.Open(t, t.TempDir())
			indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: freshDir})
			c = cfg
			update(t, fresh, Options{Config: &c})
			if clusterDigest(t, db) != clusterDigest(t, fresh) {
				t.Fatal("clustering after the reorg differs from one that never saw the stale branch")
			}
			t.Logf("undid %d blocks from height %d", sum.Undone, fork)
		})
	}
}

// TestConfigChangeNeedsRebuild: asking for other heuristics on a stored
// clustering is refused unless rebuilding, and a rebuild equals a fresh
// run.
func TestConfigChangeNeedsRebuild(t *testing.T) {
	out := simtest.Chain(t, 3, 0.2)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, db, Options{})
	_, err := Update(context.Background(), db, Options{Config: &Config{Change: allChange}})
	if !errors.Is(err, ErrConfig) {
		t.Fatalf("changing heuristics without --rebuild: %v, want ErrConfig", err)
	}
	sum := update(t, db, Options{Config: &Config{Change: allChange}, Rebuild: true})
	if !sum.Rebuilt {
		t.Fatal("not rebuilt")
	}
	fresh := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, fresh, Options{Config: &Config{Change: allChange}})
	if clusterDigest(t, db) != clusterDigest(t, fresh) {
		t.Fatal("rebuilt clustering differs from a fresh one")
	}
	st, err := ReadStatus(db)
	if err != nil || st.Dirty || st.Merges != sum.TotalMerges {
		t.Fatalf("status %+v, %v", st, err)
	}
}

// TestInvariants checks C2, C3 and C5 on a simulated chain: every
// address's stored entity is the smallest id of its component, members and
// sizes agree, logged merges form a forest, and no accepted change link
// joined two entities at or over the guard size.
func TestInvariants(t *testing.T) {
	out := simtest.Chain(t, 5, 0.3)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	cfg := Config{Change: allChange, Threshold: 0.5, GuardSize: 3}
	sum := update(t, db, Options{Config: &cfg})
	ctx := context.Background()
	n := int(db.Tip().NextAddr)
	ref := NewForest(n) // rebuilt here, checking C3 and C5 on the way
	refused := 0
	err := Merges(ctx, db, func(m *Merge) error {
		ra, rb := ref.Find(uint32(m.A)), ref.Find(uint32(m.B))
		if ra == rb {
			t.Fatalf("merge in tx %d joins %d and %d, already one entity (C3)", m.Tx, m.A, m.B)
		}
		if m.Heuristic == Change && ref.Size(ra) >= cfg.GuardSize && ref.Size(rb) >= cfg.GuardSize {
			t.Fatalf("change link in tx %d joined entities of %d and %d addresses (C5)", m.Tx, ref.Size(ra), ref.Size(rb))
		}
		ref.Union(ra, rb)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	err = Refused(ctx, db, func(m *RefusedMerge) error {
		refused++
		switch m.Reason() {
		case "guard":
			if m.SizeA < cfg.GuardSize || m.SizeB < cfg.GuardSize {
				t.Fatalf("%s: refused link of sizes %d, %d under the guard %d", m.Reason(), m.SizeA, m.SizeB, cfg.GuardSize)
			}
		case "input_entities":
			if m.Established <= 2 || m.Entities < m.Established {
				t.Fatalf("co-spend refused for %d established entities of %d", m.Established, m.Entities)
			}
		case "script_mix":
		default:
			t.Fatalf("refused for %q", m.Reason())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", sum)
	if refused == 0 || uint64(refused) != sum.Refused {
		t.Fatalf("%d refused links stored, summary says %d (a guard of %d should refuse some)", refused, sum.Refused, cfg.GuardSize)
	}
	multi := 0
	for x := 0; x < n; x++ {
		want := uint64(ref.Find(uint32(x)))
		got, err := EntityOf(db, btc.AddrID(x))
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Fatalf("address %d: stored entity %d, merges say %d (C2)", x, got, want)
		}
		size, err := Size(db, got)
		if err != nil {
			t.Fatal(err)
		}
		if size != uint64(ref.Size(uint32(want))) {
			t.Fatalf("entity %d: stored size %d, merges say %d", got, size, ref.Size(uint32(want)))
		}
		if uint64(x) == want && size > 1 {
			multi++
			var count uint64
			prev := btc.AddrID(0)
			if err := Members(ctx, db, want, 0, true, func(a btc.AddrID) bool {
				if count > 0 && a <= prev {
					t.Fatalf("entity %d members out of order", want)
				}
				prev = a
				count++
				return true
			}); err != nil {
				t.Fatal(err)
			}
			if count != size {
				t.Fatalf("entity %d lists %d members, size %d", want, count, size)
			}
		}
	}
	if multi == 0 {
		t.Fatal("no multi-address entities")
	}
}

// TestExplain: the path Explain returns starts at a, ends at b, and each
// step is a logged merge of the step's two addresses.
func TestExplain(t *testing.T) {
	out := simtest.Chain(t, 5, 0.2)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	update(t, db, Options{Config: &Config{Change: allChange}})
	ctx := context.Background()
	// The largest entity, and its first and last members.
	f, err := Load(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	var big uint32
	for x := uint32(0); x < uint32(f.Len()); x++ {
		if r := f.Find(x); f.Size(r) > f.Size(f.Find(big)) {
			big = r
		}
	}
	var last btc.AddrID
	f.Members(big, func(y uint32) bool {
		last = max(last, btc.AddrID(y))
		return true
	})
	steps, err := Explain(ctx, db, btc.AddrID(big), last, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(steps) == 0 || steps[0].From != btc.AddrID(big) || steps[len(steps)-1].To != last {
		t.Fatalf("path from %d to %d: %+v", big, last, steps)
	}
	for i, s := range steps {
		if i > 0 && s.From != steps[i-1].To {
			t.Fatalf("step %d starts at %d, previous ended at %d", i, s.From, steps[i-1].To)
		}
		if s.TxID == "" || s.Height == nil || s.FromAddr == "" || s.ToAddr == "" {
			t.Fatalf("step %d incomplete: %+v", i, s)
		}
		if s.Heuristic == "change" && (s.Evidence == "" || s.ChangeOutput == "") {
			t.Fatalf("change step %d without evidence: %+v", i, s)
		}
	}
	t.Logf("entity %d (%d addresses): %d steps from %d to %d", big, f.Size(big), len(steps), big, last)
	// Addresses of different entities are refused.
	other := btc.AddrID(0)
	for f.Find(uint32(other)) == big {
		other++
	}
	if _, err := Explain(ctx, db, btc.AddrID(big), other, 0); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("explain across entities: %v", err)
	}
}

// TestCoinJoinsExcluded: no multi-input merge is logged for a transaction
// with a CoinJoin verdict, and the simulated chain has some.
func TestCoinJoinsExcluded(t *testing.T) {
	out := simtest.Chain(t, 5, 0.3)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	sum := update(t, db, Options{})
	if sum.CoinJoins == 0 {
		t.Fatal("no CoinJoins detected in the simulated chain")
	}
	ctx := context.Background()
	err := Merges(ctx, db, func(m *Merge) error {
		v, err := TxNote(db, m.Tx)
		if err != nil {
			return err
		}
		if v.Kind != coinjoin.NotCoinJoin && m.Heuristic == MultiInput {
			t.Fatalf("multi-input merge in CoinJoin tx %d (%s)", m.Tx, v.Kind)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
