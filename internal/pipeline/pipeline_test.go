package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// bestRecords returns the best-chain block records of a small simulated
// chain in height order.
func bestRecords(t *testing.T) [][]byte {
	t.Helper()
	return simtest.BestRecords(t, simtest.Chain(t, 5, 0.1))
}

// TestIngestEvents ingests a chain in steps and checks the events: every
// height connected once and in order, with its transaction range following
// the previous block's, and each stage reported done after every step.
func TestIngestEvents(t *testing.T) {
	recs := bestRecords(t)
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	p := New(db, Options{})
	var connected []Event
	stages := map[string]int{}
	p.Subscribe(func(e Event) {
		switch e.Kind {
		case BlockConnected:
			connected = append(connected, e)
		case BlockDisconnected:
			t.Errorf("disconnect of %d in a chain without reorgs", e.Height)
		case StageDone:
			stages[e.Stage]++
			if e.Duration <= 0 {
				t.Errorf("stage %s done in %s", e.Stage, e.Duration)
			}
		}
	})
	steps := 0
	for lo := 0; lo < len(recs); lo += len(recs)/4 + 1 {
		simtest.AppendRecords(t, dir, recs[lo:min(len(recs), lo+len(recs)/4+1)]...)
		res, err := p.Ingest(context.Background(), IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}})
		if err != nil {
			t.Fatal(err)
		}
		if res.Index == nil || res.Cluster == nil || res.Risk == nil {
			t.Fatalf("step %d: a stage did not report: %+v", steps, res)
		}
		steps++
	}
	if len(connected) != len(recs) {
		t.Fatalf("%d blocks connected, want %d", len(connected), len(recs))
	}
	for i, e := range connected {
		if e.Height != int64(i) {
			t.Fatalf("event %d: height %d", i, e.Height)
		}
		if i > 0 && e.FirstTx != connected[i-1].FirstTx+btc.TxNum(connected[i-1].NTx) {
			t.Fatalf("block %d: first tx %d, the previous block ended at %d", i, e.FirstTx, connected[i-1].FirstTx+btc.TxNum(connected[i-1].NTx))
		}
		b, err := db.ChainBlock(btc.Height(i))
		if err != nil || b.Hash != e.Hash {
			t.Fatalf("block %d: event hash %s, stored %s (%v)", i, e.Hash, b.Hash, err)
		}
	}
	for _, s := range []string{StageIndex, StageCluster, StageLabels, StageExposure, StageAlerts} {
		if stages[s] != steps {
			t.Errorf("stage %s done %d times in %d ingests", s, stages[s], steps)
		}
	}
	if got := p.Generation(); got != uint64(steps) {
		t.Errorf("generation %d after %d writers", got, steps)
	}
	// An attribution change runs labels and exposure, not clustering.
	before := stages[StageCluster]
	if _, err := p.AttributionChanged(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	if stages[StageCluster] != before || stages[StageExposure] != steps+1 {
		t.Errorf("attribution change: stages %v", stages)
	}
}

// TestReadersDuringIngest runs 8 readers beside an ingest in steps (go
// test -race), with views and with the old locked reads: no reader errors,
// each sees tips that never go down, and inside one Read every stage at the
// index's tip (doc.go); afterwards no view is left open but the current one
// (P5).
func TestReadersDuringIngest(t *testing.T) {
	recs := bestRecords(t)
	for _, locked := range []bool{false, true} {
		t.Run("locked="+strconv.FormatBool(locked), func(t *testing.T) {
			dir := t.TempDir()
			db := indextest.Open(t, t.TempDir())
			p := New(db, Options{LockedReads: locked})
			ctx, cancel := context.WithCancel(context.Background())
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			reads := make([]int, 8)
			for r := range reads {
				wg.Add(1)
				go func() {
					defer wg.Done()
					last := int64(-1)
					for ctx.Err() == nil {
						err := p.Read(func(db *index.DB) error {
							tip := db.Tip()
							if tip.Height < last {
								return fmt.Errorf("tip went down from %d to %d", last, tip.Height)
							}
							last = tip.Height
							return sameTip(db, tip.Height)
						})
						if err != nil {
							errs <- err
							return
						}
						reads[r]++
						// Pacing, not timing: 8 busy readers on 2 cores would
						// starve the writer (go test -race runs minutes).
						time.Sleep(2 * time.Millisecond)
					}
				}()
			}
			step := 5
			if testing.Short() { // make test's -race run
				step = 15
			}
			for lo := 0; lo < len(recs); lo += step {
				simtest.AppendRecords(t, dir, recs[lo:min(len(recs), lo+step)]...)
				if _, err := p.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}}); err != nil {
					t.Fatal(err)
				}
			}
			cancel()
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Error(err)
			}
			if db.Tip().Height != int64(len(recs)-1) {
				t.Fatalf("tip %d, want %d", db.Tip().Height, len(recs)-1)
			}
			want := 1 // the current view
			if locked {
				want = 0
			}
			if n := db.OpenViews(); n != want {
				t.Errorf("%d views open after the readers returned, want %d", n, want)
			}
			t.Logf("%d blocks in %d ingests; reads per reader %v", len(recs), (len(recs)+step-1)/step, reads)
		})
	}
}

// sameTip checks, inside one Read, that the index is at height h, that
// its block is there, and that the clustering and the exposure are at h
// too (a store that was never ingested has nothing to compare).
func sameTip(db *index.DB, h int64) error {
	if h < 0 {
		return nil
	}
	if _, err := db.Block(strconv.FormatInt(h, 10)); err != nil {
		return err
	}
	cs, err := cluster.ReadStatus(db)
	if err != nil {
		return err
	}
	rs, err := risk.ReadStatus(db)
	if err != nil {
		return err
	}
	if cs.Height != h || rs.Height != h {
		return fmt.Errorf("stages disagree inside one read: index %d, cluster %d, exposure %d", h, cs.Height, rs.Height)
	}
	return nil
}

// TestReaderHoldsItsView keeps one Read open across a whole Ingest: the
// writer finishes without waiting for it, and the reader still sees the
// state before the update (every stage, the digest, no block above its
// tip) and cannot write through its view; once it returns, its view is
// closed and the next Read sees the update.
func TestReaderHoldsItsView(t *testing.T) {
	recs := bestRecords(t)
	half := len(recs) / 2
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	p := New(db, Options{})
	ctx := context.Background()
	simtest.AppendRecords(t, dir, recs[:half]...)
	if _, err := p.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}}); err != nil {
		t.Fatal(err)
	}
	if n := db.OpenViews(); n != 0 {
		t.Fatalf("%d views open before any Read, want 0", n)
	}
	entered, updated := make(chan struct{}), make(chan struct{})
	readErr := make(chan error, 1)
	go func() {
		readErr <- p.Read(func(db *index.DB) error {
			tip := db.Tip()
			before, err := db.Digest(ctx)
			if err != nil {
				return err
			}
			close(entered)
			<-updated
			if got := db.Tip(); got != tip {
				return fmt.Errorf("tip moved inside one read: %+v, was %+v", got, tip)
			}
			if err := sameTip(db, tip.Height); err != nil {
				return err
			}
			if after, err := db.Digest(ctx); err != nil || after != before {
				return fmt.Errorf("digest changed inside one read (%v)", err)
			}
			if _, err := db.Block(strconv.FormatInt(tip.Height+1, 10)); !errors.Is(err, index.ErrNotFound) {
				return fmt.Errorf("block %d, added by the update, seen through the old view: %v", tip.Height+1, err)
			}
			if _, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: dir}); !errors.Is(err, index.ErrView) {
				return fmt.Errorf("ingest through a view: %v, want index.ErrView", err)
			}
			return nil
		})
	}()
	<-entered
	simtest.AppendRecords(t, dir, recs[half:]...)
	if _, err := p.Ingest(ctx, IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: dir}}); err != nil {
		t.Fatal(err)
	}
	if n := db.OpenViews(); n != 2 {
		t.Errorf("%d views open while a reader holds the old one, want 2 (old and current)", n)
	}
	close(updated)
	if err := <-readErr; err != nil {
		t.Fatal(err)
	}
	if n := db.OpenViews(); n != 1 {
		t.Errorf("%d views open after the reader left, want 1 (the current)", n)
	}
	err := p.Read(func(db *index.DB) error {
		if h := db.Tip().Height; h != int64(len(recs)-1) {
			return fmt.Errorf("read after the update sees tip %d, want %d", h, len(recs)-1)
		}
		return sameTip(db, int64(len(recs)-1))
	})
	if err != nil {
		t.Fatal(err)
	}
}
