package cluster

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// ErrConfig is returned when the stored clustering was built with another
// Config and Options.Rebuild is not set.
var ErrConfig = errors.New("cluster: the stored clustering uses other heuristics")

// Options tune Update.
type Options struct {
	// Config chooses the heuristics. Nil keeps the stored config (or the
	// default, multi-input only, for a new clustering).
	Config *Config
	// Rebuild drops the stored clustering and builds it from scratch.
	Rebuild bool
	// BatchBytes bounds a write batch. Default 32 MiB.
	BatchBytes int
	// MaxCandidates bounds the change candidates kept in memory; older ones
	// are read back from the store. Default 4 million.
	MaxCandidates int
	// Logger receives progress lines. Default: discard.
	Logger *slog.Logger
	// ToHeight, when positive, stops the clustering at that height (for
	// benchmarks of increments); standalone blocks wait for a run without it.
	ToHeight int64
	// Progress, when set, is called after each block.
	Progress func(height, tip int64, txs uint64)
	// Forest, when set, keeps the forest between updates of one process
	// (the pipeline's, block after block) instead of loading it from the
	// snapshot and the log each time.
	Forest *ForestCache

	// reclusterFrom, when set, undoes the clustering from the block of
	// that transaction on (an investigator's decision about the past).
	reclusterFrom *btc.TxNum
}

// Summary reports an Update.
type Summary struct {
	Config          string `json:"config"`
	Rebuilt         bool   `json:"rebuilt"`
	Undone          int64  `json:"blocks_undone"` // stale blocks whose merges were undone (reorg)
	Blocks          int64  `json:"blocks"`
	Txs             uint64 `json:"txs"`
	Standalone      uint64 `json:"standalone_txs"`
	Merges          uint64 `json:"merges"`           // new merges
	ChangeMerges    uint64 `json:"change_merges"`    // of which change links
	Refused         uint64 `json:"refused"`          // links refused (guard, input-structure tests, investigators)
	RefusedCoSpends uint64 `json:"refused_cospends"` // of which co-spends
	CoinJoins       uint64 `json:"coinjoins"`
	// AdjDerived counts the adjacency keys a bulk run wrote at its end
	// (deriveAdj), in key order, instead of merge by merge.
	AdjDerived   uint64        `json:"adjacency_derived,omitempty"`
	TotalMerges  uint64        `json:"total_merges"`
	Height       int64         `json:"height"`
	ForestBytes  int           `json:"forest_bytes"`
	ForestMapped bool          `json:"forest_mapped"`      // the forest's arrays were scratch files, not heap
	Remapped     uint64        `json:"remapped_addresses"` // entity-of rows written
	Replayed     uint64        `json:"replayed_merges"`    // logged merges replayed to rebuild the forest (the rest came from the snapshot)
	Elapsed      time.Duration `json:"elapsed_ns"`

	// Absorbed lists the entities this update's merges absorbed (each
	// address id that was an entity's root and no longer is), when
	// AbsorbedKnown: the update only added merges to a clustering of
	// AbsorbedFrom merges (no undo, not rewritten whole). Then every
	// address whose entity changed was in one of these entities, which
	// lets the labels' entity index move just their members.
	Absorbed      []btc.AddrID `json:"-"`
	AbsorbedFrom  uint64       `json:"-"`
	AbsorbedKnown bool         `json:"-"`
}

// engine is one Update.
type engine struct {
	db   *index.DB
	cfg  Config
	opts Options
	st   state
	f    *Forest
	b    *index.StageBatch
	log  *slog.Logger
	sum  Summary

	// bulk: the entity keyspaces are rewritten whole at the end (a new or
	// dirty clustering); otherwise only what this run changed.
	bulk      bool
	deferAdj  bool // merges' adjacency keys are written at the end (deriveAdj)
	absorbed  []uint32
	survivors []uint32

	snapMerges uint64 // merges in the loaded snapshot (0: none)

	ov    overrides   // investigators' decisions, resolved to this chain
	roots []rootInput // scratch for the input-structure tests

	cands     map[btc.OutRef]candidate
	candSince btc.TxNum // candidates of txs below this are only in the store

	nextUnseen btc.AddrID // first address id not yet seen in the current block
	chain      bool       // processing best-chain (not standalone) txs
	seq        uint32
	enc        encoding.Encbuf
}

// Update brings the clustering up to the index's best chain and standalone
// blocks: it undoes the merges of blocks that left the best chain, clusters
// the new blocks' transactions and rewrites what changed in the entity
// keyspaces. The result equals a from-scratch run over the same blocks (C1).
func Update(ctx context.Context, db *index.DB, opts Options) (Summary, error) {
	start := time.Now()
	e := &engine{db: db, opts: opts, log: opts.Logger}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if e.opts.BatchBytes == 0 {
		e.opts.BatchBytes = 32 << 20
	}
	if e.opts.MaxCandidates == 0 {
		e.opts.MaxCandidates = 4 << 20
	}
	if err := e.open(ctx); err != nil {
		return e.sum, err
	}
	defer func() {
		if e.b != nil {
			e.b.Close()
		}
		if e.f != nil {
			e.f.Close()
		}
	}()
	if err := e.undoStale(ctx); err != nil {
		return e.sum, err
	}
	if err := e.undoForOverride(ctx); err != nil {
		return e.sum, err
	}
	if err := e.loadOverrides(ctx); err != nil {
		return e.sum, err
	}
	if err := e.loadForest(ctx); err != nil {
		return e.sum, err
	}
	e.sum.Height = e.st.Height
	from, bulk := e.st.Merges, e.bulk
	if e.bulk {
		// A bulk run's adjacency keys, random in address order, are
		// written at its end in key order instead of merge by merge.
		e.deferAdj = true
		if a := uint64(e.st.NextTx) + 1; e.st.AdjFrom == 0 || a < e.st.AdjFrom {
			e.st.AdjFrom = a
		}
	}
	if err := e.clusterChain(ctx); err != nil {
		return e.sum, err
	}
	if err := e.clusterStandalone(ctx); err != nil {
		return e.sum, err
	}
	if err := e.deriveAdj(ctx); err != nil {
		return e.sum, err
	}
	if err := e.remap(ctx); err != nil {
		return e.sum, err
	}
	if !bulk && e.sum.Undone == 0 {
		e.sum.AbsorbedKnown, e.sum.AbsorbedFrom = true, from
		e.sum.Absorbed = make([]btc.AddrID, len(e.absorbed))
		for i, a := range e.absorbed {
			e.sum.Absorbed[i] = btc.AddrID(a)
		}
	}
	if err := e.saveSnapshot(); err != nil {
		return e.sum, err
	}
	e.sum.Config = e.cfg.String()
	e.sum.TotalMerges = e.st.Merges
	e.sum.ForestBytes, e.sum.ForestMapped = e.f.Bytes(), e.f.Mapped()
	if e.opts.Forest != nil {
		e.opts.Forest.keep(e.db, e.f, e.st.Merges, e.snapMerges)
		e.f = nil // the cache's now
	}
	e.sum.Elapsed = time.Since(start)
	return e.sum, nil
}

// open loads the state, or starts a new clustering.
func (e *engine) open(ctx context.Context) error {
	v, err := e.db.StageGet([]byte{pState})
	if err != nil {
		return err
	}
	fresh := v == nil
	if !fresh {
		if err := e.st.decode(v); err != nil {
			return err
		}
		var stored Config
		if err := stored.decode(e.st.Config); err != nil {
			return err
		}
		e.cfg = stored
	}
	if e.opts.Config != nil {
		want := *e.opts.Config
		want.EnsureDefaults()
		if !fresh && !bytes.Equal(want.encode(), e.st.Config) && !e.opts.Rebuild {
			return fmt.Errorf("%w (stored %s; asked %s): rerun with --rebuild to recluster", ErrConfig, e.cfg.String(), want.String())
		}
		e.cfg = want
	} else if fresh {
		e.cfg.EnsureDefaults()
	}
	if fresh || e.opts.Rebuild {
		logRewrites.Add(1)
		if err := removeSnapshot(e.db.Dir()); err != nil {
			return err
		}
		b := e.db.NewStageBatch()
		if !fresh {
			// A new clustering has nothing to delete (its keys are only
			// ever written with its state), and a range deletion would
			// lie over the keyspaces in the store's top level, so that
			// every table this run ingests would land above it and be
			// compacted down again.
			b.DeleteRange([]byte{index.StageCluster}, []byte{pEnd})
		}
		e.st = state{Height: -1, Config: e.cfg.encode(), Dirty: true}
		b.Set([]byte{pState}, e.st.encode())
		if err := b.Commit(); err != nil {
			return fmt.Errorf("cluster: reset: %w", err)
		}
		if !fresh {
			if err := e.db.CompactStage(ctx, []byte{index.StageCluster}, []byte{pEnd}); err != nil {
				return fmt.Errorf("cluster: reset: %w", err)
			}
		}
		e.sum.Rebuilt = !fresh
	}
	e.bulk = e.st.Dirty
	return nil
}

// undoStale finds the last clustered block still on the index's best
// chain and undoes everything clustered after it.
func (e *engine) undoStale(ctx context.Context) error {
	if e.st.Height < 0 {
		return nil
	}
	tip := e.db.Tip()
	h := min(e.st.Height, tip.Height)
	fork := int64(-1)
	for ; h >= 0; h-- {
		ours, _, err := e.blockAt(btc.Height(h))
		if err != nil {
			return err
		}
		cb, err := e.db.ChainBlock(btc.Height(h))
		if err != nil {
			return err
		}
		if cb.Hash == ours {
			fork = h
			break
		}
	}
	if fork == e.st.Height {
		return nil
	}
	return e.undoTo(ctx, fork)
}

// undoForOverride undoes the clustering from the block of
// opts.reclusterFrom on; a standalone transaction undoes the standalone
// part only.
func (e *engine) undoForOverride(ctx context.Context) error {
	if e.opts.reclusterFrom == nil || e.st.Height < 0 {
		return nil
	}
	from := *e.opts.reclusterFrom
	fork := e.st.Height
	if from < index.DetachedBase {
		if from >= e.st.NextTx {
			return nil // not clustered yet
		}
		var t coinjoin.Tx
		if err := e.db.ReadTx(from, &t); err != nil {
			return fmt.Errorf("cluster: override: %w", err)
		}
		fork = int64(t.Height) - 1
	} else if uint64(from-index.DetachedBase) >= e.st.DetachedDone {
		return nil
	}
	e.log.Info("reclustering for an investigator's decision", "from_height", fork+1)
	return e.undoTo(ctx, fork)
}

// undoTo deletes everything clustered after block fork (and every
// standalone transaction's clustering), as if the clustering had stopped
// there.
func (e *engine) undoTo(ctx context.Context, fork int64) error {
	// T0: our first transaction after the fork.
	t0 := btc.TxNum(0)
	switch {
	case fork == e.st.Height:
		t0 = e.st.NextTx
	case fork >= 0:
		_, first, err := e.blockAt(btc.Height(fork + 1))
		if err != nil {
			return err
		}
		t0 = first
	}
	e.log.Info("undoing clustering", "from_height", fork+1, "to_height", e.st.Height)
	e.sum.Undone += e.st.Height - fork
	b := e.db.NewStageBatch()
	defer b.Close()
	var m mergeRecord
	err := e.db.StageScan(ctx, keyMerge(pMerge, t0, 0), []byte{pMerge + 1}, func(k, v []byte) (bool, error) {
		if err := m.decode(v, false); err != nil {
			return false, err
		}
		tx, seq := btc.TxNum(be64(k[1:])), bytesBE32(k[9:])
		b.Delete(keyAdj(m.A, tx, seq))
		b.Delete(keyAdj(m.B, tx, seq))
		return true, nil
	})
	if err != nil {
		return err
	}
	b.DeleteRange(keyMerge(pMerge, t0, 0), []byte{pMerge + 1})
	b.DeleteRange(keyBlock(btc.Height(fork+1)), []byte{pBlock + 1})
	b.DeleteRange(key64(pTxNote, uint64(t0)), []byte{pTxNote + 1})
	b.DeleteRange(keyMerge(pRefused, t0, 0), []byte{pRefused + 1})
	b.DeleteRange(key64(pCand, uint64(btc.MakeOutRef(t0, 0))), []byte{pCand + 1})
	err = e.db.StageScan(ctx, []byte{pMixer}, []byte{pMixer + 1}, func(k, _ []byte) (bool, error) {
		if btc.TxNum(be64(k[9:])) >= t0 {
			b.Delete(append([]byte(nil), k...))
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	logRewrites.Add(1) // merges below NextTx are about to change: SplitCache reloads
	e.st.Height, e.st.NextTx, e.st.DetachedDone, e.st.Dirty = fork, t0, 0, true
	e.st.Tip = btc.Hash{}
	if fork >= 0 {
		if e.st.Tip, _, err = e.blockAt(btc.Height(fork)); err != nil {
			return err
		}
	}
	if err := removeSnapshot(e.db.Dir()); err != nil {
		return err
	}
	// The counters are recounted from what remains.
	if e.st.Refused, err = e.count(ctx, pRefused, t0); err != nil {
		return err
	}
	b.Set([]byte{pState}, e.st.encode())
	if err := b.Commit(); err != nil {
		return fmt.Errorf("cluster: undo: %w", err)
	}
	e.bulk = true
	return nil
}

// count counts the keys of keyspace p below tx t0.
func (e *engine) count(ctx context.Context, p byte, t0 btc.TxNum) (uint64, error) {
	var n uint64
	err := e.db.StageScan(ctx, []byte{p}, keyMerge(p, t0, 0), func(_, _ []byte) (bool, error) { n++; return true, nil })
	return n, err
}

// blockAt returns the hash and first tx of the block we clustered at h.
func (e *engine) blockAt(h btc.Height) (btc.Hash, btc.TxNum, error) {
	v, err := e.db.StageGet(keyBlock(h))
	if err != nil {
		return btc.Hash{}, 0, err
	}
	if len(v) < 33 {
		return btc.Hash{}, 0, corrupt("block", fmt.Errorf("height %d: %d bytes", h, len(v)))
	}
	var hash btc.Hash
	copy(hash[:], v)
	d := encoding.Decbuf{B: v[32:]}
	first := btc.TxNum(d.Uvarint())
	return hash, first, d.Err()
}

func bytesBE32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

// loadForest builds the forest of every address the index holds: from the
// snapshot plus the log after it when they add up, else by replaying the
// whole merge log.
func (e *engine) loadForest(ctx context.Context) error {
	tip := e.db.Tip()
	if uint64(tip.NextAddr) > MaxIDs {
		return fmt.Errorf("cluster: %d addresses exceed the forest's %d ids", tip.NextAddr, uint64(MaxIDs))
	}
	naddr := int(tip.NextAddr)
	if c := e.opts.Forest; c != nil {
		f, snap, ok, err := c.take(e.db, e.st.Merges, naddr)
		if err != nil {
			return err
		}
		if ok && !e.bulk {
			e.f, e.snapMerges = f, snap
			return nil
		}
		if ok {
			f.Close()
		}
	}
	if !e.bulk {
		f, m0, key, err := loadSnapshot(e.db.Dir(), naddr)
		if err == nil {
			n, err := replayFrom(ctx, e.db, f, append(key, 0))
			if err == nil && m0+n == e.st.Merges {
				e.f, e.snapMerges, e.sum.Replayed = f, m0, n
				e.log.Debug("forest from snapshot", "merges", m0, "replayed", n)
				return nil
			}
			f.Close()
			if err != nil {
				return err
			}
			e.log.Info("forest snapshot does not match the merge log; replaying it all", "snapshot", m0, "after", n, "log", e.st.Merges)
		} else if !errors.Is(err, os.ErrNotExist) {
			e.log.Info("forest snapshot unusable; replaying the merge log", "err", err)
		}
	}
	f, n, err := replay(ctx, e.db, naddr)
	if err != nil {
		return err
	}
	e.f, e.st.Merges, e.snapMerges, e.sum.Replayed = f, n, 0, n
	return nil
}

// replay builds the forest of the stored merge log, in scratch files
// beside the store when it is large; the caller closes it.
func replay(ctx context.Context, db *index.DB, naddr int) (*Forest, uint64, error) {
	f, err := NewScratchForest(db.Dir(), naddr)
	if err != nil {
		return nil, 0, err
	}
	n, err := replayFrom(ctx, db, f, []byte{pMerge})
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	return f, n, nil
}

// replayFrom applies the logged merges from key lo on to f.
func replayFrom(ctx context.Context, db *index.DB, f *Forest, lo []byte) (uint64, error) {
	return replayRange(ctx, db, f, lo, []byte{pMerge + 1}, nil)
}

// replayRange applies the logged merges with keys in [lo, hi) to f,
// calling each (when set) with every merge's transaction and addresses.
func replayRange(ctx context.Context, db *index.DB, f *Forest, lo, hi []byte, each func(tx btc.TxNum, a, b btc.AddrID)) (uint64, error) {
	naddr := uint64(f.Len())
	var n uint64
	err := scanMerges(ctx, db, lo, hi, func(tx btc.TxNum, m *mergeRecord) error {
		if uint64(m.A) >= naddr || uint64(m.B) >= naddr {
			return corrupt("merge", fmt.Errorf("address ids %d, %d beyond the index's %d", m.A, m.B, naddr))
		}
		if each != nil {
			each(tx, m.A, m.B)
		}
		f.Union(uint32(m.A), uint32(m.B))
		n++
		return nil
	})
	return n, err
}

// scanMerges decodes the logged merges with keys in [lo, hi), in log
// order, for fn.
func scanMerges(ctx context.Context, db *index.DB, lo, hi []byte, fn func(tx btc.TxNum, m *mergeRecord) error) error {
	var m mergeRecord
	return db.StageScan(ctx, lo, hi, func(k, v []byte) (bool, error) {
		if err := m.decode(v, false); err != nil {
			return false, err
		}
		return true, fn(btc.TxNum(be64(k[1:])), &m)
	})
}

// saveSnapshot rewrites the snapshot when the log has outgrown it.
func (e *engine) saveSnapshot() error {
	grown := e.st.Merges - e.snapMerges
	if e.snapMerges > 0 && grown < max(1_000_000, e.st.Merges/20) {
		return nil
	}
	if grown == 0 {
		return nil
	}
	last, err := e.db.StageLast([]byte{pMerge}, []byte{pMerge + 1})
	if err != nil {
		return err
	}
	if err := saveSnapshot(e.db.Dir(), e.f, e.st.Merges, last); err != nil {
		return err
	}
	e.snapMerges = e.st.Merges
	return nil
}

// clusterChain clusters the best-chain blocks after the last clustered one.
func (e *engine) clusterChain(ctx context.Context) error {
	tip := e.db.Tip()
	if e.opts.ToHeight > 0 && e.opts.ToHeight < tip.Height {
		tip.Height = e.opts.ToHeight
	}
	if tip.Height <= e.st.Height {
		return nil
	}
	e.candSince = e.st.NextTx
	e.cands = make(map[btc.OutRef]candidate)
	e.chain = true
	e.b = e.db.NewStageBatch()
	lastLog := time.Now()
	for h := e.st.Height + 1; h <= tip.Height; h++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		cb, err := e.db.ChainBlock(btc.Height(h))
		if err != nil {
			return err
		}
		if cb.FirstTx != e.st.NextTx {
			return corrupt("state", fmt.Errorf("block %d starts at tx %d, clustering is at tx %d", h, cb.FirstTx, e.st.NextTx))
		}
		e.nextUnseen = cb.FirstAddr
		err = e.db.ScanTxs(ctx, cb.FirstTx, cb.FirstTx+btc.TxNum(cb.NTx), e.tx)
		if err != nil {
			return fmt.Errorf("cluster: block %d (%s): %w", h, cb.Hash, err)
		}
		e.applyManual(cb.FirstTx+btc.TxNum(cb.NTx)-1, e.nextUnseen)
		e.b.Set(keyBlock(cb.Height), binaryAppendUvarint(cb.Hash[:], uint64(cb.FirstTx)))
		e.st.Height, e.st.Tip, e.st.NextTx = h, cb.Hash, cb.FirstTx+btc.TxNum(cb.NTx)
		e.sum.Blocks++
		e.sum.Txs += cb.NTx
		if e.b.Size() >= e.opts.BatchBytes {
			if err := e.commit(); err != nil {
				return err
			}
			if len(e.cands) > e.opts.MaxCandidates {
				clear(e.cands)
				e.candSince = e.st.NextTx
			}
		}
		if e.opts.Progress != nil {
			e.opts.Progress(h, tip.Height, e.sum.Txs)
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			e.log.Info("clustering", "height", h, "tip", tip.Height, "txs", e.sum.Txs, "merges", e.sum.Merges)
		}
	}
	e.sum.Height = e.st.Height
	return e.commit()
}

func binaryAppendUvarint(b []byte, x uint64) []byte {
	var e encoding.Encbuf
	e.PutBytes(b)
	e.PutUvarint(x)
	return e.Get()
}

// clusterStandalone clusters the standalone blocks' transactions not yet
// clustered: multi-input only, as their place in time is unknown.
func (e *engine) clusterStandalone(ctx context.Context) error {
	tip := e.db.Tip()
	if e.opts.ToHeight > 0 {
		return nil
	}
	done := btc.TxNum(e.st.DetachedDone)
	if done >= tip.NextDetachedTx {
		return nil
	}
	e.chain = false
	e.b = e.db.NewStageBatch()
	err := e.db.ScanTxs(ctx, index.DetachedBase+done, index.DetachedBase+tip.NextDetachedTx, e.tx)
	if err != nil {
		return fmt.Errorf("cluster: standalone transactions: %w", err)
	}
	e.applyManual(index.DetachedBase+tip.NextDetachedTx-1, tip.NextAddr)
	e.sum.Standalone += uint64(tip.NextDetachedTx - done)
	e.st.DetachedDone = uint64(tip.NextDetachedTx)
	return e.commit()
}

// commit writes the batch with the state. Until the entity keyspaces are
// rewritten, the state is dirty.
func (e *engine) commit() error {
	if e.sum.Merges > 0 || e.bulk {
		e.st.Dirty = true
	}
	e.b.Set([]byte{pState}, e.st.encode())
	err := e.b.Commit()
	e.b = e.db.NewStageBatch()
	if err != nil {
		return fmt.Errorf("cluster: commit at height %d: %w", e.st.Height, err)
	}
	return nil
}

// tx clusters one transaction.
func (e *engine) tx(tx *coinjoin.Tx) error {
	e.seq = 0
	if len(tx.Ins) > 0 && tx.Ins[0].Coinbase {
		e.seen(tx)
		return nil
	}
	var ov override
	if len(e.ov.tx) > 0 { // decisions are rare: no map read per transaction without any
		ov = e.ov.tx[tx.Num]
	}
	var v coinjoin.Verdict
	if ov != ovAccept {
		v = coinjoin.DetectWith(tx, e.cfg.on())
	}
	if v.Kind != coinjoin.NotCoinJoin {
		e.sum.CoinJoins++
		e.enc.Reset()
		e.enc.PutByte(byte(v.Kind))
		e.enc.PutUvarint(uint64(v.Denomination))
		e.enc.PutUvarint(uint64(v.Participants))
		e.b.Set(key64(pTxNote, uint64(tx.Num)), slices.Clone(e.enc.Get()))
		for i := range tx.Ins {
			if a := tx.Ins[i].Addr; a != btc.NoAddr {
				e.b.Set(key64x2(pMixer, uint64(a), uint64(tx.Num)), nil)
			}
		}
	}
	// Multi-input first: every input address with the first, unless a
	// CoinJoin or refused by the input-structure tests (or an
	// investigator). Then change links, weaker, which the guard judges by
	// the sizes the co-spend produced.
	refused := false
	if v.Kind == coinjoin.NotCoinJoin {
		refused = e.coSpend(tx, ov)
	}
	// Spend-time change decisions: is an output this tx spends its
	// creator's change?
	if e.cfg.Change != 0 && e.chain && ov != ovReject {
		for i := range tx.Ins {
			in := &tx.Ins[i]
			if !in.Resolved || in.Addr == btc.NoAddr {
				continue
			}
			c, ok, err := e.candidate(in.Prev)
			if err != nil {
				return err
			}
			if !ok {
				continue
			}
			ev := e.cfg.spendEvidence(&c, tx)
			if s := e.cfg.score(ev); s >= e.cfg.Threshold {
				e.link(tx.Num, c.input, in.Addr, Change, ev, s, in.Prev)
			}
		}
	}
	if v.Kind == coinjoin.NotCoinJoin && !refused {
		if e.cfg.Change != 0 && e.chain {
			if c, ok := e.cfg.changeCandidate(tx, e.fresh); ok {
				ref := btc.MakeOutRef(tx.Num, c.vout)
				e.cands[ref] = c
				e.b.Set(key64(pCand, uint64(ref)), c.encode())
			}
		}
	}
	e.seen(tx)
	return nil
}

// fresh reports whether address id a first appears in the current tx.
func (e *engine) fresh(a btc.AddrID) bool { return e.chain && a >= e.nextUnseen }

func (e *engine) seen(tx *coinjoin.Tx) {
	for i := range tx.Outs {
		if a := tx.Outs[i].Addr; a != btc.NoAddr && a >= e.nextUnseen {
			e.nextUnseen = a + 1
		}
	}
}

// candidate returns the change candidate recorded for output ref.
func (e *engine) candidate(ref btc.OutRef) (candidate, bool, error) {
	if c, ok := e.cands[ref]; ok {
		delete(e.cands, ref)
		return c, true, nil
	}
	if ref.Tx() >= e.candSince {
		return candidate{}, false, nil
	}
	v, err := e.db.StageGet(key64(pCand, uint64(ref)))
	if err != nil || v == nil {
		return candidate{}, false, err
	}
	var c candidate
	return c, true, c.decode(v, ref.Vout())
}

// link merges the entities of a and b, recording why; a change link that
// would join two large entities is refused and recorded instead (the
// supercluster guard).
func (e *engine) link(tx btc.TxNum, a, b btc.AddrID, h Heuristic, ev Evidence, conf float64, change btc.OutRef) {
	ra, rb := e.f.Find(uint32(a)), e.f.Find(uint32(b))
	if ra == rb {
		return
	}
	m := mergeRecord{A: a, B: b, Heuristic: h, Evidence: ev, Confidence: uint8(math.Round(conf * 100)), ChangeOut: change}
	seq := e.seq
	e.seq++
	if h == Change {
		if sa, sb := e.f.Size(ra), e.f.Size(rb); sa >= e.cfg.GuardSize && sb >= e.cfg.GuardSize {
			m.SizeA, m.SizeB = sa, sb
			e.b.Set(keyMerge(pRefused, tx, seq), m.encode(true))
			e.st.Refused++
			e.sum.Refused++
			return
		}
		e.sum.ChangeMerges++
	}
	root, abs, _ := e.f.Union(ra, rb)
	e.absorbed = append(e.absorbed, abs)
	e.survivors = append(e.survivors, root)
	e.b.Set(keyMerge(pMerge, tx, seq), m.encode(false))
	if !e.deferAdj {
		e.b.Set(keyAdj(a, tx, seq), nil)
		e.b.Set(keyAdj(b, tx, seq), nil)
	}
	e.st.Merges++
	e.sum.Merges++
}

// adjSortBytes bounds the memory of deriveAdj's sort (16 bytes a key).
var adjSortBytes = 256 << 20

// adjRec is one adjacency key (33) as deriveAdj sorts it.
type adjRec struct {
	a   uint32
	seq uint32
	tx  uint64
}

func cmpAdj(x, y adjRec) int {
	if c := cmp.Compare(x.a, y.a); c != 0 {
		return c
	}
	if c := cmp.Compare(x.tx, y.tx); c != 0 {
		return c
	}
	return cmp.Compare(x.seq, y.seq)
}

func appendAdjKey(dst []byte, x adjRec) []byte {
	dst = binary.BigEndian.AppendUint64(append(dst, pAdj), uint64(x.a))
	return binary.BigEndian.AppendUint32(binary.BigEndian.AppendUint64(dst, x.tx), x.seq)
}

// deriveAdj writes the adjacency keys (33) of every merge logged from
// state.AdjFrom's transaction on: read from the merge log in its order,
// sorted by address (index.StageSort) and ingested as tables, so that a
// bulk run's 2 random keys a merge never pass through the memtable and the
// compactions. Then it clears the mark. A crash before that leaves it set,
// and the next run (bulk, as the state is dirty) derives them again.
func (e *engine) deriveAdj(ctx context.Context) error {
	if e.st.AdjFrom == 0 {
		return nil
	}
	t0 := time.Now()
	s, err := index.NewStageSort(e.db, "adj", adjSortBytes, int(min(2*e.sum.Merges, 1<<24)), cmpAdj, appendAdjKey)
	if err != nil {
		return fmt.Errorf("cluster: adjacency: %w", err)
	}
	defer s.Close()
	var m mergeRecord
	err = e.db.StageScan(ctx, keyMerge(pMerge, btc.TxNum(e.st.AdjFrom-1), 0), []byte{pMerge + 1}, func(k, v []byte) (bool, error) {
		if err := m.decode(v, false); err != nil {
			return false, err
		}
		tx, seq := be64(k[1:]), bytesBE32(k[9:])
		if err := s.Add(adjRec{a: uint32(m.A), seq: seq, tx: tx}); err != nil {
			return false, err
		}
		return true, s.Add(adjRec{a: uint32(m.B), seq: seq, tx: tx})
	})
	if err != nil {
		return fmt.Errorf("cluster: adjacency: %w", err)
	}
	tables, err := s.Ingest(ctx)
	if err != nil {
		return fmt.Errorf("cluster: adjacency: %w", err)
	}
	e.st.AdjFrom = 0
	b := e.db.NewStageBatch()
	defer b.Close()
	b.Set([]byte{pState}, e.st.encode())
	if err := b.Commit(); err != nil {
		return fmt.Errorf("cluster: adjacency: %w", err)
	}
	e.sum.AdjDerived += uint64(s.Len())
	e.log.Info("adjacency derived", "keys", s.Len(), "tables", tables, "elapsed", time.Since(t0).Round(time.Millisecond))
	return nil
}

// remapAll writes the entity keyspaces (34–36) whole, each in key order:
// the entity of every address and the sizes in one pass over the ids, then
// the members entity by entity. Written in key order, the batches' tables
// (index.StageBatch) each cover a narrow range and land in the store's
// last level with no compaction; members written in address order would
// scatter over every entity's range.
func (e *engine) remapAll(ctx context.Context) error {
	if last, err := e.db.StageLast([]byte{pEntityOf}, []byte{pEntity + 1}); err != nil {
		return err
	} else if last != nil {
		// Left by an interrupted run: cleared and compacted away first,
		// so that the tables below land under nothing.
		e.b.DeleteRange([]byte{pEntityOf}, []byte{pEntity + 1})
		if err := e.commit(); err != nil {
			return err
		}
		if err := e.db.CompactStage(ctx, []byte{pEntityOf}, []byte{pEntity + 1}); err != nil {
			return fmt.Errorf("cluster: write entities: %w", err)
		}
	}
	n := uint32(e.f.Len())
	flush := func() error {
		if e.b.Size() >= e.opts.BatchBytes {
			return e.commit()
		}
		return nil
	}
	for x := uint32(0); x < n; x++ {
		if x%(1<<20) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		r := e.f.Find(x)
		if e.f.Size(r) == 1 {
			continue
		}
		if x == r {
			e.b.Set(key64(pEntity, uint64(r)), binaryAppendUvarint(nil, uint64(e.f.Size(r))))
		}
		e.b.Set(key64(pEntityOf, uint64(x)), binaryAppendUvarint(nil, uint64(r)))
		e.sum.Remapped++
		if err := flush(); err != nil {
			return err
		}
	}
	var members []uint32
	for r := uint32(0); r < n; r++ {
		if r%(1<<20) == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if e.f.Find(r) != r || e.f.Size(r) == 1 {
			continue
		}
		members = members[:0]
		e.f.Members(r, func(m uint32) bool {
			members = append(members, m)
			return true
		})
		slices.Sort(members)
		for _, m := range members {
			e.b.Set(key64x2(pMember, uint64(r), uint64(m)), nil)
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return nil
}

// remap rewrites the entity keyspaces: wholly after a rebuild, a reorg or
// an interrupted run; otherwise only the addresses whose entity changed.
func (e *engine) remap(ctx context.Context) error {
	if e.b == nil {
		e.b = e.db.NewStageBatch()
	}
	if !e.bulk && len(e.absorbed) == 0 {
		return nil
	}
	put := func(x, r uint32) error {
		e.b.Set(key64(pEntityOf, uint64(x)), binaryAppendUvarint(nil, uint64(r)))
		e.b.Set(key64x2(pMember, uint64(r), uint64(x)), nil)
		e.sum.Remapped++
		if e.b.Size() >= e.opts.BatchBytes {
			return e.commit()
		}
		return nil
	}
	if e.bulk {
		if err := e.remapAll(ctx); err != nil {
			return err
		}
	} else {
		for _, a := range e.absorbed {
			// The members the store lists under a (when a was a stored
			// entity) move to their new entity; so does a.
			lo := key64(pMember, uint64(a))
			var members []uint32
			err := e.db.StageScan(ctx, lo, key64(pMember, uint64(a)+1), func(k, _ []byte) (bool, error) {
				members = append(members, uint32(be64(k[9:])))
				return true, nil
			})
			if err != nil {
				return err
			}
			if len(members) > 0 {
				e.b.DeleteRange(lo, key64(pMember, uint64(a)+1))
				e.b.Delete(key64(pEntity, uint64(a)))
			}
			members = append(members, a)
			for _, m := range members {
				if err := put(m, e.f.Find(m)); err != nil {
					return err
				}
			}
		}
		slices.Sort(e.survivors)
		for _, s := range slices.Compact(e.survivors) {
			r := e.f.Find(s)
			if r != s {
				continue // absorbed later: rewritten above
			}
			e.b.Set(key64(pEntity, uint64(r)), binaryAppendUvarint(nil, uint64(e.f.Size(r))))
			if err := put(r, r); err != nil {
				return err
			}
		}
	}
	e.st.Dirty = false
	e.bulk = false
	e.b.Set([]byte{pState}, e.st.encode())
	err := e.b.Commit()
	e.b = nil
	if err != nil {
		return fmt.Errorf("cluster: write entities: %w", err)
	}
	return nil
}
