package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// stageChain is a simulated chain's best records in height order.
func stageChain(t *testing.T) [][]byte {
	t.Helper()
	return simtest.BestRecords(t, simtest.Chain(t, 3, 0.2))
}

// watchOutputs creates a list "live" in db (rules any/in and
// value>=100000/both) watching the output addresses of the best-chain
// blocks at heights [from, to] (every 7th one, so that some of the chain
// hits and some does not).
func watchOutputs(t *testing.T, db *index.DB, from, to int64) {
	t.Helper()
	ctx := context.Background()
	var keys []address.Key
	seen := map[btc.AddrID]bool{}
	for h := from; h <= to; h++ {
		b, err := db.ChainBlock(btc.Height(h))
		if err != nil {
			t.Fatal(err)
		}
		err = db.ScanTxs(ctx, b.FirstTx, b.FirstTx+btc.TxNum(b.NTx), func(tx *coinjoin.Tx) error {
			for _, o := range tx.Outs {
				if o.Addr != btc.NoAddr && o.Addr%7 == 0 && !seen[o.Addr] {
					seen[o.Addr] = true
					k, err := db.AddrKey(o.Addr)
					if err != nil {
						return err
					}
					keys = append(keys, k)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(keys) < 10 {
		t.Fatalf("only %d addresses to watch", len(keys))
	}
	liveList(t, db, keys)
}

// liveList creates the list "live" (rules any/in and value>=100000/both)
// watching keys in db.
func liveList(t *testing.T, db *index.DB, keys []address.Key) {
	t.Helper()
	ctx := context.Background()
	st := NewDB(db)
	anyIn, _ := ParseRule("any", In, alert.Medium)
	big, _ := ParseRule("value>=100000", Both, alert.High)
	id, err := st.Create(ctx, &List{Name: "live", Rules: []Rule{anyIn, big}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
}

// alertKey is what must agree between the stage and Scan: everything but
// the ids and times.
func alertKey(a *alert.Alert) string {
	return fmt.Sprintf("%d %s %s %s %d %d %s %v", a.Level, a.Rule, a.TxID, a.Address, a.Value, a.Height, a.BlockHash, a.Invalidated)
}

func storedAlerts(t *testing.T, st *alert.DB) []alert.Alert { return alerttest.All(t, st) }

func alertKeys(as []alert.Alert) []string {
	out := make([]string, len(as))
	for i := range as {
		out[i] = alertKey(&as[i])
	}
	slices.Sort(out)
	return out
}

// scanAlerts runs the offline Scan of recs' chain from height from on a
// fresh store with the same watchlist, and returns its alerts.
func scanAlerts(t *testing.T, recs [][]byte, watchFrom, watchTo, from int64) []string {
	t.Helper()
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	simtest.AppendRecords(t, dir, recs...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	watchOutputs(t, db, watchFrom, watchTo)
	set, err := Compile(context.Background(), db, NewDB(db))
	if err != nil {
		t.Fatal(err)
	}
	st := alert.NewDB(db)
	if _, err := Scan(context.Background(), db, set, st, nil, btc.Height(from)); err != nil {
		t.Fatal(err)
	}
	return alertKeys(storedAlerts(t, st))
}

// TestStageEqualsScan grows a chain in steps, running the alert stage
// after each, and compares its alerts with the offline Scan of the same
// blocks. The watchlist is created after the first step, and it watches
// addresses that appear only later (the not-yet-on-chain path).
func TestStageEqualsScan(t *testing.T) {
	ctx := context.Background()
	recs := stageChain(t)
	split := len(recs) / 3
	// The watched addresses are taken from a full store of the chain.
	full := indextest.Open(t, t.TempDir())
	fdir := t.TempDir()
	simtest.AppendRecords(t, fdir, recs...)
	indextest.Ingest(t, full, index.IngestOptions{BlocksDir: fdir})
	last := int64(len(recs) - 1)
	var keys []address.Key
	watchOutputs(t, full, int64(split)/2, last)
	if err := NewDB(full).Addresses(ctx, 1, func(k address.Key) error { keys = append(keys, k); return nil }); err != nil {
		t.Fatal(err)
	}

	dir, db, alerts, stage := stageStore(t, recs[:split])
	sum, err := stage.Update(ctx)
	if err != nil || !sum.Started {
		t.Fatalf("first update: %+v, %v; want Started", sum, err)
	}
	liveList(t, db, keys) // the same addresses as in the full store
	for lo := split; lo < len(recs); lo += 17 {
		simtest.AppendRecords(t, dir, recs[lo:min(lo+17, len(recs))]...)
		indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
		if _, err := stage.Update(ctx); err != nil {
			t.Fatal(err)
		}
		if p, _, _ := stage.Progress(); p.Height != db.Tip().Height || p.Hash != db.Tip().Hash {
			t.Fatalf("after update: progress %+v, tip %d", p, db.Tip().Height)
		}
	}
	got := alertKeys(storedAlerts(t, alerts))
	want := scanAlerts(t, recs, int64(split)/2, last, int64(split))
	if len(want) < 5 {
		t.Fatalf("Scan raised %d alerts: the test proves little", len(want))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("stage stored %d alerts, Scan %d; first difference:\n%s", len(got), len(want), firstDiff(got, want))
	}
	// Every alert has exactly one event, so one webhook-id.
	events := 0
	if err := alerts.Events(ctx, 0, func(ev *alert.Event) (bool, error) {
		if ev.Type != alert.EventCreated {
			t.Errorf("event %d is %s in a chain without reorgs", ev.Seq, ev.Type)
		}
		events++
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if events != len(got) {
		t.Fatalf("%d events for %d alerts", events, len(got))
	}
	// Nothing new: an update is a no-op.
	if sum, err := stage.Update(ctx); err != nil || sum.From <= sum.To || sum.Created != 0 {
		t.Fatalf("update at the tip: %+v, %v", sum, err)
	}
	t.Logf("%d alerts over %d blocks", len(got), len(recs)-split)
}

// stageStore indexes recs in a new blocks directory and store, and returns
// them with the store's alert store and an alert stage over it.
func stageStore(t *testing.T, recs [][]byte) (string, *index.DB, *alert.DB, *Stage) {
	t.Helper()
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	alerts := alert.NewDB(db)
	simtest.AppendRecords(t, dir, recs...)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	return dir, db, alerts, NewStage(db, alerts, nil)
}

func firstDiff(a, b []string) string {
	for i := range max(len(a), len(b)) {
		var x, y string
		if i < len(a) {
			x = a[i]
		}
		if i < len(b) {
			y = b[i]
		}
		if x != y {
			return fmt.Sprintf("stage: %q\nscan:  %q", x, y)
		}
	}
	return ""
}

var errCrash = errors.New("injected crash")

// TestStageCrash kills the alert stage part way (an error after block k,
// for several k, before the batch holding it commits), and again between
// the index commit and the stage, then restarts it with a new Stage (a
// new process: nothing kept in memory) on the reopened store: the alerts
// are exactly those of an uninterrupted run, none lost, none twice, one
// event each.
func TestStageCrash(t *testing.T) {
	ctx := context.Background()
	recs := stageChain(t)
	split := len(recs) / 3
	last := int64(len(recs) - 1)
	want := scanAlerts(t, recs, 0, last, int64(split))

	for _, crashAt := range []int64{int64(split), int64(split) + 5, last - 3, last} {
		t.Run(fmt.Sprint("after-block-", crashAt), func(t *testing.T) {
			dir, dbDir := t.TempDir(), t.TempDir()
			db := indextest.Open(t, dbDir)
			simtest.AppendRecords(t, dir, recs[:split]...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			if _, err := NewStage(db, alert.NewDB(db), nil).Update(ctx); err != nil {
				t.Fatal(err)
			}
			// The list watches what the full chain's blocks pay.
			full := indextest.Open(t, t.TempDir())
			fdir := t.TempDir()
			simtest.AppendRecords(t, fdir, recs...)
			indextest.Ingest(t, full, index.IngestOptions{BlocksDir: fdir})
			watchOutputs(t, full, 0, last)
			copyList(t, full, db)

			// Half the rest: the stage crashes after block crashAt.
			mid := split + (len(recs)-split)/2
			simtest.AppendRecords(t, dir, recs[split:mid]...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			s := NewStage(db, alert.NewDB(db), nil)
			s.afterBlock = func(h int64) error {
				if h == crashAt {
					return errCrash
				}
				return nil
			}
			if _, err := s.Update(ctx); crashAt < int64(mid) && !errors.Is(err, errCrash) {
				t.Fatalf("update: %v, want the injected crash", err)
			}
			// The rest is indexed; the process dies before the stage runs.
			simtest.AppendRecords(t, dir, recs[mid:]...)
			indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
			db.Close()
			db = indextest.Open(t, dbDir)
			s = NewStage(db, alert.NewDB(db), nil)
			s.afterBlock = func(h int64) error {
				if h == crashAt {
					return errCrash
				}
				return nil
			}
			_, err := s.Update(ctx)
			if crashAt >= int64(mid) && !errors.Is(err, errCrash) {
				t.Fatalf("update: %v, want the injected crash", err)
			}
			if _, err := NewStage(db, alert.NewDB(db), nil).Update(ctx); err != nil {
				t.Fatal(err)
			}
			st := alert.NewDB(db)
			got := alertKeys(storedAlerts(t, st))
			if !slices.Equal(got, want) {
				t.Fatalf("after the crash: %d alerts, an uninterrupted run %d; first difference:\n%s", len(got), len(want), firstDiff(got, want))
			}
			ids := map[uint64]bool{}
			if err := st.Events(ctx, 0, func(ev *alert.Event) (bool, error) {
				if ids[ev.Alert] {
					t.Errorf("alert %d has a second event %d", ev.Alert, ev.Seq)
				}
				ids[ev.Alert] = true
				return true, nil
			}); err != nil {
				t.Fatal(err)
			}
			if len(ids) != len(got) {
				t.Fatalf("%d alerts with events, %d alerts", len(ids), len(got))
			}
		})
	}
}

// copyList copies every list of from (and its addresses) to to.
func copyList(t *testing.T, from, to *index.DB) {
	t.Helper()
	ctx := context.Background()
	src, dst := NewDB(from), NewDB(to)
	lists, err := src.Lists(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lists {
		var keys []address.Key
		if err := src.Addresses(ctx, l.ID, func(k address.Key) error { keys = append(keys, k); return nil }); err != nil {
			t.Fatal(err)
		}
		id, err := dst.Create(ctx, &l)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dst.AddAddresses(ctx, id, keys); err != nil {
			t.Fatal(err)
		}
	}
}

// TestStageReorg connects a stale block that pays watched addresses (it
// is the tip for a moment), then its rival and the rival's child: the
// stale block's alerts are invalidated, each with an alert.invalidated
// event, and the rival's are created.
func TestStageReorg(t *testing.T) {
	ctx := context.Background()
	out := simtest.Chain(t, 3, 0.2)
	best := simtest.BestRecords(t, out)
	var stale *simtest.Block
	for _, b := range simtest.Blocks(t, out) {
		if b.Stale && b.Height > 10 && (stale == nil || b.Height < stale.Height) {
			stale = &b
		}
	}
	if stale == nil {
		t.Fatal("the simulated chain has no stale block")
	}
	h := stale.Height
	dir, db, alerts, stage := stageStore(t, best[:h])
	if _, err := stage.Update(ctx); err != nil {
		t.Fatal(err)
	}
	simtest.AppendRecords(t, dir, stale.Record)
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	staleHash := db.Tip().Hash
	if db.Tip().Height != int64(h) {
		t.Fatalf("tip %d after the stale block at %d", db.Tip().Height, h)
	}
	// Watch every output address of the stale block (7 | id or not).
	st := NewDB(db)
	b, _ := db.ChainBlock(btc.Height(h))
	var keys []address.Key
	if err := db.ScanTxs(ctx, b.FirstTx, b.FirstTx+btc.TxNum(b.NTx), func(tx *coinjoin.Tx) error {
		for _, o := range tx.Outs {
			if o.Addr != btc.NoAddr {
				k, err := db.AddrKey(o.Addr)
				if err != nil {
					return err
				}
				keys = append(keys, k)
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	anyIn, _ := ParseRule("any", In, alert.Medium)
	id, _ := st.Create(ctx, &List{Name: "stale", Rules: []Rule{anyIn}})
	if _, err := st.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
	// The stage was at h-1: it matches the stale block now.
	sum, err := stage.Update(ctx)
	if err != nil || sum.Created == 0 {
		t.Fatalf("stale block: %+v, %v; want alerts", sum, err)
	}
	staleAlerts := sum.Created
	// The rival and its child: a reorg.
	simtest.AppendRecords(t, dir, best[h], best[h+1])
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	if db.Tip().Height != int64(h+1) {
		t.Fatalf("tip %d, want %d", db.Tip().Height, h+1)
	}
	sum, err = stage.Update(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Disconnected != 1 || sum.Invalidated != staleAlerts {
		t.Fatalf("reorg: %+v; want 1 block disconnected and %d alerts invalidated", sum, staleAlerts)
	}
	invalidated := map[uint64]bool{}
	if err := alerts.Events(ctx, 0, func(ev *alert.Event) (bool, error) {
		if ev.Type == alert.EventInvalidated {
			invalidated[ev.Alert] = true
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, a := range storedAlerts(t, alerts) {
		if (a.BlockHash == staleHash) != a.Invalidated {
			t.Errorf("alert %d in block %s at %d: invalidated %v", a.ID, a.BlockHash, a.Height, a.Invalidated)
		}
		if a.Invalidated && !invalidated[a.ID] {
			t.Errorf("alert %d invalidated without an alert.invalidated event", a.ID)
		}
	}
	t.Logf("stale block %d: %d alerts invalidated; the rival re-mined its transactions: %d alerts", h, staleAlerts, sum.Created)
}
