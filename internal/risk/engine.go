package risk

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"slices"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// Options tune Update. The zero value is usable.
type Options struct {
	// MaxHops: indirect exposure further than this many transactions from
	// the labelled entity's payment is dropped. Default 5.
	MaxHops int
	// Epsilon: a category whose share of an output falls below it stops
	// propagating (direct exposure is always kept). Default 0.001.
	Epsilon float64
	// Rebuild drops the stored exposure and computes it from scratch.
	Rebuild bool
	// BatchBytes bounds a write batch. Default 32 MiB.
	BatchBytes int
	// Logger receives progress lines. Default: discard.
	Logger *slog.Logger
	// WholeEntities makes an incremental update take every member of an
	// entity whose attribution changed, as before the stored forest was
	// compared (tests hold the narrower update to it).
	WholeEntities bool
	// Forests, when set, loads the entities' forests from memory between
	// updates (the pipeline keeps one for its store) instead of replaying
	// the whole merge log each time. It changes no result.
	Forests *cluster.SplitCache
	// Labels, when set, keeps the labels exposure reads in memory between
	// updates (the pipeline keeps one for its store) instead of reading
	// every label each time. It changes no result.
	Labels *LabelCache
	// ListChanged fills Summary.ChangedAddresses and ChangedTotal after an
	// incremental update, which reads back every aggregate the update
	// writes: what a label change's answer reports. A block's update
	// leaves it off and pays nothing for it.
	ListChanged bool
}

// EnsureDefaults fills zero fields.
func (o *Options) EnsureDefaults() {
	if o.MaxHops <= 0 {
		o.MaxHops = 5
	}
	o.MaxHops = min(o.MaxHops, 250)
	if o.Epsilon <= 0 {
		o.Epsilon = 0.001
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 32 << 20
	}
}

func (o *Options) config() []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(o.MaxHops))
	e.PutUvarint(uint64(math.Round(o.Epsilon * one)))
	return e.Get()
}

// Summary reports an Update.
type Summary struct {
	Rebuilt    bool   `json:"rebuilt"`
	Reason     string `json:"reason,omitempty"` // why it rebuilt
	Blocks     int64  `json:"blocks"`
	Txs        uint64 `json:"txs"`
	Standalone uint64 `json:"standalone_txs"`
	Exposed    uint64 `json:"exposed_outputs"`   // output vectors written
	Addresses  uint64 `json:"addresses_updated"` // aggregates written (per batch)
	// AggRuns counts the sorted runs of partial aggregates a run from
	// scratch wrote and merged at its end (aggruns.go).
	AggRuns       uint32        `json:"aggregate_runs,omitempty"`
	Entities      int           `json:"labelled_entities"` // entities with an exposure category or a service label
	Height        int64         `json:"height"`
	Elapsed       time.Duration `json:"elapsed_ns"`
	AttribElapsed time.Duration `json:"attribution_elapsed_ns"` // loading the forest and the labels
	// An incremental update after an attribution change (incremental.go):
	// labelled entities and incident outputs that changed, their
	// addresses, transactions whose vectors were recomputed (and of those,
	// rewritten) and transactions read to recompute aggregates.
	Incremental  bool   `json:"incremental,omitempty"`
	Changed      int    `json:"changed,omitempty"`
	Affected     int    `json:"affected_addresses,omitempty"`
	Recomputed   uint64 `json:"recomputed_txs,omitempty"`
	Revectored   uint64 `json:"rewritten_txs,omitempty"`
	Reaggregated uint64 `json:"reaggregated_txs,omitempty"`
	Delta        int    `json:"delta_addresses,omitempty"` // aggregates updated by the difference alone
	// Aggregation says how an incremental update brought the aggregates
	// up to date: AggregatesByDifference, AggregatesMixed or
	// AggregatesRecomputed (empty when it did not run).
	Aggregation string `json:"aggregation,omitempty"`
	// ChangedAddresses lists the first MaxChangedAddresses (by id) of the
	// addresses whose stored exposure aggregate an incremental update
	// changed, and ChangedTotal counts them all: what a label change
	// touched.
	ChangedAddresses []string `json:"changed_addresses,omitempty"`
	ChangedTotal     int      `json:"changed_total,omitempty"`
	// RolledBack counts the blocks a reorg took away whose exposure was
	// undone from their undo records (rollback.go) instead of rebuilt.
	RolledBack int64 `json:"rolled_back_blocks,omitempty"`
	// Departed counts the affected addresses found only in the forest the
	// stored attribution was computed with: after a rollback, members that
	// left a changed entity when the undone blocks' merges went.
	Departed int `json:"departed_addresses,omitempty"`
}

// How an incremental update brought the aggregates up to date
// (Summary.Aggregation).
const (
	// AggregatesByDifference: every aggregate by the difference of the
	// recomputed transactions' old and new flows (the old ones under the
	// stored attribution and, after merges, the forest before them).
	AggregatesByDifference = "difference"
	// AggregatesMixed: by the difference, except the addresses whose
	// fewest hops or biggest contribution the old flows held, recomputed
	// from all of their transactions.
	AggregatesMixed = "difference+recomputed"
	// AggregatesRecomputed: every aggregate the update touched from all of
	// the address's transactions, because the old flows were not known
	// (merges without the forest before them, or a rollback).
	AggregatesRecomputed = "recomputed"
)

// riskEntity is a labelled entity that matters for exposure.
type riskEntity struct {
	cats    uint16                  // 1 << Category
	stop    bool                    // a service: exposure does not flow through it
	rep     [nCategories]btc.AddrID // per category, the labelled address to cite
	repConf [nCategories]int
	// n is how many members lie below the state's bound (stored in 54, so
	// that the next Update can tell which entities changed); hasN is false
	// for a record written before it was stored.
	n    uint32
	hasN bool
}

// incidentOut is an output an incident (label.Incident) marks as the
// source of its categories: spending it carries them in full at hop 1, as
// spending from a labelled entity does.
type incidentOut struct {
	cats uint16
	src  btc.AddrID // the output's address, cited as the source
}

type engine struct {
	db    *index.DB
	opts  Options
	log   *slog.Logger
	st    state
	f     *cluster.Forest
	ents  map[uint32]*riskEntity
	b     *index.StageBatch
	sum   Summary
	eps   uint32    // Epsilon in ppb
	since btc.TxNum // outputs of txs from here on are in mem, not yet in the store

	mem map[btc.OutRef]vector // vectors written in the open batch
	// kept holds the vectors of the last committed batches of a forward
	// run, oldest first: kept[i] every vector of the best-chain
	// transactions from its from up to the next one's (or since), at most
	// keptVectors in all. Most inputs spend recent outputs, which would
	// otherwise be read back from the store.
	kept []keptBatch
	// keptAggs holds the aggregates of a forward run's committed batches
	// (as committed; the open batch's are in aggs), at most
	// keptAggregates, emptied when full.
	keptAggs map[btc.AddrID]aggregate
	aggs     map[btc.AddrID]aggregate // aggregates changed in the open batch
	// deferAgg: this run computes exposure from scratch and writes each
	// batch's aggregates (partial: what the batch added) as a sorted run,
	// merged into 53 at its end (aggruns.go); aggRuns counts the runs.
	deferAgg bool
	aggRuns  uint32
	inc      map[btc.OutRef]incidentOut

	// Incremental update (incremental.go): upd overlays the vectors it
	// rewrote (nil: deleted), and only, when set, restricts the flows
	// recorded to these addresses.
	upd   map[btc.OutRef]vector
	only  map[btc.AddrID]bool
	fresh map[btc.AddrID]bool // non-nil: aggregates not in aggs start empty, not from the store
	// storedTx, set when this update computes exposure from scratch,
	// holds a bit for every best-chain transaction whose outputs' vector
	// it stored: an input spending an output of any other has no vector
	// to read, and answering that from a bit instead of a store read that
	// misses every level saves most of a rebuild's reads. (Its aggregates
	// need no such bit: a run from scratch reads none, aggruns.go.)
	storedTx *bitset

	// Rollback (rollback.go): the addresses a reorg deleted from the
	// index, and whether this update rolled back (the stored aggregates
	// then no longer match the stored attribution, so an incremental
	// update recomputes instead of applying differences).
	gone       []btc.AddrID
	rolledBack bool
	// closers free the forests this update loaded (mapped scratch files
	// at scale) when it returns.
	closers []func() error

	// per-tx scratch
	w     []float64
	roots []uint32
	vecs  []vector
	incs  []incidentOut
	enc   encoding.Encbuf
	// old is the forest the stored attribution was computed with, when
	// the merge log proves it (loadAttribution); nil otherwise. logSum is
	// the log's sum below the tip's NextTx, stored with the state.
	old       *cluster.Forest
	logSum    cluster.LogSum
	clustered bool
	// above counts, by root of f, the members at or above aboveBound
	// (membersBelow).
	above      map[uint32]uint32
	aboveBound btc.AddrID
}

// Update brings exposure up to the index's best chain and standalone
// blocks. It continues from the last block it processed when the chain
// and the labelled entities (restricted to the addresses it has seen) are
// unchanged, and otherwise rebuilds from scratch: after a reorg, a label
// import that touches indexed addresses, or a clustering change that moved
// an already seen address into or out of a labelled entity. The result
// equals a from-scratch run (R1).
func Update(ctx context.Context, db *index.DB, opts Options) (Summary, error) {
	start := time.Now()
	opts.EnsureDefaults()
	e := &engine{db: db, opts: opts, log: opts.Logger, eps: uint32(math.Round(opts.Epsilon * one))}
	if e.log == nil {
		e.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	defer func() {
		for _, c := range e.closers {
			c()
		}
	}()
	if err := e.loadAttribution(ctx); err != nil {
		return e.sum, err
	}
	e.sum.AttribElapsed = time.Since(start)
	if err := e.open(ctx); err != nil {
		return e.sum, err
	}
	defer func() {
		if e.b != nil {
			e.b.Close()
		}
	}()
	if err := e.run(ctx); err != nil {
		return e.sum, err
	}
	if err := e.mergeRuns(ctx); err != nil {
		return e.sum, err
	}
	if err := e.writeAttribution(); err != nil {
		return e.sum, err
	}
	e.sum.Height = e.st.Height
	e.sum.Elapsed = time.Since(start)
	return e.sum, nil
}

// loadAttribution loads the entities (cluster.LoadSplit) and the labelled
// entities that carry an exposure category or are services. When the
// merge log below the stored state's NextTx is the one that state was
// written with (its LogSum), it keeps that earlier forest too (e.old), so
// that incremental can tell which addresses later merges moved.
func (e *engine) loadAttribution(ctx context.Context) error {
	var prev state
	before := btc.TxNum(0)
	if v, err := e.db.StageGet([]byte{pState}); err != nil {
		return err
	} else if v != nil && prev.decode(v) == nil && !e.opts.Rebuild {
		before = prev.NextTx
	}
	tip := e.db.Tip()
	load := cluster.LoadSplit
	if e.opts.Forests != nil {
		load = e.opts.Forests.LoadSplit
	}
	sp, err := load(ctx, e.db, before, tip.NextTx)
	var f *cluster.Forest
	switch {
	case errors.Is(err, cluster.ErrNotClustered):
		f, err = cluster.NewForest(int(tip.NextAddr)), nil
	case err == nil:
		if e.opts.Forests == nil {
			e.closers = append(e.closers, sp.Close) // a cache keeps its own
		}
		f = sp.Forest
		e.logSum, e.clustered = sp.BelowSecond, true
		if prev.HasLog && prev.Log == sp.BelowFirst && before > 0 && !e.opts.WholeEntities {
			e.old = sp.Before
		}
	}
	if err != nil {
		return err
	}
	e.f = f
	cache := e.opts.Labels
	if cache == nil {
		cache = &LabelCache{}
	}
	addrs, err := cache.labelled(ctx, e.db)
	if err != nil {
		return err
	}
	e.ents = map[uint32]*riskEntity{}
	for _, la := range addrs {
		id := la.id
		if uint64(id) >= uint64(f.Len()) {
			continue // indexed after the forest was loaded
		}
		root := f.Find(uint32(id))
		re := e.ents[root]
		if re == nil {
			re = &riskEntity{}
			e.ents[root] = re
		}
		for _, l := range la.labs {
			re.stop = re.stop || l.stop
			for c := Category(1); c < nCategories; c++ {
				if l.bits&(1<<c) == 0 {
					continue
				}
				if re.cats&(1<<c) == 0 || l.conf > re.repConf[c] || l.conf == re.repConf[c] && id < re.rep[c] {
					re.rep[c], re.repConf[c] = id, l.conf
				}
				re.cats |= 1 << c
			}
		}
	}
	e.sum.Entities = len(e.ents)
	return e.loadIncidents(ctx)
}

// loadIncidents resolves the stored incidents to the outputs they mark;
// incidents on transactions the index does not hold yet wait.
func (e *engine) loadIncidents(ctx context.Context) error {
	e.inc = map[btc.OutRef]incidentOut{}
	var tx coinjoin.Tx
	return label.EachIncident(ctx, e.db, func(in *label.Incident, txid btc.Hash) error {
		bits, err := IncidentCategory(in.Category)
		if err != nil {
			return nil // a pack's concept that maps to no exposure category
		}
		num, err := e.db.TxNum(txid)
		if errors.Is(err, index.ErrNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		if err := e.db.ReadTx(num, &tx); err != nil {
			return err
		}
		for j, o := range tx.Outs {
			if in.Vout != label.AllOutputs && int64(j) != in.Vout {
				continue
			}
			ref := btc.MakeOutRef(num, uint32(j))
			x := e.inc[ref]
			x.cats |= bits
			x.src = o.Addr
			e.inc[ref] = x
		}
		return nil
	})
}

// membersBelow counts the members of entity r (any member's id) below
// bound: the entity's size less its members at or above bound, which are
// found by walking the ids from bound up (the addresses indexed since,
// a block's worth), not the members of every labelled entity (hundreds of
// thousands for an exchange, on every block).
func (e *engine) membersBelow(r uint32, bound btc.AddrID) uint32 {
	r = e.f.Find(r)
	n := uint64(e.f.Len())
	if uint64(bound) >= n {
		return e.f.Size(r)
	}
	if e.above == nil || e.aboveBound != bound {
		e.above, e.aboveBound = map[uint32]uint32{}, bound
		for id := uint64(bound); id < n; id++ {
			e.above[e.f.Find(uint32(id))]++
		}
	}
	return e.f.Size(r) - e.above[r]
}

// fingerprint hashes the labelled entities as the addresses below bound
// see them: each entity's root, how many of its members are below bound,
// its categories, service flag and cited addresses. Exposure of
// transactions that only involve addresses below bound depends on nothing
// else of the attribution.
func (e *engine) fingerprint(bound btc.AddrID) [32]byte {
	roots := make([]uint32, 0, len(e.ents))
	for r := range e.ents {
		if btc.AddrID(r) < bound {
			roots = append(roots, r)
		}
	}
	slices.Sort(roots)
	h := sha256.New()
	var buf []byte
	for _, r := range roots {
		re := e.ents[r]
		buf = binary.BigEndian.AppendUint32(buf[:0], r)
		buf = binary.BigEndian.AppendUint32(buf, e.membersBelow(r, bound))
		buf = binary.BigEndian.AppendUint16(buf, re.cats)
		buf = append(buf, byte(b2i(re.stop)))
		for c := Category(1); c < nCategories; c++ {
			if re.cats&(1<<c) != 0 {
				buf = binary.BigEndian.AppendUint64(buf, uint64(re.rep[c]))
			}
		}
		h.Write(buf)
	}
	refs := make([]btc.OutRef, 0, len(e.inc))
	for ref := range e.inc {
		refs = append(refs, ref)
	}
	slices.Sort(refs)
	for _, ref := range refs {
		x := e.inc[ref]
		buf = binary.BigEndian.AppendUint64(buf[:0], uint64(ref))
		buf = binary.BigEndian.AppendUint16(buf, x.cats)
		buf = binary.BigEndian.AppendUint64(buf, uint64(x.src))
		h.Write(buf)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// open loads the state and decides whether to continue or rebuild.
func (e *engine) open(ctx context.Context) error {
	v, err := e.db.StageGet([]byte{pState})
	if err != nil {
		return err
	}
	runs, pending, err := readAggRuns(e.db)
	if err != nil {
		return err
	}
	tip := e.db.Tip()
	reason := ""
	switch {
	case v == nil:
		reason = "new"
	case e.opts.Rebuild:
		reason = "asked"
	default:
		if err := e.st.decode(v); err != nil {
			return err
		}
		switch {
		case !slices.Equal(e.st.Config, e.opts.config()):
			reason = "options changed"
		case e.st.Height > tip.Height || uint64(tip.NextDetachedTx) < e.st.DetachedDone:
			reason = "reorg"
		case e.st.Height >= 0:
			cb, err := e.db.ChainBlock(btc.Height(e.st.Height))
			if err != nil {
				return err
			}
			if cb.Hash != e.st.Tip {
				reason = "reorg"
			}
		}
		if reason == "reorg" && pending {
			reason = "reorg during a run from scratch whose aggregates are not merged yet"
		}
		if reason == "reorg" {
			ok, why, err := e.rollback(ctx)
			if err != nil {
				return err
			}
			if ok {
				reason = ""
			} else {
				e.sum = Summary{Entities: e.sum.Entities, AttribElapsed: e.sum.AttribElapsed}
				reason = "reorg: " + why
			}
		}
		if reason == "" && pending && e.fingerprint(e.st.Bound) != e.st.Fingerprint {
			reason = "labels or labelled entities changed during a run from scratch whose aggregates are not merged yet"
		}
		if reason == "" && e.fingerprint(e.st.Bound) != e.st.Fingerprint {
			// Attribution changed under processed addresses: update what
			// it touches, or rebuild when that is too much.
			ok, why, err := e.incremental(ctx)
			if err != nil {
				return err
			}
			if !ok {
				e.sum = Summary{Entities: e.sum.Entities, AttribElapsed: e.sum.AttribElapsed}
				reason = "labels or labelled entities changed: " + why
			}
		}
	}
	if reason != "" {
		e.sum.Rebuilt = v != nil
		e.sum.Reason = reason
		e.log.Info("computing exposure from scratch", "reason", reason)
		b := e.db.NewStageBatch()
		defer b.Close()
		if v != nil {
			// A new exposure has nothing to delete; a range deletion
			// would lie over the keyspaces, and every table this run
			// ingests would land above it and be compacted down again.
			b.DeleteRange([]byte{index.StageRisk}, []byte{pEnd})
		}
		if !noShortcuts {
			e.storedTx = &bitset{}
		}
		// The fingerprint of no address: an update interrupted before its
		// first batch continues rather than finding the attribution changed.
		e.st = state{Height: -1, Config: e.opts.config(), Fingerprint: e.fingerprint(0)}
		b.Set([]byte{pState}, e.st.encode())
		e.deferAgg, e.aggRuns = deferAggregates, 0
		if e.deferAgg {
			b.Set([]byte{pAggRuns}, aggRunsValue(0))
		}
		if err := b.Commit(); err != nil {
			return fmt.Errorf("risk: reset: %w", err)
		}
		if v != nil {
			// The old exposure leaves the store now, so that the tables
			// below land under nothing.
			if err := e.db.CompactStage(ctx, []byte{index.StageRisk}, []byte{pEnd}); err != nil {
				return fmt.Errorf("risk: reset: %w", err)
			}
		}
	}
	if reason == "" && pending {
		// A run from scratch stopped before its end: it goes on deferring,
		// without the run a crash may have left unrecorded.
		if err := e.resumeRuns(ctx, runs); err != nil {
			return err
		}
	}
	// From here on every batch records the attribution it used. The
	// merge log's sum is stored only with the attribution (54) it
	// describes (writeAttribution): a state written before that makes
	// the next update take every member of a changed entity.
	e.st.Bound = tip.NextAddr
	e.st.Fingerprint = e.fingerprint(tip.NextAddr)
	e.st.HasLog = false
	_ = ctx
	return nil
}

func (e *engine) run(ctx context.Context) error {
	tip := e.db.Tip()
	e.b = e.db.NewStageBatch()
	e.mem = map[btc.OutRef]vector{}
	e.aggs = map[btc.AddrID]aggregate{}
	e.since = e.st.NextTx
	lastLog := time.Now()
	var undo undoCollector
	for h := e.st.Height + 1; h <= tip.Height; h++ {
		cb, err := e.db.ChainBlock(btc.Height(h))
		if err != nil {
			return err
		}
		undo.on = h > tip.Height-UndoBlocks
		if err := e.db.ScanTxs(ctx, cb.FirstTx, cb.FirstTx+btc.TxNum(cb.NTx), func(tx *coinjoin.Tx) error {
			undo.tx(tx)
			return e.tx(tx)
		}); err != nil {
			return err
		}
		if err := e.putUndo(ctx, h, tip.Height, &cb, &undo); err != nil {
			return err
		}
		e.st.Height, e.st.Tip, e.st.NextTx = h, cb.Hash, cb.FirstTx+btc.TxNum(cb.NTx)
		e.sum.Blocks++
		e.sum.Txs += cb.NTx
		if e.b.Size() >= e.opts.BatchBytes || h == tip.Height {
			if err := e.commit(ctx, e.st.NextTx); err != nil {
				return err
			}
		}
		if time.Since(lastLog) > 10*time.Second {
			lastLog = time.Now()
			e.log.Info("exposure", "height", h, "tip", tip.Height, "txs", e.sum.Txs)
		}
	}
	if done := btc.TxNum(e.st.DetachedDone); done < tip.NextDetachedTx {
		e.since = index.DetachedBase + done
		if err := e.db.ScanTxs(ctx, index.DetachedBase+done, index.DetachedBase+tip.NextDetachedTx, e.tx); err != nil {
			return err
		}
		e.sum.Standalone = uint64(tip.NextDetachedTx - done)
		e.st.DetachedDone = uint64(tip.NextDetachedTx)
		if err := e.commit(ctx, index.DetachedBase+tip.NextDetachedTx); err != nil {
			return err
		}
	}
	if !e.b.Empty() || e.sum.Blocks == 0 {
		return e.commit(ctx, e.since) // the state records the new fingerprint
	}
	return nil
}

// commit writes the changed aggregates and the state.
func (e *engine) commit(ctx context.Context, next btc.TxNum) error {
	if e.deferAgg {
		if err := e.writeRun(ctx); err != nil {
			return err
		}
	} else {
		e.putAggregates()
	}
	e.sum.Addresses += uint64(len(e.aggs))
	e.b.Set([]byte{pState}, e.st.encode())
	if err := e.b.Commit(); err != nil {
		return fmt.Errorf("risk: commit at height %d: %w", e.st.Height, err)
	}
	if e.deferAgg && crashAt != nil && len(e.aggs) > 0 {
		if err := crashAt("run counted", e.aggRuns-1); err != nil {
			return err
		}
	}
	e.b.Close()
	e.b = e.db.NewStageBatch()
	e.keepBatch(next)
	if !e.deferAgg {
		e.keepAggregates()
	}
	clear(e.aggs)
	e.since = next
	return nil
}

// keptAggregates bounds the aggregates a forward run keeps from committed
// batches.
var keptAggregates = 2 << 20

// keepAggregates moves the committed batch's aggregates into keptAggs,
// emptying it first when they would not fit.
func (e *engine) keepAggregates() {
	if noShortcuts || keptAggregates == 0 {
		return
	}
	if e.keptAggs == nil || len(e.keptAggs)+len(e.aggs) > keptAggregates {
		e.keptAggs = make(map[btc.AddrID]aggregate, min(keptAggregates, 2*len(e.aggs)))
	}
	for a, agg := range e.aggs {
		if len(e.keptAggs) >= keptAggregates {
			return
		}
		e.keptAggs[a] = agg
	}
}

// keptVectors bounds the vectors a forward run keeps from committed
// batches: with their maps and the vectors they hold alive, about 240
// bytes each (the 10M rebuild's peak RSS rose 1.9 GB with 8M kept).
var keptVectors = 8 << 20

type keptBatch struct {
	from btc.TxNum
	m    map[btc.OutRef]vector
}

// keepBatch moves the committed batch's vectors (best-chain transactions from
// since up to next) into kept, dropping the oldest batches beyond
// keptVectors. Standalone transactions' vectors are not kept.
func (e *engine) keepBatch(next btc.TxNum) {
	if noShortcuts || e.since >= index.DetachedBase || next > index.DetachedBase || len(e.mem) == 0 && len(e.kept) == 0 {
		clear(e.mem)
		return
	}
	e.kept = append(e.kept, keptBatch{from: e.since, m: e.mem})
	n := 0
	for _, k := range e.kept {
		n += len(k.m)
	}
	for n > keptVectors && len(e.kept) > 0 {
		n -= len(e.kept[0].m)
		e.kept[0] = keptBatch{} // the array must not keep a dropped map alive
		e.kept = e.kept[1:]
	}
	e.mem = map[btc.OutRef]vector{}
}

// keptVector returns the vector of ref from kept, and whether kept covers
// its transaction.
func (e *engine) keptVector(ref btc.OutRef) (vector, bool) {
	t := ref.Tx()
	if len(e.kept) == 0 || t < e.kept[0].from || t >= e.since {
		return nil, false
	}
	for i := len(e.kept) - 1; i >= 0; i-- {
		if t >= e.kept[i].from {
			return e.kept[i].m[ref], true
		}
	}
	return nil, false
}

// vectorOf returns the stored exposure vector of output ref.
func (e *engine) vectorOf(ref btc.OutRef) (vector, error) {
	if v, ok := e.upd[ref]; ok {
		return v, nil
	}
	if ref.Tx() >= e.since {
		return e.mem[ref], nil
	}
	if v, ok := e.keptVector(ref); ok {
		return v, nil
	}
	if t := ref.Tx(); e.storedTx != nil && t < index.DetachedBase && !e.storedTx.has(uint64(t)) {
		return nil, nil
	}
	v, err := e.db.StageGet(key64(pVector, uint64(ref)))
	if err != nil || v == nil {
		return nil, err
	}
	return decodeVector(v)
}

// aggregateOf returns the aggregate of address a for updating.
func (e *engine) aggregateOf(a btc.AddrID) (aggregate, error) {
	if agg, ok := e.aggs[a]; ok || e.deferAgg || e.fresh != nil {
		return agg, nil
	}
	if agg, ok := e.keptAggs[a]; ok {
		return agg, nil
	}
	v, err := e.db.StageGet(key64(pAgg, uint64(a)))
	if err != nil || v == nil {
		return nil, err
	}
	return decodeAggregate(v)
}

func (e *engine) addFlow(a btc.AddrID, f flow) error {
	if e.only != nil && !e.only[a] {
		return nil
	}
	agg, err := e.aggregateOf(a)
	if err != nil {
		return err
	}
	e.aggs[a] = agg.merge(f)
	return nil
}

func (e *engine) root(a btc.AddrID) (uint32, bool) {
	if a == btc.NoAddr || uint64(a) >= uint64(e.f.Len()) {
		return 0, false
	}
	return e.f.Find(uint32(a)), true
}

// mix is one category's exposure of a transaction's outputs.
type mix struct {
	share, direct float64 // of the input weight
	hops          int     // fewest hops over all contributions
	ihops         int     // fewest hops over indirect contributions
	d, i          contrib // the biggest direct and indirect contributions
}

// contrib is one input's contribution to a category.
type contrib struct {
	x     float64 // weight × share
	hops  int
	src   btc.AddrID
	srcTx btc.TxNum
}

// tx computes the exposure of one transaction's outputs from its inputs
// and records what its inputs' and outputs' addresses received and sent.
func (e *engine) tx(tx *coinjoin.Tx) error { return e.flows(tx, true) }

// flows records tx's received and sent flows (of the addresses in e.only,
// when set), and with store its outputs' vector.
func (e *engine) flows(tx *coinjoin.Tx, store bool) error {
	total, anyRisk, err := e.inputs(tx)
	if err != nil || total <= 0 {
		return err
	}
	if anyRisk {
		vec, mixes := e.vector(tx, total)
		if len(vec) > 0 {
			if store {
				e.putVector(tx, vec)
			}
			if err := e.received(tx, total, vec, &mixes); err != nil {
				return err
			}
		}
	}
	return e.sent(tx, total)
}

// inputs fills the per-input scratch (weights, entities, vectors,
// incidents) of tx and returns the total weight (0 for a coinbase) and
// whether any input carries exposure.
func (e *engine) inputs(tx *coinjoin.Tx) (total float64, anyRisk bool, err error) {
	if len(tx.Ins) == 0 || tx.Ins[0].Coinbase {
		return 0, false, nil
	}
	e.w, e.roots, e.vecs, e.incs = e.w[:0], e.roots[:0], e.vecs[:0], e.incs[:0]
	known := true
	for _, in := range tx.Ins {
		if in.Value == btc.UnknownAmount {
			known = false
		}
	}
	for _, in := range tx.Ins {
		w := 1.0 // inputs of unknown value (standalone blocks) weigh alike
		if known {
			w = float64(in.Value)
		}
		total += w
		e.w = append(e.w, w)
		r, ok := e.root(in.Addr)
		if !ok {
			r = math.MaxUint32
		}
		e.roots = append(e.roots, r)
		var v vector
		var x incidentOut
		if in.Resolved {
			if v, err = e.vectorOf(in.Prev); err != nil {
				return 0, false, err
			}
			if len(e.inc) > 0 {
				x = e.inc[in.Prev]
			}
		}
		e.vecs = append(e.vecs, v)
		e.incs = append(e.incs, x)
		if v != nil || e.ents[r] != nil || x.cats != 0 {
			anyRisk = true
		}
	}
	return total, anyRisk, nil
}

// contribution returns what input i carries of category c.
func (e *engine) contribution(tx *coinjoin.Tx, i int, c Category) (share float64, hops int, src btc.AddrID, srcTx btc.TxNum, direct bool) {
	re := e.ents[e.roots[i]]
	if re != nil && re.cats&(1<<c) != 0 {
		return 1, 1, re.rep[c], tx.Num, true
	}
	if x := e.incs[i]; x.cats&(1<<c) != 0 {
		return 1, 1, x.src, tx.Num, true // an incident's output: as from a labelled address
	}
	if re != nil && re.stop || !c.propagates() {
		return 0, 0, 0, 0, false
	}
	for _, x := range e.vecs[i] {
		if x.Cat == c {
			return float64(x.Share) / one, int(x.Hops) + 1, x.Src, x.SrcTx, false
		}
	}
	return 0, 0, 0, 0, false
}

// mixOf mixes category c over the inputs (haircut), skipping those of
// entity skip. Ties between contributions go to the first input.
func (e *engine) mixOf(tx *coinjoin.Tx, c Category, total float64, skip uint32) mix {
	m := mix{hops: math.MaxInt, ihops: math.MaxInt}
	for i := range tx.Ins {
		if skip != math.MaxUint32 && e.roots[i] == skip {
			continue
		}
		s, hops, src, srcTx, direct := e.contribution(tx, i, c)
		if s == 0 {
			continue
		}
		x := e.w[i] * s
		m.share += x
		m.hops = min(m.hops, hops)
		best := &m.i
		if direct {
			m.direct += e.w[i]
			best = &m.d
		} else {
			m.ihops = min(m.ihops, hops)
		}
		if x > best.x {
			*best = contrib{x: x, hops: hops, src: src, srcTx: srcTx}
		}
	}
	m.share = min(m.share/total, 1)
	m.direct = min(m.direct/total, m.share)
	return m
}

// keep: direct exposure always counts; indirect only within MaxHops and
// above Epsilon.
func (e *engine) keep(m mix) bool {
	return m.direct > 0 || m.share > 0 && m.share*one >= float64(e.eps) && m.hops <= e.opts.MaxHops
}

// vector computes the exposure vector of tx's outputs and each category's
// mix over the inputs (after inputs).
func (e *engine) vector(tx *coinjoin.Tx, total float64) (vector, [nCategories]mix) {
	var mixes [nCategories]mix
	var vec vector
	for c := Category(1); c < nCategories; c++ {
		m := e.mixOf(tx, c, total, math.MaxUint32)
		if !e.keep(m) {
			continue
		}
		mixes[c] = m
		share := uint32(min(math.Floor(m.share*one), one))
		if share == 0 {
			share = 1 // a direct payment too small to show in ppb still counts
		}
		best := m.d
		if m.i.x > best.x {
			best = m.i
		}
		vec = append(vec, entry{Cat: c, Hops: uint8(m.hops), Share: share, Src: best.src, SrcTx: best.srcTx})
	}
	return vec, mixes
}

// carries reports whether output o of a transaction gets its vector.
func carries(o coinjoin.Out) bool { return o.Value > 0 && o.Addr != btc.NoAddr }

// putVector stores vec on tx's outputs.
func (e *engine) putVector(tx *coinjoin.Tx, vec vector) {
	e.enc.Reset()
	vec.encode(&e.enc)
	val := slices.Clone(e.enc.Get())
	if tx.Num < index.DetachedBase {
		e.storedTx.set(uint64(tx.Num), true)
	}
	for j, o := range tx.Outs {
		if !carries(o) {
			continue
		}
		ref := btc.MakeOutRef(tx.Num, uint32(j))
		if tx.Num >= e.since {
			e.mem[ref] = vec
		}
		e.b.Set(key64(pVector, uint64(ref)), val)
		e.sum.Exposed++
	}
}

// received records the recipients' received flows of tx, whose outputs
// carry vec.
func (e *engine) received(tx *coinjoin.Tx, total float64, vec vector, mixes *[nCategories]mix) error {
	for _, o := range tx.Outs {
		if !carries(o) {
			continue
		}
		// The recipient's flows: funds from its own entity are not a
		// counterparty's (a labelled entity's change is not its exposure).
		r, _ := e.root(o.Addr)
		self := uint32(math.MaxUint32)
		for _, ir := range e.roots {
			if ir == r {
				self = r
			}
		}
		v := float64(o.Value)
		for _, x := range vec {
			m := mixes[x.Cat]
			if self != math.MaxUint32 {
				m = e.mixOf(tx, x.Cat, total, self)
				if !e.keep(m) {
					continue
				}
			}
			direct := uint64(v * m.direct)
			indirect := uint64(v * m.share)
			indirect -= min(direct, indirect)
			if direct > 0 {
				f := flow{Cat: x.Cat, Dir: Received, Sats: direct, MinHops: 1, Best: direct, BestHops: 1, Src: m.d.src, SrcTx: m.d.srcTx}
				if err := e.addFlow(o.Addr, f); err != nil {
					return err
				}
			}
			if indirect > 0 && m.ihops <= e.opts.MaxHops {
				f := flow{Cat: x.Cat, Dir: Received, Indirect: true, Sats: indirect, MinHops: uint8(m.ihops),
					Best: uint64(v * m.i.x / total), BestHops: uint8(m.i.hops), Src: m.i.src, SrcTx: m.i.srcTx}
				if err := e.addFlow(o.Addr, f); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// sent records, for each input address, what the transaction paid to
// labelled entities other than its own (direct exposure only).
func (e *engine) sent(tx *coinjoin.Tx, total float64) error {
	for _, o := range tx.Outs {
		if o.Value <= 0 {
			continue
		}
		r, ok := e.root(o.Addr)
		if !ok {
			continue
		}
		re := e.ents[r]
		if re == nil || re.cats == 0 {
			continue
		}
		for i, in := range tx.Ins {
			if in.Addr == btc.NoAddr || e.roots[i] == r {
				continue
			}
			sats := uint64(float64(o.Value) * e.w[i] / total)
			if sats == 0 {
				continue
			}
			for c := Category(1); c < nCategories; c++ {
				if re.cats&(1<<c) == 0 {
					continue
				}
				if err := e.addFlow(in.Addr, flow{Cat: c, Dir: Sent, Sats: sats, MinHops: 1, Best: sats, BestHops: 1, Src: re.rep[c], SrcTx: tx.Num}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// putAggregates writes the changed aggregates to the open batch (an
// empty one is deleted: an incremental update can take exposure away).
func (e *engine) putAggregates() {
	for a, agg := range e.aggs {
		if len(agg) == 0 {
			e.b.Delete(key64(pAgg, uint64(a)))
			continue
		}
		e.b.Set(key64(pAgg, uint64(a)), agg.encode())
	}
}

// noShortcuts turns off what spares a run store reads: engine.storedTx,
// kept and keptAggs (a test's reference).
var noShortcuts bool

// bitset is a growable bit per dense id (address, best-chain
// transaction); a nil *bitset ignores set.
type bitset struct{ w []uint64 }

func (b *bitset) has(i uint64) bool {
	return i>>6 < uint64(len(b.w)) && b.w[i>>6]&(1<<(i&63)) != 0
}

func (b *bitset) set(i uint64, on bool) {
	if b == nil {
		return
	}
	w := i >> 6
	if w >= uint64(len(b.w)) {
		if !on {
			return
		}
		b.w = append(b.w, make([]uint64, w+1-uint64(len(b.w))+uint64(len(b.w))/4)...)
	}
	if on {
		b.w[w] |= 1 << (i & 63)
	} else {
		b.w[w] &^= 1 << (i & 63)
	}
}

// writeAttribution stores the labelled entities' own categories (keyspace
// 54), so that screening an address needs one read to know what its
// entity is, and the incident outputs (55), so that the next Update can
// tell what changed. Both are rewritten whole: labelled entities and
// incidents are few next to addresses.
func (e *engine) writeAttribution() error {
	b := e.db.NewStageBatch()
	defer b.Close()
	e.putAttribution(b, e.st.Bound)
	// The attribution was computed with the forest of every merge logged
	// so far: those of the transactions below NextTx (which e.logSum sums)
	// and of standalone transactions (which it does not: the next update
	// sees their members as moved, and recomputes them).
	e.st.Log, e.st.HasLog = e.logSum, e.clustered
	b.Set([]byte{pState}, e.st.encode())
	if err := b.Commit(); err != nil {
		return fmt.Errorf("risk: labelled entities: %w", err)
	}
	return nil
}

// putAttribution writes keyspaces 54 and 55 to b, counting each entity's
// members below bound.
func (e *engine) putAttribution(b *index.StageBatch, bound btc.AddrID) {
	b.DeleteRange([]byte{pEntity}, []byte{pEntity + 1})
	for root, re := range e.ents {
		re.n, re.hasN = e.membersBelow(root, bound), true
		b.Set(keyEntity(uint64(root)), re.encode())
	}
	b.DeleteRange([]byte{pIncident}, []byte{pIncident + 1})
	for ref, x := range e.inc {
		b.Set(key64(pIncident, uint64(ref)), encodeIncident(x))
	}
}
