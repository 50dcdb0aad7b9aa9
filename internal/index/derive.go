package index

import (
	"bufio"
	"bytes"
	"cmp"
	"container/heap"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"
	"unsafe"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/objstorage/objstorageprovider"
	"github.com/cockroachdb/pebble/v2/sstable"
	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// Deferred keyspaces.
//
// Four keyspaces are functions of the transaction records (10) alone: the
// txid prefix index (11), the spends (13), the address totals (22) and the
// address history (23). The writer never reads them, and they are the ones
// whose keys arrive in random order (a txid prefix, an old output, an old
// address), so in a long ingest they dominate compaction: each key is
// rewritten once per LSM level, and the levels grow with the store.
//
// A bulk ingest (a best-chain path of at least deferMinBlocks blocks)
// therefore writes only the other keyspaces, and derive builds these four
// afterwards: one scan of the new transaction records, an external sort
// (runs of at most deriveRunBytes in memory, sorted and spilled to files
// beside the store in the background while the scan goes on, then merged,
// each keyspace's merge on its own goroutine), and sstables written in key
// order and ingested. Their keys then skip the WAL, the memtable and
// nearly all compaction.
//
// Crash safety (X1, X2): the first batch of a deferred path also writes
// the meta key "derive" (the first transaction number whose derived keys
// are missing); the ingest that writes them deletes it, atomically with
// them. While it is present the store is mid-ingest: a writable Open and
// every Ingest complete the derive first, and a read-only Open refuses
// (ErrIncomplete). A reorg derives before it disconnects.

// ErrIncomplete means a store's last ingest stopped before it wrote the
// derived keyspaces; a writable open (sleuth ingest) completes them.
var ErrIncomplete = errors.New("index: the last ingest did not finish (address history and spends not yet written): run sleuth ingest to complete it")

// deferMinBlocks is the shortest best-chain path connected with the derived
// keyspaces deferred. A follower's block-sized ingest writes them directly.
// A var so that tests can defer every path or none (-1).
var deferMinBlocks = 1000

// deriveRunBytes bounds the memory of derive's sort buffers, all together.
var deriveRunBytes = 768 << 20

// deriveTableBytes: derive starts a new sstable after about this many
// bytes of keys and values.
const deriveTableBytes = 128 << 20

const metaDerive = "derive"

// commitTmp is the directory (in the store's) where a bulk path writes
// each batch's sstables before ingesting them; a crash may leave files
// there, which Open removes.
const commitTmp = "commit.tmp"

// loadDerive reads the pending-derive marker, and the state of an
// unfinished bulk path's last commit (keyspace 0F), which is newer than
// meta's.
func (db *DB) loadDerive() error {
	v, err := db.getMeta(metaDerive)
	if err != nil {
		return err
	}
	db.derivePending, db.deriveFrom, db.bulkOpen = false, 0, false
	if v != nil {
		if len(v) != 8 {
			return corrupt("derive marker", encoding.ErrInvalidSize)
		}
		db.derivePending, db.deriveFrom = true, btc.TxNum(binary.BigEndian.Uint64(v))
	}
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: []byte{pCommit}, UpperBound: []byte{pCommit + 1}})
	if err != nil {
		return fmt.Errorf("index: read commits: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		if err := it.Error(); err != nil {
			return err
		}
		return db.loadHeld()
	}
	c := it.Value()
	if len(c) < 8 {
		return corrupt("bulk commit", encoding.ErrInvalidSize)
	}
	var st state
	if err := st.decode(c[:len(c)-8]); err != nil {
		return err
	}
	db.st, db.bulkOpen = st, true
	db.derivePending, db.deriveFrom = true, btc.TxNum(binary.BigEndian.Uint64(c[len(c)-8:]))
	return db.loadHeld()
}

// closeBulk ends a bulk path: the held outputs a crash left out are
// restored, then the state goes back to meta with the derive marker, and
// the path's commit and held-from records are deleted, in one batch.
func (db *DB) closeBulk(ctx context.Context) error {
	if !db.bulkOpen {
		return nil
	}
	if err := db.restoreHeld(ctx); err != nil {
		return err
	}
	b := db.db.NewBatch()
	defer b.Close()
	var e encoding.Encbuf
	db.st.encode(&e)
	b.Set(keyMeta("state"), e.Get(), nil)
	if db.derivePending {
		b.Set(keyMeta(metaDerive), binary.BigEndian.AppendUint64(nil, uint64(db.deriveFrom)), nil)
	}
	b.DeleteRange([]byte{pHeld}, []byte{pCommit + 1}, nil)
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index: end of bulk ingest: %w", err)
	}
	db.bulkOpen = false
	return nil
}

// pair is a sort record of the txid index (k: txid prefix, v: tx number)
// and of the spends (k: output ref, v: input ref).
type pair struct{ k, v uint64 }

func cmpPair(a, b pair) int {
	if c := cmp.Compare(a.k, b.k); c != 0 {
		return c
	}
	return cmp.Compare(a.v, b.v)
}

// hist is a sort record of the address history: what tx did to addr.
type hist struct{ addr, tx, recv, sent uint64 }

func cmpHist(a, b hist) int {
	if c := cmp.Compare(a.addr, b.addr); c != 0 {
		return c
	}
	return cmp.Compare(a.tx, b.tx)
}

// derive writes the derived keyspaces of the transactions from the marker
// to NextTx, and removes the marker, in one atomic ingest.
func (db *DB) derive(ctx context.Context, progress func(Progress), start time.Time) error {
	if err := db.closeBulk(ctx); err != nil {
		return err
	}
	if !db.derivePending {
		return nil
	}
	from, to := db.deriveFrom, btc.TxNum(db.st.NextTx)
	log := db.opts.Logger
	log.Info("deriving address history, spends and txid index", "from_tx", from, "to_tx", to)
	t0 := time.Now()
	fs := db.opts.FS
	tmp := fs.PathJoin(db.dir, "derive.tmp")
	if err := fs.RemoveAll(tmp); err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	if err := fs.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	defer fs.RemoveAll(tmp)

	// Buffers sized for the range (a transaction has about 2.5 inputs and
	// touches about 4 addresses), up to their share of the budget, so
	// that neither a small derive nor append's doubling takes more.
	n := int(to - from)
	ids := newRunSorter(fs, tmp, "txid", deriveRunBytes/8, n, cmpPair)
	spends := newRunSorter(fs, tmp, "spend", deriveRunBytes/4, n*3, cmpPair)
	hists := newRunSorter(fs, tmp, "hist", deriveRunBytes*5/8, n*5, cmpHist)
	defer ids.close()
	defer spends.close()
	defer hists.close()

	p := pace.From(ctx)
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: keyTx(from), UpperBound: keyTx(to)})
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	var tr txRecord
	var agg addrAgg
	num := from
	for ok := it.First(); ok; ok = it.Next() {
		k := it.Key()
		if len(k) != 9 || btc.TxNum(binary.BigEndian.Uint64(k[1:])) != num {
			it.Close()
			return corrupt("tx", fmt.Errorf("derive: expected tx %d, found key %x", num, k))
		}
		if err := tr.decode(it.Value(), false); err != nil {
			it.Close()
			return fmt.Errorf("index: derive: tx %d: %w", num, err)
		}
		if err := ids.add(pair{binary.BigEndian.Uint64(tr.TxID[:txIDPrefixSize]), uint64(num)}); err != nil {
			it.Close()
			return err
		}
		agg.reset()
		for vin := range tr.Ins {
			in := &tr.Ins[vin]
			if in.Kind != inResolved {
				continue
			}
			if in.Value == btc.UnknownAmount {
				// A best-chain input always spends an indexed output.
				it.Close()
				return corrupt("tx", fmt.Errorf("derive: tx %d input %d: resolved input without a value", num, vin))
			}
			if err := spends.add(pair{uint64(in.Prev), uint64(btc.MakeInRef(num, uint32(vin)))}); err != nil {
				it.Close()
				return err
			}
			if in.Addr != btc.NoAddr {
				agg.add(in.Addr, 0, uint64(in.Value), 0)
			}
		}
		for i := range tr.Outs {
			if o := &tr.Outs[i]; o.Addr != btc.NoAddr {
				agg.add(o.Addr, uint64(o.Value), 0, 0)
			}
		}
		for i, id := range agg.ids {
			r := &agg.recs[i]
			if err := hists.add(hist{uint64(id), uint64(num), r.Received, r.Sent}); err != nil {
				it.Close()
				return err
			}
		}
		num++
		p.Yield()
		if num%65536 == 0 {
			if err := ctx.Err(); err != nil {
				it.Close()
				return err
			}
			if progress != nil {
				progress(Progress{Phase: "derive", Done: int64(num - from), Total: int64(to - from), Txs: uint64(num - from), Height: db.st.Height, Elapsed: time.Since(start)})
			}
		}
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	if num != to {
		return corrupt("tx", fmt.Errorf("derive: transactions %d to %d missing", num, to))
	}
	tScan := time.Since(t0)

	out := &tableSet{fs: fs, dir: tmp, opts: db.tableOpts}
	defer out.abort()
	// The three merges write disjoint keyspaces from their own runs: each
	// on its own goroutine, so that the merge of the address history (the
	// largest) runs beside the other two on a second core. The first
	// failure cancels the others.
	mctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	merges := []func(context.Context) error{
		func(ctx context.Context) error {
			t, kb := out.parallel("11"), []byte(nil)
			return ids.each(ctx, func(p pair) error {
				kb = binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(append(kb[:0], pTxID), p.k), p.v)
				return t.set(kb, nil)
			})
		},
		func(ctx context.Context) error {
			t, kb := out.parallel("13"), []byte(nil)
			var vb encoding.Encbuf
			return spends.each(ctx, func(p pair) error {
				vb.Reset()
				vb.PutUvarint(p.v)
				return t.set(keySpend(kb[:0], btc.OutRef(p.k)), vb.Get())
			})
		},
		// 22 and 23 come from one merge of the history runs, into two
		// keyspaces' files at once.
		func(ctx context.Context) error {
			tStats, tHist, kb := out.parallel("22"), out.parallel("23"), []byte(nil)
			var vb encoding.Encbuf
			var st addrStats
			cur := ^uint64(0)
			flushStats := func() error {
				if cur == ^uint64(0) {
					return nil
				}
				vb.Reset()
				st.encode(&vb)
				return tStats.merge(keyAddrStats(kb[:0], btc.AddrID(cur)), vb.Get())
			}
			if err := hists.each(ctx, func(h hist) error {
				if h.addr != cur {
					if err := flushStats(); err != nil {
						return err
					}
					cur, st = h.addr, addrStats{First: btc.TxNum(h.tx)}
				}
				st.Received += h.recv
				st.Sent += h.sent
				st.TxCount++
				st.Last = btc.TxNum(h.tx)
				vb.Reset()
				r := addrTxRecord{Received: h.recv, Sent: h.sent}
				r.encode(&vb)
				return tHist.set(keyAddrTx(kb[:0], btc.AddrID(h.addr), btc.TxNum(h.tx)), vb.Get())
			}); err != nil {
				return err
			}
			return flushStats()
		},
	}
	var wg sync.WaitGroup
	for _, m := range merges {
		wg.Go(func() {
			if err := m(mctx); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	if err := context.Cause(mctx); err != nil && ctx.Err() == nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := db.deriveBlockHashes(ctx, out, from); err != nil {
		return err
	}
	tMeta, err := out.table("01")
	if err != nil {
		return err
	}
	if err := tMeta.del(keyMeta(metaDerive)); err != nil {
		return err
	}
	paths, err := out.close()
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	tSort := time.Since(t0) - tScan
	// One ingest: the derived keys and the marker's deletion land together
	// or not at all (a crash before it leaves the marker; rerun).
	if err := db.db.Ingest(ctx, paths); err != nil {
		return fmt.Errorf("index: derive: ingest %d tables: %w", len(paths), err)
	}
	db.derivePending, db.deriveFrom = false, 0
	db.derived.Txs += uint64(to - from)
	db.derived.Runs += ids.nruns() + spends.nruns() + hists.nruns()
	db.derived.Tables += len(paths)
	db.derived.Elapsed += time.Since(t0)
	log.Info("derived", "txs", to-from, "tables", len(paths), "scan", tScan.Round(time.Millisecond),
		"sort_and_write", tSort.Round(time.Millisecond), "ingest", (time.Since(t0) - tScan - tSort).Round(time.Millisecond),
		"runs", ids.nruns()+spends.nruns()+hists.nruns())
	return nil
}

// deriveBlockHashes writes the hash-to-height keys (05) of the blocks whose
// transactions start at from or later.
func (db *DB) deriveBlockHashes(ctx context.Context, out *tableSet, from btc.TxNum) error {
	type hh struct {
		hash   btc.Hash
		height btc.Height
	}
	var hs []hh
	it, err := db.db.NewIter(&pebble.IterOptions{LowerBound: []byte{pBlock}, UpperBound: []byte{pBlock + 1}})
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	var rec blockRecord
	for ok := it.Last(); ok; ok = it.Prev() {
		if err := rec.decode(it.Value()); err != nil {
			it.Close()
			return fmt.Errorf("index: derive: block record %x: %w", it.Key(), err)
		}
		if rec.FirstTx < from {
			break
		}
		hs = append(hs, hh{rec.Hash, rec.Height})
	}
	err = it.Error()
	if cerr := it.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	slices.SortFunc(hs, func(a, b hh) int { return bytes.Compare(a.hash[:], b.hash[:]) })
	t, err := out.table("05")
	if err != nil {
		return err
	}
	var e encoding.Encbuf
	for _, h := range hs {
		e.Reset()
		e.PutUvarint(uint64(h.height))
		if err := t.set(keyHash(pBlockHash, h.hash), e.Get()); err != nil {
			return err
		}
	}
	return nil
}

// tableSet writes sstables of derived keys, one keyspace at a time in key
// order, starting a new file every deriveTableBytes.
type tableSet struct {
	fs    vfs.FS
	dir   string
	opts  sstable.WriterOptions
	mu    sync.Mutex // guards paths and extra: parallel tables open files on their own goroutines
	paths []string
	cur   *tableOut
	extra []*tableOut // written beside cur, finished by close
}

type tableOut struct {
	owner *tableSet
	name  string
	n     int
	w     *sstable.Writer
	bytes int
}

// parallel starts a keyspace's files beside the current one's, for a
// goroutine of its own (each tableOut is one goroutine's; the set's lists
// are locked); close finishes them.
func (s *tableSet) parallel(name string) *tableOut {
	t := &tableOut{owner: s, name: name}
	s.mu.Lock()
	s.extra = append(s.extra, t)
	s.mu.Unlock()
	return t
}

// table finishes the current keyspace's file and starts the next keyspace.
func (s *tableSet) table(name string) (*tableOut, error) {
	if s.cur != nil {
		if err := s.cur.finish(); err != nil {
			return nil, err
		}
	}
	s.cur = &tableOut{owner: s, name: name}
	return s.cur, nil
}

func (t *tableOut) open() error {
	p := t.owner.fs.PathJoin(t.owner.dir, fmt.Sprintf("%s-%04d.sst", t.name, t.n))
	t.n++
	f, err := t.owner.fs.Create(p, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	t.w = sstable.NewWriter(objstorageprovider.NewFileWritable(f), t.owner.opts)
	t.owner.mu.Lock()
	t.owner.paths = append(t.owner.paths, p)
	t.owner.mu.Unlock()
	t.bytes = 0
	return nil
}

func (t *tableOut) finish() error {
	if t.w == nil {
		return nil
	}
	err := t.w.Close()
	t.w = nil
	if err != nil {
		return fmt.Errorf("index: derive: write table: %w", err)
	}
	return nil
}

func (t *tableOut) ready(n int) error {
	if t.w != nil && t.bytes >= deriveTableBytes {
		if err := t.finish(); err != nil {
			return err
		}
	}
	if t.w == nil {
		if err := t.open(); err != nil {
			return err
		}
	}
	t.bytes += n
	return nil
}

func (t *tableOut) set(k, v []byte) error {
	if err := t.ready(len(k) + len(v)); err != nil {
		return err
	}
	return t.w.Set(k, v)
}

func (t *tableOut) merge(k, v []byte) error {
	if err := t.ready(len(k) + len(v)); err != nil {
		return err
	}
	return t.w.Merge(k, v)
}

func (t *tableOut) del(k []byte) error {
	if err := t.ready(len(k)); err != nil {
		return err
	}
	return t.w.Delete(k)
}

// abort closes the files still open after a failure (the caller removes
// them).
func (s *tableSet) abort() {
	for _, t := range append(s.extra, s.cur) {
		if t != nil && t.w != nil {
			t.w.Close()
			t.w = nil
		}
	}
}

// close finishes the last file and returns every file written.
func (s *tableSet) close() ([]string, error) {
	for _, t := range append(s.extra, s.cur) {
		if t == nil {
			continue
		}
		if err := t.finish(); err != nil {
			return nil, err
		}
	}
	return s.paths, nil
}

// runSorter sorts fixed-size records that may not fit in memory: full
// buffers are sorted and spilled to run files, which each merges. T must
// hold no pointers (its bytes are written as they are, to a file only this
// process reads).
//
// A full buffer is sorted and written on a goroutine of its own while the
// caller fills a second one (the scan that feeds derive runs on one core,
// the sorts on the other), so each buffer holds half of the budget.
type runSorter[T any] struct {
	fs   vfs.FS
	dir  string
	name string
	max  int
	cmp  func(a, b T) int
	buf  []T
	runs []string
	// spare is the buffer a background spill is writing (done reports
	// its end; nil when none is running), then free for reuse.
	spare []T
	done  chan error
}

// newRunSorter keeps at most bytes of records in memory; expect is how
// many records are likely (the first buffer's capacity, within bytes).
func newRunSorter[T any](fs vfs.FS, dir, name string, bytes, expect int, cmp func(a, b T) int) *runSorter[T] {
	var zero T
	limit := max(bytes/int(unsafe.Sizeof(zero))/2, 1024)
	return &runSorter[T]{fs: fs, dir: dir, name: name, max: limit, cmp: cmp, buf: make([]T, 0, min(limit, max(expect, 1024)))}
}

func (s *runSorter[T]) nruns() int { return len(s.runs) }

func (s *runSorter[T]) add(x T) error {
	s.buf = append(s.buf, x)
	if len(s.buf) >= s.max {
		return s.spillBehind()
	}
	return nil
}

// spillBehind hands the full buffer to a background spill, after the one
// before it has finished, and goes on in the spare buffer.
func (s *runSorter[T]) spillBehind() error {
	if err := s.wait(); err != nil {
		return err
	}
	full, p := s.buf, s.runPath()
	s.runs = append(s.runs, p)
	s.done = make(chan error, 1)
	go func() { s.done <- s.writeRun(full, p) }()
	s.buf = s.spare[:0]
	if s.buf == nil {
		s.buf = make([]T, 0, s.max)
	}
	s.spare = full
	return nil
}

// wait waits for the background spill, if one is running.
func (s *runSorter[T]) wait() error {
	if s.done == nil {
		return nil
	}
	err := <-s.done
	s.done = nil
	return err
}

func recordBytes[T any](xs []T) []byte {
	if len(xs) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&xs[0])), len(xs)*int(unsafe.Sizeof(xs[0])))
}

func (s *runSorter[T]) runPath() string {
	return s.fs.PathJoin(s.dir, fmt.Sprintf("%s-%04d.run", s.name, len(s.runs)))
}

// spill sorts the buffer and writes it as a run, here.
func (s *runSorter[T]) spill() error {
	if err := s.wait(); err != nil {
		return err
	}
	p := s.runPath()
	if err := s.writeRun(s.buf, p); err != nil {
		return err
	}
	s.runs = append(s.runs, p)
	s.buf = s.buf[:0]
	return nil
}

// writeRun sorts buf and writes it as the run file p. It touches nothing
// else of s, so a background spill can run it.
func (s *runSorter[T]) writeRun(buf []T, p string) error {
	slices.SortFunc(buf, s.cmp)
	f, err := s.fs.Create(p, vfs.WriteCategoryUnspecified)
	if err != nil {
		return fmt.Errorf("index: derive: %w", err)
	}
	// vfs.File.Write may modify its argument: write a copy, in pieces.
	b := recordBytes(buf)
	chunk := make([]byte, 1<<20)
	for len(b) > 0 {
		m := copy(chunk, b)
		if _, err := f.Write(chunk[:m]); err != nil {
			f.Close()
			return fmt.Errorf("index: derive: write %s: %w", p, err)
		}
		b = b[m:]
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("index: derive: write %s: %w", p, err)
	}
	return nil
}

// each calls fn on every record in order: from memory when nothing was
// spilled, else by merging the runs.
func (s *runSorter[T]) each(ctx context.Context, fn func(T) error) error {
	if err := s.wait(); err != nil {
		return err
	}
	s.spare = nil
	if len(s.runs) == 0 {
		slices.SortFunc(s.buf, s.cmp)
		p := pace.From(ctx)
		for i, x := range s.buf {
			if i%64 == 0 {
				p.Yield()
			}
			if i%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(x); err != nil {
				return err
			}
		}
		s.buf = nil
		return nil
	}
	if len(s.buf) > 0 {
		if err := s.spill(); err != nil {
			return err
		}
	}
	s.buf = nil // the merge needs only its read buffers
	h := &runHeap[T]{cmp: s.cmp}
	defer h.close()
	for _, p := range s.runs {
		f, err := s.fs.Open(p)
		if err != nil {
			return fmt.Errorf("index: derive: %w", err)
		}
		c := &runCursor[T]{f: f, r: bufio.NewReaderSize(f, 1<<20), path: p}
		ok, err := c.next()
		if err != nil {
			f.Close()
			return err
		}
		h.cs = append(h.cs, c)
		if !ok {
			continue
		}
		h.live = append(h.live, c)
	}
	heap.Init(h)
	p := pace.From(ctx)
	for i := 0; h.Len() > 0; i++ {
		if i%64 == 0 {
			p.Yield()
		}
		if i%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		c := h.live[0]
		if err := fn(c.cur); err != nil {
			return err
		}
		ok, err := c.next()
		if err != nil {
			return err
		}
		if ok {
			heap.Fix(h, 0)
		} else {
			heap.Pop(h)
		}
	}
	return nil
}

func (s *runSorter[T]) close() {
	s.wait() // a spill still running writes a run that is removed below
	s.buf, s.spare = nil, nil
	for _, p := range s.runs {
		s.fs.Remove(p)
	}
	s.runs = nil
}

type runCursor[T any] struct {
	f    vfs.File
	r    *bufio.Reader
	path string
	cur  T
}

func (c *runCursor[T]) next() (bool, error) {
	b := unsafe.Slice((*byte)(unsafe.Pointer(&c.cur)), unsafe.Sizeof(c.cur))
	if _, err := io.ReadFull(c.r, b); err != nil {
		if err == io.EOF {
			return false, nil
		}
		return false, fmt.Errorf("index: derive: read %s: %w", c.path, err)
	}
	return true, nil
}

type runHeap[T any] struct {
	cmp  func(a, b T) int
	cs   []*runCursor[T] // every cursor, to close
	live []*runCursor[T]
}

func (h *runHeap[T]) Len() int           { return len(h.live) }
func (h *runHeap[T]) Less(i, j int) bool { return h.cmp(h.live[i].cur, h.live[j].cur) < 0 }
func (h *runHeap[T]) Swap(i, j int)      { h.live[i], h.live[j] = h.live[j], h.live[i] }
func (h *runHeap[T]) Push(x any)         { h.live = append(h.live, x.(*runCursor[T])) }
func (h *runHeap[T]) Pop() any {
	x := h.live[len(h.live)-1]
	h.live = h.live[:len(h.live)-1]
	return x
}

func (h *runHeap[T]) close() {
	for _, c := range h.cs {
		c.f.Close()
	}
}
