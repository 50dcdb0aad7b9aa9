package pgstore

import (
	"context"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/labelsync/labelsynctest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// simBlocks is a simulated chain's blocks directory.
func simBlocks(t *testing.T) string { return simtest.BestChainDir(t, 5, 0.1) }

// sharedStore is a server's store (its own chain index from blocks)
// following the label log at DSN d.
func sharedStore(t *testing.T, d, blocks string) (*pipeline.Pipeline, *labelsync.Shared) {
	t.Helper()
	pl := labelsynctest.Ingest(t, indextest.Open(t, t.TempDir()), blocks)
	log := open(t, d).LabelLog()
	t.Cleanup(log.Close)
	s, err := labelsync.NewShared(context.Background(), pl, log, labelsync.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return pl, s
}

// TestLabelsConformance runs labelsync's suite with PostgreSQL's log: the
// suite the embedded store passes (labelsync's TestLocalConformance).
func TestLabelsConformance(t *testing.T) {
	dsn(t)
	blocks := simBlocks(t)
	labelsynctest.Run(t, func(t *testing.T) labelsynctest.Store {
		pl, s := sharedStore(t, freshSchema(t), blocks)
		return labelsynctest.Store{Editor: s, Pipeline: pl}
	})
}

// TestLabelLogWait: an append wakes a waiter at once, long before the
// poll interval.
func TestLabelLogWait(t *testing.T) {
	d := freshSchema(t)
	w, a := open(t, d).LabelLog(), open(t, d).LabelLog()
	t.Cleanup(w.Close)
	ctx := context.Background()
	if err := w.Wait(ctx, 10*time.Millisecond); err != nil { // starts listening; times out
		t.Fatal(err)
	}
	woke := make(chan time.Duration, 1)
	go func() {
		start := time.Now()
		if err := w.Wait(ctx, 30*time.Second); err != nil {
			t.Error(err)
		}
		woke <- time.Since(start)
	}()
	time.Sleep(50 * time.Millisecond) // let the waiter block (not an assertion)
	if _, err := a.Append(ctx, "alice", []labelsync.Edit{{Kind: labelsync.KindRemoveSource, Source: "x"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-woke:
	case <-time.After(20 * time.Second):
		t.Fatal("an append did not wake the waiter")
	}
	es, err := w.After(ctx, 0, 10)
	if err != nil || len(es) != 1 || es[0].Seq != 1 || es[0].By != "alice" || es[0].Edit.Source != "x" {
		t.Fatalf("entries %+v %v", es, err)
	}
}
