package pipeline

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

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

// TestReadersDuringIngest runs readers beside an ingest in steps (go test
// -race): no reader errors, each sees tips that never go down, and every
// stage at the index's tip (the guard's promise in doc.go).
func TestReadersDuringIngest(t *testing.T) {
	recs := bestRecords(t)
	dir := t.TempDir()
	db := indextest.Open(t, t.TempDir())
	p := New(db, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	reads := make([]int, 4)
	for r := range reads {
		wg.Add(1)
		go func() {
			defer wg.Done()
			last := int64(-1)
			for ctx.Err() == nil {
				err := p.Read(func(db *index.DB) error {
					tip := db.Tip()
					if tip.Height < last {
						return errors.New("tip went down from " + strconv.FormatInt(last, 10) + " to " + strconv.FormatInt(tip.Height, 10))
					}
					last = tip.Height
					if tip.Height < 0 {
						return nil
					}
					if _, err := db.Block(strconv.FormatInt(tip.Height, 10)); err != nil {
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
					if cs.Height != tip.Height || rs.Height != tip.Height {
						return errors.New("stages behind the index: index " + strconv.FormatInt(tip.Height, 10) +
							", cluster " + strconv.FormatInt(cs.Height, 10) + ", exposure " + strconv.FormatInt(rs.Height, 10))
					}
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				reads[r]++
			}
		}()
	}
	for lo := 0; lo < len(recs); lo += 5 {
		simtest.AppendRecords(t, dir, recs[lo:min(len(recs), lo+5)]...)
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
	t.Logf("%d blocks in %d ingests; reads per reader %v", len(recs), (len(recs)+4)/5, reads)
}
