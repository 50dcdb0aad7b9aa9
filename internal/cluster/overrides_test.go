package cluster

import (
	"context"
	"errors"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// overrideStore ingests the chain at out into a new store.
func overrideStore(t *testing.T, out string) *index.DB {
	t.Helper()
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: out + "/blocks"})
	return db
}

func setOverride(t *testing.T, db *index.DB, o Override, cfg Config) {
	t.Helper()
	if _, err := SetOverride(context.Background(), db, o, Options{Config: &cfg}); err != nil {
		t.Fatalf("set %s: %v", o.Kind, err)
	}
}

// mergesOf returns the merges logged for transaction num.
func mergesOf(t *testing.T, db *index.DB, num btc.TxNum) int {
	t.Helper()
	n := 0
	err := Merges(context.Background(), db, func(m *Merge) error {
		if m.Tx == num {
			n++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestOverrides: each decision changes the entities as it says, is
// explained, survives a rebuild, and leaves the store equal to a fresh
// clustering that had the decision from the start (C1).
func TestOverrides(t *testing.T) {
	ctx := context.Background()
	out := simtest.Chain(t, 3, 0.3)
	cfg := Config{GuardSize: 2}
	db := overrideStore(t, out)
	update(t, db, Options{Config: &cfg})
	base := clusterDigest(t, db)

	// A co-spend that merged something, late in the chain, and one the
	// guard refused.
	var co, refused btc.TxNum
	var coA, coB btc.AddrID
	if err := Merges(ctx, db, func(m *Merge) error {
		if m.Heuristic == MultiInput {
			co, coA, coB = m.Tx, m.A, m.B
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var refA, refB btc.AddrID
	if err := Refused(ctx, db, func(m *RefusedMerge) error {
		refused, refA, refB = m.Tx, m.A, m.B
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if co == 0 || refused == 0 {
		t.Fatalf("no co-spend (%d) or refused co-spend (%d) to override", co, refused)
	}
	coID, _ := db.TxID(co)
	refID, _ := db.TxID(refused)
	keyOf := func(a btc.AddrID) (k [1]Override) {
		var err error
		if k[0].A, err = db.AddrKey(a); err != nil {
			t.Fatal(err)
		}
		return k
	}

	// Reject: the co-spend's merges are gone, and it is listed as refused
	// by an investigator.
	setOverride(t, db, Override{Kind: Reject, TxID: coID, By: "alice", Reason: "PayJoin with the merchant"}, cfg)
	if n := mergesOf(t, db, co); n != 0 {
		t.Fatalf("rejected tx still has %d merges", n)
	}
	if e1, _ := EntityOf(db, coA); e1 == mustEntity(t, db, coB) {
		t.Fatalf("rejected co-spend's addresses %d and %d still one entity", coA, coB)
	}
	found := false
	var ra, rb btc.AddrID
	_ = Refused(ctx, db, func(m *RefusedMerge) error {
		if m.Tx == co && m.Reason() == "investigator" {
			found, ra, rb = true, m.A, m.B
		}
		return nil
	})
	if !found {
		t.Fatal("rejected co-spend not listed as refused by an investigator")
	}
	between, err := RefusedBetween(ctx, db, ra, rb, 0)
	if err != nil || len(between) == 0 || between[0].Reason != "investigator" {
		t.Fatalf("RefusedBetween = %+v, %v", between, err)
	}

	// Accept: the refused co-spend merges.
	setOverride(t, db, Override{Kind: Accept, TxID: refID, By: "bob", Reason: "one exchange's sweep"}, cfg)
	if mustEntity(t, db, refA) != mustEntity(t, db, refB) {
		t.Fatal("accepted co-spend did not merge")
	}

	// Merge: two addresses in different entities become one, explained.
	x, y := btc.AddrID(1), btc.AddrID(db.Tip().NextAddr-1)
	if mustEntity(t, db, x) == mustEntity(t, db, y) {
		t.Fatal("test addresses already joined")
	}
	kx, ky := keyOf(x), keyOf(y)
	setOverride(t, db, Override{Kind: Join, A: kx[0].A, B: ky[0].A, By: "carol", Reason: "court order 12/3"}, cfg)
	steps, err := Explain(ctx, db, x, y, 0)
	if err != nil {
		t.Fatal(err)
	}
	manual := false
	for _, s := range steps {
		if s.Heuristic == "manual" && s.By == "carol" && s.Reason == "court order 12/3" {
			manual = true
		}
	}
	if !manual {
		t.Fatalf("explain of a manual merge: %+v", steps)
	}

	// All three decisions from the start, on a fresh store, give the same
	// clustering; so does a rebuild of this one.
	want := clusterDigest(t, db)
	fresh := overrideStore(t, out)
	if err := Overrides(ctx, db, func(o *Override) error {
		b := fresh.NewStageBatch()
		b.Set(o.key(), o.encode())
		return b.Commit()
	}); err != nil {
		t.Fatal(err)
	}
	update(t, fresh, Options{Config: &cfg})
	if clusterDigest(t, fresh) != want {
		t.Fatal("a fresh clustering with the same decisions differs")
	}
	update(t, db, Options{Config: &cfg, Rebuild: true})
	if clusterDigest(t, db) != want {
		t.Fatal("decisions did not survive a rebuild")
	}

	// Removing every decision gives back the original clustering.
	var all []Override
	_ = Overrides(ctx, db, func(o *Override) error { all = append(all, *o); return nil })
	if len(all) != 3 {
		t.Fatalf("%d decisions stored, want 3", len(all))
	}
	for _, o := range all {
		if _, err := RemoveOverride(ctx, db, o, Options{Config: &cfg}); err != nil {
			t.Fatal(err)
		}
	}
	if clusterDigest(t, db) != base {
		t.Fatal("removing the decisions did not restore the clustering")
	}

	// Split: two addresses joined through co-spends come apart.
	a, b := coA, coB
	rejected, err := Split(ctx, db, a, b, "dave", "two customers", Options{Config: &cfg})
	if err != nil || len(rejected) == 0 {
		t.Fatalf("split rejected %d txs: %v", len(rejected), err)
	}
	if _, err := Explain(ctx, db, a, b, 0); !errors.Is(err, ErrNotJoined) {
		t.Fatalf("after split: %v", err)
	}

	// Bad decisions are refused with a reason.
	if _, err := SetOverride(ctx, db, Override{Kind: Reject, TxID: btc.Hash{1}, By: "x", Reason: "r"}, Options{}); !errors.Is(err, ErrOverride) {
		t.Errorf("reject of an unknown tx: %v", err)
	}
	if _, err := SetOverride(ctx, db, Override{Kind: Reject, TxID: coID, By: "x"}, Options{}); !errors.Is(err, ErrOverride) {
		t.Errorf("decision without a reason: %v", err)
	}
}

func mustEntity(t *testing.T, db *index.DB, a btc.AddrID) uint64 {
	t.Helper()
	e, err := EntityOf(db, a)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// reorgBranches is simtest.ReorgBranches on the chain these tests use.
func reorgBranches(t *testing.T) (best, stale, bestAfter [][]byte, fork int) {
	return simtest.ReorgBranches(t, simtest.Chain(t, 11, 0.5))
}

// TestOverrideSurvivesReorg: an investigator's decision about a
// transaction before the fork is still applied after the index reorgs, and
// the store equals a fresh one with the same decision.
func TestOverrideSurvivesReorg(t *testing.T) {
	best, stale, bestAfter, fork := reorgBranches(t)
	ctx := context.Background()
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	simtest.AppendRecords(t, dir, append(append([][]byte{}, best...), stale...)...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	update(t, db, Options{})
	// The last co-spend before the stale branch.
	cb, err := db.ChainBlock(btc.Height(fork))
	if err != nil {
		t.Fatal(err)
	}
	var co btc.TxNum
	if err := Merges(ctx, db, func(m *Merge) error {
		if m.Heuristic == MultiInput && m.Tx < cb.FirstTx {
			co = m.Tx
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	id, err := db.TxID(co)
	if err != nil {
		t.Fatal(err)
	}
	o := Override{Kind: Reject, TxID: id, By: "erin", Reason: "collaborative"}
	if _, err := SetOverride(ctx, db, o, Options{}); err != nil {
		t.Fatal(err)
	}
	simtest.AppendRecords(t, dir, bestAfter...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	if sum := update(t, db, Options{}); sum.Undone == 0 {
		t.Fatal("no reorg")
	}
	freshDir := t.TempDir()
	simtest.AppendRecords(t, freshDir, append(append([][]byte{}, best...), bestAfter...)...)
	fresh := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: freshDir})
	if _, err := SetOverride(ctx, fresh, o, Options{}); err != nil {
		t.Fatal(err)
	}
	if clusterDigest(t, db) != clusterDigest(t, fresh) {
		t.Fatal("after the reorg the clustering differs from a fresh one with the same decision")
	}
	num, err := db.TxNum(id)
	if err != nil || mergesOf(t, db, num) != 0 {
		t.Fatalf("the rejected tx has merges after the reorg (%v)", err)
	}
}
