package index

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/chain"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// IngestOptions configure one Ingest run.
type IngestOptions struct {
	// BlocksDir is a Bitcoin Core blocks directory (blk*.dat, optional
	// xor.dat). Empty when only RawBlocks are given.
	BlocksDir string
	// RawBlocks are standalone block files (see blockfile.ReadRawBlockFile).
	RawBlocks []string
	// SkipBad reports corrupt records and blocks and goes on past them
	// instead of stopping at the first one.
	SkipBad bool
	// Follow says the last blk file may still be written (a running node's
	// blocks directory, or a follower's spool): an incomplete record at its
	// end is left for a later Ingest instead of being an error.
	Follow bool
	// Workers is the number of parse goroutines. Default: GOMAXPROCS.
	Workers int
	// BatchTxs is how many transactions one atomic batch holds. Default
	// 50,000.
	BatchTxs int
	// BulkBatchTxs is the batch of a bulk path (deferMinBlocks blocks or
	// more). Default 400,000, or BatchTxs when that is set.
	BulkBatchTxs int
	// BatchBytes also ends a batch, once its buffered writes take this
	// many bytes: late in a chain a transaction has three times the
	// inputs and outputs of an early one, and a batch bounded only by
	// transactions grew with them. A batch also ends when a writer cache's
	// generation is full (Options.UTXOCacheBytes). Default 256 MiB.
	BatchBytes int64
	// Progress, if set, is called about every ProgressEvery and once at the
	// end of each phase.
	Progress      func(Progress)
	ProgressEvery time.Duration // default 250 ms
}

// Progress reports how far an Ingest has come.
type Progress struct {
	Phase string // "scan", "connect", "disconnect", "derive", "raw"
	Done  int64  // blocks (or files, for scan) done in this phase
	Total int64
	Txs   uint64 // transactions connected this run
	// Inputs and Outputs are the store's best-chain totals (non-coinbase
	// inputs, outputs): with Txs, the size of the work done.
	Inputs, Outputs uint64
	Height          int64
	Elapsed         time.Duration
	Final           bool // last event of the phase
}

// IngestSummary says what an Ingest did.
type IngestSummary struct {
	FilesScanned   int      `json:"files_scanned"`
	RecordsScanned int      `json:"records_scanned"`
	NewHeaders     int      `json:"new_headers"`
	Orphans        int      `json:"orphans"` // headers not connected to genesis
	Stale          int      `json:"stale"`   // connected headers off the best chain
	Disconnected   int      `json:"disconnected"`
	Connected      int      `json:"connected"`
	Txs            uint64   `json:"txs"`
	RawBlocks      int      `json:"raw_blocks"`
	RawSkipped     int      `json:"raw_skipped"`
	Bad            []string `json:"bad,omitempty"` // corrupt records and blocks skipped (SkipBad)
	Height         int64    `json:"height"`
	// Tip is the best chain's tip; JSON gives it as bytes, so the CLI
	// prints it as hex in its place.
	Tip     btc.Hash      `json:"-"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Derive is the work of the deferred keyspaces (derive.go), zero when
	// every block wrote its own.
	Derive DeriveStats `json:"derive"`
	// UTXOReads and AddrReads count the writer's store reads: spends and
	// reused addresses its caches did not answer.
	UTXOReads uint64 `json:"utxo_reads"`
	AddrReads uint64 `json:"addr_reads"`
	// AddrFoundParallel counts the reused addresses the parse workers
	// found in the committed store, so that the writer did not read them.
	AddrFoundParallel uint64 `json:"addr_found_parallel"`
	// UTXOPuts counts the unspent outputs written to the store (those
	// spent in the batch that created them are not), UTXOCachedSpends
	// the spends of such outputs that the cache answered, UTXOHeldSpends
	// the spends of outputs a bulk path held and never wrote (held.go).
	UTXOPuts         uint64 `json:"utxo_puts"`
	UTXOCachedSpends uint64 `json:"utxo_cached_spends"`
	UTXOHeldSpends   uint64 `json:"utxo_held_spends"`
	// Batches says how the connected blocks were committed.
	Batches BatchStats `json:"batches"`
}

// BatchStats counts an ingest's committed batches by what ended them.
type BatchStats struct {
	Commits int `json:"commits"`  // every commit, the last one and those before a bad block included
	ByTxs   int `json:"by_txs"`   // the batch reached its transaction count
	ByBytes int `json:"by_bytes"` // its buffered writes reached BatchBytes
	ByCache int `json:"by_cache"` // a writer cache's generation was full
	// MaxBytes is the largest buffer of writes a batch committed.
	MaxBytes int64 `json:"max_bytes"`
	// Released counts the held outputs a bulk path wrote when their cache
	// generation was evicted or at its end (held.go), ReleasePieces the
	// tables they were written in (each within BatchBytes).
	Released      uint64 `json:"released"`
	ReleasePieces int    `json:"release_pieces"`
}

// DeriveStats describes the derive of deferred keyspaces.
type DeriveStats struct {
	Txs     uint64        `json:"txs"`        // transactions whose derived keys derive wrote
	Runs    int           `json:"runs"`       // sorted runs spilled to disk (0: sorted in memory)
	Tables  int           `json:"tables"`     // sstables ingested
	Elapsed time.Duration `json:"elapsed_ns"` // scan, sort, write and ingest
}

// saveFilterEvery: the address filter's file is rewritten once it lacks
// this many addresses.
const saveFilterEvery = 1 << 20

// flushAfterTxs: an ingest that indexed at least this many transactions
// flushes Pebble's memtables before returning.
const flushAfterTxs = 100_000

func (o *IngestOptions) ensureDefaults() {
	if o.Workers <= 0 {
		o.Workers = runtime.GOMAXPROCS(0)
	}
	if o.BatchTxs <= 0 {
		o.BatchTxs = 50_000
		if o.BulkBatchTxs <= 0 {
			o.BulkBatchTxs = 400_000
		}
	} else if o.BulkBatchTxs <= 0 {
		o.BulkBatchTxs = o.BatchTxs
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 256 << 20
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 250 * time.Millisecond
	}
}

// Ingest brings the index up to date with the block files: it scans new
// records, picks the best chain by cumulative work, disconnects indexed
// blocks that left it, connects the new ones, then indexes standalone blocks.
// It can be killed at any moment; the next run resumes from the last
// committed batch and ends with the same index (X2 in doc.go).
func (db *DB) Ingest(ctx context.Context, opts IngestOptions) (*IngestSummary, error) {
	if db.parent != nil {
		return nil, ErrView
	}
	if db.opts.ReadOnly {
		return nil, errors.New("index: ingest into a read-only store")
	}
	opts.ensureDefaults()
	start := time.Now()
	sum := &IngestSummary{}
	db.derived = DeriveStats{}
	defer func() { sum.Derive = db.derived }()
	log := db.opts.Logger
	// A failed ingest on this handle may have left outputs held in its
	// writer's cache (held.go).
	if err := db.restoreHeld(ctx); err != nil {
		return sum, err
	}
	w := newWriter(db)
	w.pace = pace.From(ctx)
	defer func() {
		sum.UTXOReads, sum.AddrReads, sum.Batches = w.utxoReads, w.addrReads, w.batches
		sum.AddrFoundParallel = w.addrParallel.Load()
		sum.UTXOPuts, sum.UTXOCachedSpends, sum.UTXOHeldSpends = w.utxoPuts, w.utxoCachedSpends, w.utxoHeldSpends
	}()
	defer func() { w.batch.Close() }()
	f := db.filter
	if f == nil || db.filterAddr != db.st.NextAddr {
		var err error
		if f, err = db.loadFilter(); err != nil {
			return sum, fmt.Errorf("index: address filter: %w", err)
		}
	}
	// An ingest that fails leaves no filter in memory: the next one reads
	// the file and catches up from the store (X7).
	db.filter = nil
	w.setFilter(f)
	if opts.BlocksDir != "" {
		tree, files, err := db.scan(ctx, &opts, w, sum)
		if err != nil {
			return sum, err
		}
		if err := db.syncChain(ctx, &opts, w, tree, files, sum, start); err != nil {
			return sum, err
		}
		if db.derivePending {
			// The writer's caches and write buffer are not needed for the
			// derive; the next ingest refills them. They are returned to
			// the OS, not only collected, before the derive allocates its
			// sort buffers: with runtime.GC alone a 34M-transaction run
			// peaked at 4,044 MB RSS after its connect samples' 3,930 MB,
			// between the last commit and the derive's end.
			w.newCaches()
			w.ops = opBuf{}
			debug.FreeOSMemory()
		}
		if err := db.derive(ctx, opts.Progress, start); err != nil {
			return sum, err
		}
	}
	if len(opts.RawBlocks) > 0 {
		if err := db.ingestRaw(ctx, &opts, w, sum, start); err != nil {
			return sum, err
		}
	}
	// The last batch was synced (durable); a bulk ingest also flushes its
	// memtables, so that the next open does not replay a large WAL. A
	// follower's block-sized ingest does not: a flush per block made an L0
	// table per block, and with it compactions and slower reads for every
	// stage and reader.
	if sum.Txs >= flushAfterTxs {
		if err := db.db.Flush(); err != nil {
			return sum, fmt.Errorf("index: flush: %w", err)
		}
	}
	// The filter stays in memory for the next ingest. The file is
	// rewritten after a bulk ingest, once the addresses it lacks reach
	// saveFilterEvery, and on Close; a crash leaves an older file, which
	// the next open catches up from the store (X7). A block-sized ingest
	// no longer writes and syncs the whole filter (megabytes; a stall of
	// hundreds of milliseconds on a busy disk).
	if sum.Txs >= flushAfterTxs || db.st.NextAddr-db.savedAddr >= saveFilterEvery {
		if err := db.saveFilter(w.filter); err != nil {
			return sum, err
		}
	}
	db.filter, db.filterAddr = w.filter, db.st.NextAddr
	sum.Height, sum.Tip, sum.Elapsed = db.st.Height, db.st.Tip, time.Since(start)
	log.Info("ingest done", "height", sum.Height, "connected", sum.Connected, "txs", sum.Txs, "elapsed", sum.Elapsed)
	return sum, nil
}

// fileNumber parses the number out of blkNNNNN.dat.
func fileNumber(path string) (uint32, error) {
	base := filepath.Base(path)
	if !strings.HasPrefix(base, "blk") || !strings.HasSuffix(base, ".dat") {
		return 0, fmt.Errorf("index: %s is not a blk?????.dat file", path)
	}
	n, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimPrefix(base, "blk"), ".dat"), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("index: %s is not a blk?????.dat file", path)
	}
	return uint32(n), nil
}

// scan loads the saved headers, reads the records appended since the last
// run, and returns the header tree and the blk files by number.
func (db *DB) scan(ctx context.Context, opts *IngestOptions, w *writer, sum *IngestSummary) (*chain.Tree, map[uint32]string, error) {
	tree := chain.NewTree(db.opts.Network.Genesis)
	if err := db.loadHeaders(tree); err != nil {
		return nil, nil, err
	}
	paths, err := blockfile.ListFiles(opts.BlocksDir)
	if err != nil {
		return nil, nil, fmt.Errorf("index: list %s: %w", opts.BlocksDir, err)
	}
	if len(paths) == 0 {
		return nil, nil, fmt.Errorf("index: no blk?????.dat files in %s", opts.BlocksDir)
	}
	key, err := blockfile.ReadXORKey(opts.BlocksDir)
	if err != nil {
		return nil, nil, fmt.Errorf("index: %w", err)
	}
	files := make(map[uint32]string, len(paths))
	var e encoding.Encbuf
	t0 := time.Now()
	for i, p := range paths {
		num, err := fileNumber(p)
		if err != nil {
			return nil, nil, err
		}
		files[num] = p
		var from int64
		if v, err := db.get(keyFile(num)); err != nil {
			return nil, nil, err
		} else if v != nil {
			d := encoding.Decbuf{B: v}
			from = int64(d.Uvarint())
			if d.Err() != nil {
				return nil, nil, corrupt("file state", d.Err())
			}
		}
		b := db.db.NewBatch()
		so := blockfile.ScanOptions{Magic: db.opts.Network.Magic, XOR: key, SkipBad: opts.SkipBad,
			Tail: opts.Follow && i == len(paths)-1,
			OnBad: func(e *blockfile.Error) {
				sum.Bad = append(sum.Bad, e.Error())
				db.opts.Logger.Warn("skipping corrupt record", "err", e)
			}}
		end, err := blockfile.Scan(ctx, p, from, so, func(r blockfile.Record) error {
			sum.RecordsScanned++
			hash := blockfile.HeaderHash(r.Header[:])
			if tree.Get(hash) != nil {
				return nil
			}
			hdr, err := blockfile.ParseHeader(r.Header[:])
			if err != nil {
				return err
			}
			w.st.HeaderSeq++
			loc := chain.Location{File: num, Offset: r.Offset, Size: r.Size}
			tree.Add(hash, hdr.Prev, hdr.Bits, hdr.Time, loc)
			hr := headerRecord{Header: r.Header, Loc: loc, Seq: w.st.HeaderSeq}
			e.Reset()
			hr.encode(&e)
			b.Set(keyHash(pHeader, hash), e.Get(), nil)
			sum.NewHeaders++
			return nil
		})
		if err != nil {
			b.Close()
			w.st.HeaderSeq = db.st.HeaderSeq
			return nil, nil, err
		}
		sum.FilesScanned++
		if end != from {
			e.Reset()
			e.PutUvarint(uint64(end))
			b.Set(keyFile(num), e.Get(), nil)
			st := db.st
			st.HeaderSeq = w.st.HeaderSeq
			e.Reset()
			st.encode(&e)
			b.Set(keyMeta("state"), e.Get(), nil)
			if err := b.Commit(pebble.NoSync); err != nil {
				b.Close()
				return nil, nil, fmt.Errorf("index: save headers of %s: %w", p, err)
			}
			db.st.HeaderSeq = w.st.HeaderSeq
		}
		b.Close()
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: "scan", Done: int64(i + 1), Total: int64(len(paths)), Elapsed: time.Since(t0), Final: i == len(paths)-1})
		}
	}
	return tree, files, nil
}

// loadHeaders adds every saved header to tree in arrival order.
func (db *DB) loadHeaders(tree *chain.Tree) error {
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: key1(pHeader), UpperBound: key1(pHeader + 1)})
	if err != nil {
		return err
	}
	type saved struct {
		hash btc.Hash
		rec  headerRecord
	}
	var all []saved
	for ok := it.First(); ok; ok = it.Next() {
		var s saved
		copy(s.hash[:], it.Key()[1:])
		if err := s.rec.decode(it.Value()); err != nil {
			it.Close()
			return err
		}
		all = append(all, s)
	}
	if err := it.Close(); err != nil {
		return err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].rec.Seq < all[j].rec.Seq })
	for i := range all {
		h, err := blockfile.ParseHeader(all[i].rec.Header[:])
		if err != nil {
			return corrupt("header", err)
		}
		tree.Add(all[i].hash, h.Prev, h.Bits, h.Time, all[i].rec.Loc)
	}
	return nil
}

// forkHeight returns the height of the last indexed block that is on the
// tree's best chain (-1 if none).
func (db *DB) forkHeight(best *chain.Node) (int64, error) {
	for h := db.st.Height; h >= 0; h-- {
		var hash btc.Hash
		if h == db.st.Height {
			hash = db.st.Tip
		} else {
			v, err := db.get(keyHeight(pBlock, btc.Height(h)))
			if err != nil {
				return 0, err
			}
			var r blockRecord
			if err := r.decode(v); err != nil {
				return 0, err
			}
			hash = r.Hash
		}
		if a := chain.Ancestor(best, int32(h)); a != nil && a.Hash == hash {
			return h, nil
		}
	}
	return -1, nil
}

// syncChain makes the indexed chain equal the tree's best chain.
func (db *DB) syncChain(ctx context.Context, opts *IngestOptions, w *writer, tree *chain.Tree, files map[uint32]string, sum *IngestSummary, start time.Time) error {
	for {
		best := tree.Best()
		if best == nil {
			if tree.Len() == 0 {
				return nil
			}
			return fmt.Errorf("index: none of %d block headers connects to the %s genesis block %s (wrong --network?)",
				tree.Len(), db.opts.Network.Name, db.opts.Network.Genesis)
		}
		sum.Orphans = tree.Orphans()
		sum.Stale = 0
		fork, err := db.forkHeight(best)
		if err != nil {
			return err
		}
		if fork < db.st.Height {
			// Undo reads the spends and history it removes.
			if err := db.derive(ctx, opts.Progress, start); err != nil {
				return err
			}
			db.opts.Logger.Info("reorg", "from_height", db.st.Height, "fork", fork, "new_tip", best.Hash, "new_height", best.Height)
			for db.st.Height > fork {
				if err := ctx.Err(); err != nil {
					return err
				}
				if err := w.disconnectTip(); err != nil {
					return err
				}
				sum.Disconnected++
				if opts.Progress != nil {
					opts.Progress(Progress{Phase: "disconnect", Done: int64(sum.Disconnected), Height: db.st.Height, Elapsed: time.Since(start)})
				}
			}
		}
		path := chain.Path(best, int32(fork+1))
		if len(path) == 0 {
			sum.Stale = tree.Len() - sum.Orphans - int(best.Height) - 1
			return nil
		}
		// A bulk path defers the derived keyspaces (derive.go); a short
		// one writes them directly, after any deferred before it, so that
		// the marker always covers one contiguous range.
		w.deferring = deferMinBlocks >= 0 && len(path) >= deferMinBlocks
		w.startHolding()
		w.releaseBytes = opts.BatchBytes
		w.startPath(path)
		if !w.deferring {
			if err := db.derive(ctx, opts.Progress, start); err != nil {
				return err
			}
		}
		bad, err := db.connectPath(ctx, opts, w, path, files, sum, start)
		w.deferring = false
		db.filterHint = 0
		if err == nil {
			err = db.closeBulk(ctx)
		}
		if err != nil {
			return err
		}
		if bad == nil {
			sum.Stale = tree.Len() - sum.Orphans - int(best.Height) - 1
			return nil
		}
		// A corrupt or inconsistent block: drop it and its descendants, and
		// go on with the best chain that remains.
		sum.Bad = append(sum.Bad, bad.Error())
		db.opts.Logger.Warn("skipping bad block and its descendants", "err", bad)
		tree.Invalidate(bad.Hash)
	}
}

// job carries one block through the parse pipeline.
type job struct {
	node *chain.Node
	file string
	raw  []byte
	blk  blockfile.Block
	outs []outClass
	err  error
	done chan struct{}
}

// connectPath connects path (consecutive best-chain blocks) with a pipeline:
// Workers goroutines read, parse, check and classify blocks in parallel; the
// caller's goroutine applies them in order. It returns a *BadBlockError when
// SkipBad is set and a block fails; the batch is then back at the last good
// committed state.
func (db *DB) connectPath(ctx context.Context, opts *IngestOptions, w *writer, path []*chain.Node, files map[uint32]string, sum *IngestSummary, start time.Time) (*BadBlockError, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	inflight := 4 * opts.Workers
	free := make(chan *job, inflight)
	for i := 0; i < inflight; i++ {
		free <- &job{done: make(chan struct{}, 1)}
	}
	work := make(chan *job, inflight)
	ordered := make(chan *job, inflight)
	key, err := blockfile.ReadXORKey(opts.BlocksDir)
	if err != nil {
		return nil, err
	}
	w.setFilter(w.filter) // shared with the workers on a short path only
	var wg sync.WaitGroup
	for i := 0; i < opts.Workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := blockfile.NewReader(key)
			defer r.Close()
			p := pace.From(ctx)
			// Only a short path: on a bulk one the writer's caches answer
			// most reuse, and the workers' Gets of every address the
			// filter may hold cost more than the writer's few misses
			// (the 42.5M connect took 110 s longer with them).
			var lk *storedLookup
			if !w.deferring {
				lk = &storedLookup{db: db.db, filter: &w.shared, found: &w.addrParallel}
			}
			for j := range work {
				p.Yield()
				j.err = prepare(r, j, lk)
				j.done <- struct{}{}
			}
		}()
	}
	go func() {
		defer close(ordered)
		defer close(work)
		for _, n := range path {
			var j *job
			select {
			case j = <-free:
			case <-ctx.Done():
				return
			}
			j.node, j.file, j.err = n, files[n.Loc.File], nil
			if j.file == "" {
				j.file = fmt.Sprintf("blk%05d.dat", n.Loc.File)
			}
			work <- j
			ordered <- j
		}
	}()
	defer func() {
		cancel()
		for j := range ordered { // let the feeder finish
			<-j.done
		}
		wg.Wait()
	}()
	target := int64(path[len(path)-1].Height)
	last := time.Now()
	var runTxs uint64
	report := func(final bool) {
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: "connect", Done: int64(sum.Connected), Total: int64(len(path)), Txs: runTxs,
				Inputs: w.st.Inputs, Outputs: w.st.Outputs, Height: db.st.Height, Elapsed: time.Since(start), Final: final})
		}
	}
	for j := range ordered {
		<-j.done
		n := j.node
		fail := j.err
		if fail == nil {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := w.connectBlock(&j.blk, j.raw[:blockfile.HeaderSize], j.outs, btc.Height(n.Height)); err != nil {
				var bb *BadBlockError
				if !errors.As(err, &bb) {
					return nil, err
				}
				bb.File, bb.Offset = j.file, n.Loc.Offset
				if rerr := w.reset(); rerr != nil {
					return nil, rerr
				}
				fail = bb
			}
		} else if err := w.commit(true); err != nil { // keep the good blocks before it (and release held outputs)
			return nil, err
		}
		if fail != nil {
			bb, ok := fail.(*BadBlockError)
			if !ok {
				bb = &BadBlockError{Hash: n.Hash, Height: int64(n.Height), File: j.file, Offset: n.Loc.Offset, Err: fail}
			}
			free <- j
			if !opts.SkipBad {
				return nil, bb
			}
			return bb, nil
		}
		sum.Connected++
		sum.Txs += uint64(len(j.blk.Txs))
		runTxs += uint64(len(j.blk.Txs))
		free <- j
		limit := opts.BatchTxs
		if w.deferring {
			limit = opts.BulkBatchTxs
		}
		end := true
		switch {
		case w.nTx >= limit:
			w.batches.ByTxs++
		case w.ops.size() >= opts.BatchBytes:
			w.batches.ByBytes++
		case w.utxos.full() || w.addrs.full():
			w.batches.ByCache++
		default:
			end = false
		}
		if end {
			if err := w.commit(false); err != nil {
				return nil, err
			}
		}
		if time.Since(last) >= opts.ProgressEvery {
			last = time.Now()
			report(false)
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := w.commit(true); err != nil {
		return nil, err
	}
	if db.st.Height != target {
		return nil, fmt.Errorf("index: connected up to %d, expected %d", db.st.Height, target)
	}
	report(true)
	return nil, nil
}

// prepare reads, parses, checks and classifies one block and looks its
// output addresses up in the committed store (worker side; lk may be nil).
func prepare(r *blockfile.Reader, j *job, lk *storedLookup) error {
	var err error
	j.raw, err = r.ReadBlock(j.file, j.node.Loc.Offset, j.node.Loc.Size, j.raw[:0])
	if err != nil {
		return err
	}
	if err := j.blk.Parse(j.raw); err != nil {
		return err
	}
	if j.blk.Hash != j.node.Hash {
		return fmt.Errorf("block bytes hash to %s, header scanned as %s", j.blk.Hash, j.node.Hash)
	}
	if err := j.blk.CheckMerkle(); err != nil {
		return err
	}
	if err := checkValues(&j.blk); err != nil {
		return err
	}
	j.outs = j.outs[:0]
	for ti := range j.blk.Txs {
		tx := &j.blk.Txs[ti]
		for vout, o := range tx.Outs {
			t, k := address.Classify(o.Script)
			spend := t != address.OpReturn && len(o.Script) <= maxScriptSize
			if oversizedForTest != nil && oversizedForTest(tx.TxID, vout) {
				spend = false
			}
			j.outs = append(j.outs, outClass{Type: t, Key: k, Spend: spend})
			if err := lk.find(&j.outs[len(j.outs)-1]); err != nil {
				return err
			}
		}
	}
	return lk.warm(&j.blk)
}

// oversizedForTest, set by tests, treats an output as if its script were
// over maxScriptSize: no chain the tests have holds one.
var oversizedForTest func(txid btc.Hash, vout int) bool

// ErrBadValue means an output value is negative or above 21 million BTC,
// which Bitcoin Core's CheckTransaction rejects.
var ErrBadValue = errors.New("output value out of range")

// checkValues rejects a block with an output value a node would refuse, so
// that a crafted block (whose Merkle root can still match) cannot store a
// negative amount.
func checkValues(blk *blockfile.Block) error {
	for ti := range blk.Txs {
		var sum int64
		for vout, o := range blk.Txs[ti].Outs {
			sum += o.Value
			if o.Value < 0 || o.Value > int64(btc.MaxMoney) || sum > int64(btc.MaxMoney) {
				return fmt.Errorf("tx %s output %d: %w: %d sat", blk.Txs[ti].TxID, vout, ErrBadValue, o.Value)
			}
		}
	}
	return nil
}

// ingestRaw indexes standalone blocks, one committed batch each.
func (db *DB) ingestRaw(ctx context.Context, opts *IngestOptions, w *writer, sum *IngestSummary, start time.Time) error {
	var blk blockfile.Block
	for i, p := range opts.RawBlocks {
		if err := ctx.Err(); err != nil {
			return err
		}
		raw, err := blockfile.ReadRawBlockFile(p, db.opts.Network.Magic)
		if err == nil {
			err = blk.Parse(raw)
		}
		if err == nil {
			err = blk.CheckMerkle()
		}
		if err == nil {
			err = checkValues(&blk)
		}
		if err != nil {
			var fe *blockfile.Error
			if errors.As(err, &fe) && fe.File == "" {
				fe.File = p
			} else if fe == nil {
				err = fmt.Errorf("%s: %w", p, err)
			}
			if !opts.SkipBad {
				return err
			}
			sum.Bad = append(sum.Bad, err.Error())
			continue
		}
		if v, err := db.get(keyHash(pDetached, blk.Hash)); err != nil {
			return err
		} else if v != nil {
			sum.RawSkipped++
			continue
		}
		if v, err := db.get(keyHash(pBlockHash, blk.Hash)); err != nil {
			return err
		} else if v != nil {
			sum.RawSkipped++ // already on the best chain
			continue
		}
		if err := w.connectDetached(&blk, raw[:blockfile.HeaderSize], filepath.Base(p)); err != nil {
			if rerr := w.reset(); rerr != nil {
				return rerr
			}
			return fmt.Errorf("index: %s: %w", p, err)
		}
		if err := w.commit(true); err != nil {
			return err
		}
		sum.RawBlocks++
		sum.Txs += uint64(len(blk.Txs))
		if opts.Progress != nil {
			opts.Progress(Progress{Phase: "raw", Done: int64(i + 1), Total: int64(len(opts.RawBlocks)), Txs: sum.Txs,
				Elapsed: time.Since(start), Final: i == len(opts.RawBlocks)-1})
		}
	}
	return nil
}
