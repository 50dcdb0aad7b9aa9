package risk

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Deferred aggregates. A run from scratch gives flows to most addresses,
// in no order of their ids: written batch by batch as read-modify-writes
// of keyspace 53 they went through the memtable and were then rewritten
// by compactions at every level (535 s of the 42.5M chain's 951 s
// exposure rebuild was compaction CPU). Instead each batch's aggregates
// — partial: only what the batch added — are written as one sorted run
// (5E run addrid), ingested as tables that land in the last level, and
// at the run's end the runs are merged by address (index.StageRuns) and
// ingested into 53 in key order, once; 5E is then dropped. Flows merge
// in any order to the same aggregate (flow.add is commutative and
// associative), so the result is byte-equal to the read-modify-write
// path's (R1; TestRebuildInBatches and TestDeferredAggregates hold it).
//
// Crash safety: key 51 is written with the reset and, with the number of
// runs, with every batch's state; a run is ingested before the batch
// that counts it commits. An interrupted run resumes deferring, without
// a run its batch did not count (resumeRuns); while 51 is present the
// stored aggregates are incomplete, so ReadStatus reports no exposure
// height, and a reorg or an attribution change recomputes from scratch
// rather than updating aggregates that are not there.

// deferAggregates turns the deferral on for runs from scratch (a test
// switches it off for the read-modify-write reference).
var deferAggregates = true

// crashAt, when a test sets it, is called at the deferral's crash points
// ("run ingested": a run is in the store, its batch not committed; "run
// counted": the batch committed; "merged": 53 ingested, the runs not
// dropped); an error it returns ends the update there, as a crash would.
var crashAt func(point string, run uint32) error

func aggRunsValue(n uint32) []byte { return binary.AppendUvarint(nil, uint64(n)) }

// readAggRuns reads key 51: whether a run from scratch defers its
// aggregates, and how many runs it wrote.
func readAggRuns(db *index.DB) (runs uint32, pending bool, err error) {
	v, err := db.StageGet([]byte{pAggRuns})
	if err != nil || v == nil {
		return 0, false, err
	}
	n, k := binary.Uvarint(v)
	if k <= 0 || k != len(v) || n > 1<<32-1 {
		return 0, false, corrupt("aggregate runs", fmt.Errorf("value %x", v))
	}
	return uint32(n), true, nil
}

// resumeRuns continues an interrupted run from scratch: it defers as that
// run did, after dropping the run (if any) that was ingested but whose
// batch did not commit.
func (e *engine) resumeRuns(ctx context.Context, runs uint32) error {
	e.deferAgg, e.aggRuns = true, runs
	lo, hi := index.StageRunKey(nil, []byte{pAggRun}, runs, nil), []byte{pAggRun + 1}
	last, err := e.db.StageLast(lo, hi)
	if err != nil || last == nil {
		return err
	}
	b := e.db.NewStageBatch()
	defer b.Close()
	b.DeleteRange(lo, hi)
	if err := b.Commit(); err != nil {
		return fmt.Errorf("risk: drop an uncounted aggregate run: %w", err)
	}
	e.log.Info("dropped an aggregate run an interrupted update did not count", "run", runs)
	return nil
}

// writeRun ingests the open batch's aggregates as run e.aggRuns and
// counts it in the batch (which the caller commits).
func (e *engine) writeRun(ctx context.Context) error {
	if len(e.aggs) == 0 {
		return nil
	}
	ids := make([]btc.AddrID, 0, len(e.aggs))
	for a := range e.aggs {
		ids = append(ids, a)
	}
	slices.Sort(ids)
	var k []byte
	var suffix [8]byte
	var enc encoding.Encbuf
	_, err := e.db.IngestStage(ctx, "risk-aggregates", func(put func(k, v []byte) error) error {
		for _, a := range ids {
			agg := e.aggs[a]
			if len(agg) == 0 {
				continue
			}
			binary.BigEndian.PutUint64(suffix[:], uint64(a))
			k = index.StageRunKey(k[:0], []byte{pAggRun}, e.aggRuns, suffix[:])
			enc.Reset()
			agg.encodeTo(&enc)
			if err := put(k, enc.Get()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("risk: aggregate run %d: %w", e.aggRuns, err)
	}
	if crashAt != nil {
		if err := crashAt("run ingested", e.aggRuns); err != nil {
			return err
		}
	}
	e.aggRuns++
	e.sum.AggRuns++
	e.b.Set([]byte{pAggRuns}, aggRunsValue(e.aggRuns))
	return nil
}

// mergeRuns merges a deferring run's aggregate runs into keyspace 53, in
// key order, then drops them and key 51.
func (e *engine) mergeRuns(ctx context.Context) error {
	if !e.deferAgg {
		return nil
	}
	var key []byte
	var agg, part aggregate
	var enc encoding.Encbuf
	n := 0
	_, err := e.db.IngestStage(ctx, "risk-aggregates", func(put func(k, v []byte) error) error {
		return e.db.StageRuns(ctx, []byte{pAggRun}, e.aggRuns, func(suffix []byte, vals [][]byte) error {
			n++
			key = append(append(key[:0], pAgg), suffix...)
			if len(vals) == 1 {
				return put(key, vals[0]) // a run's partial is an aggregate already
			}
			agg = agg[:0]
			for _, v := range vals {
				var err error
				if part, err = decodeAggregateTo(part[:0], v); err != nil {
					return fmt.Errorf("address %d: %w", binary.BigEndian.Uint64(suffix), err)
				}
				for _, f := range part {
					agg = agg.merge(f)
				}
			}
			enc.Reset()
			agg.encodeTo(&enc)
			return put(key, enc.Get())
		})
	})
	if err != nil {
		return fmt.Errorf("risk: merge %d aggregate runs: %w", e.aggRuns, err)
	}
	if crashAt != nil {
		if err := crashAt("merged", e.aggRuns); err != nil {
			return err
		}
	}
	b := e.db.NewStageBatch()
	defer b.Close()
	b.DeleteRange([]byte{pAggRun}, []byte{pAggRun + 1})
	b.Delete([]byte{pAggRuns})
	if err := b.Commit(); err != nil {
		return fmt.Errorf("risk: merge aggregate runs: %w", err)
	}
	if err := e.db.CompactStage(ctx, []byte{pAggRun}, []byte{pAggRun + 1}); err != nil {
		return fmt.Errorf("risk: merge aggregate runs: %w", err)
	}
	e.deferAgg = false
	if e.aggRuns > 0 {
		e.log.Info("merged the aggregate runs", "runs", e.aggRuns, "addresses", n)
	}
	return nil
}
