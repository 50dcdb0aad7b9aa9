package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/chain"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/invariants"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// outpoint names an output by txid and index, as inputs do.
type outpoint struct {
	ID   btc.Hash
	Vout uint32
}

// outClass is a worker's classification of one output script.
type outClass struct {
	Type  address.Type
	Key   address.Key
	Spend bool // enters the UTXO set (not OP_RETURN, script ≤ 10,000 bytes)
	// stored is 1 + the id the address has in the committed store, as a
	// parse worker found it (storedLookup); 0 when it found none or did
	// not look. Committed ids never change while a path is connected, so
	// the writer takes it as it is; a miss tells the writer nothing (the
	// address may have been assigned since, in the writer's batch).
	stored uint64
}

// maxScriptSize is the consensus limit above which an output can never be
// spent; Bitcoin Core leaves such outputs out of the UTXO set.
const maxScriptSize = 10_000

// ErrMissingPrevout means a best-chain input spends an output that is not
// unspent in the index: the block files are incomplete or corrupt.
var ErrMissingPrevout = errors.New("input spends an output that is not unspent")

// BadBlockError locates a block that cannot be indexed.
type BadBlockError struct {
	Hash   btc.Hash
	Height int64
	File   string
	Offset int64
	TxID   *btc.Hash
	Err    error
}

func (e *BadBlockError) Error() string {
	s := fmt.Sprintf("block %d (%s)", e.Height, e.Hash)
	if e.File != "" {
		s = fmt.Sprintf("%s: offset %d: %s", e.File, e.Offset, s)
	}
	if e.TxID != nil {
		s += " tx " + e.TxID.String()
	}
	return s + ": " + e.Err.Error()
}

func (e *BadBlockError) Unwrap() error { return e.Err }

// writer turns parsed blocks into batches. It owns the working copy of the
// ingest state; the copy in DB is updated only when a batch commits.
type writer struct {
	db     *DB
	st     state
	batch  *pebble.Batch
	ops    opBuf // the uncommitted batch's writes, sorted into batch at commit
	nTx    int   // transactions in the uncommitted batch
	utxos  *utxoCache
	addrs  *addrCache
	filter *addrFilter // nil: every miss reads the store
	// shared is filter, published for the parse workers' lookups of
	// stored addresses (storedLookup), which run beside the writer.
	shared       atomic.Pointer[addrFilter]
	addrParallel atomic.Uint64 // addresses the workers found stored
	enc          encoding.Encbuf
	val          encoding.Encbuf
	kbuf         []byte
	agg          addrAgg
	// store reads the caches did not save (IngestSummary)
	utxoReads, addrReads uint64
	// utxoPuts counts unspent outputs a commit wrote to the store;
	// utxoCachedSpends the spends of those found in the cache (each a
	// store delete of a put the same run made); utxoHeldSpends the spends
	// of held outputs, which were never written.
	utxoPuts, utxoCachedSpends, utxoHeldSpends uint64
	batches                                    BatchStats
	// deferring: connectBlock leaves the derived keyspaces (txid index,
	// spends, address totals and history) to derive; the first commit
	// writes the marker from which they are missing (derive.go).
	deferring bool
	// curFrom and oldFrom are the first transactions whose outputs the
	// UTXO cache's current and old generations may hold back from the
	// store on a bulk path (held.go); mustRelease makes the next commit
	// write every held output (its batch created an output the records
	// cannot tell from a spendable one).
	curFrom, oldFrom btc.TxNum
	mustRelease      bool
	// releaseBytes bounds each table of released held outputs (the
	// ingest's BatchBytes).
	releaseBytes int64
	// pathBytes and pathDone are a bulk path's block bytes, all and
	// connected; pathAddr is NextAddr at its start; from a hundredth of
	// the bytes on, each commit estimates the address filter's size
	// (hintFilter).
	pathBytes, pathDone uint64
	pathAddr            btc.AddrID
	// pace lets a server's requests go first (pace.Pacer.Yield per
	// transaction); nil outside a server.
	pace *pace.Pacer
}

func newWriter(db *DB) *writer {
	w := &writer{
		db:    db,
		st:    db.st,
		batch: db.db.NewBatch(),
	}
	w.newCaches()
	return w
}

// newCaches gives the writer empty caches of the store's sizes.
func (w *writer) newCaches() {
	w.utxos = newUTXOCache(genSizeFor(w.db.opts.UTXOCacheBytes, utxoSlotBytes))
	w.addrs = newAddrCache(genSizeFor(w.db.opts.AddrCacheBytes, addrSlotBytes))
}

// reset drops the uncommitted batch and everything derived from it, and
// reloads the committed state.
func (w *writer) reset() error {
	w.batch.Close()
	w.batch = w.db.db.NewBatch()
	w.ops.reset()
	w.nTx = 0
	w.utxos.clear()
	w.addrs.clear()
	if err := w.db.loadState(); err != nil {
		return err
	}
	// The cleared cache held outputs of committed batches (a bulk path's):
	// the store gets them back from the transaction records.
	if err := w.db.restoreHeld(context.Background()); err != nil {
		return err
	}
	w.st = w.db.st
	w.startHolding()
	return nil
}

// startHolding starts the generations' held ranges at NextTx: nothing is
// held (a path starts, or the cache was cleared).
func (w *writer) startHolding() {
	w.curFrom, w.oldFrom, w.mustRelease = w.st.NextTx, w.st.NextTx, false
}

// commit writes the pending unspent outputs and the state with the batch,
// atomically. sync makes it durable before returning. On a bulk path the
// batch's unspent outputs are held instead (held.go); held outputs the
// commit releases (an evicted generation's, or all of them at the path's
// end or before an oversized output) are written after the batch, in
// pieces of at most releaseBytes, and then the held range moves on.
func (w *writer) commit(sync bool) error {
	w.batches.Commits++
	mode := holdNone
	if w.deferring {
		mode = holdUntilEvicted
		if sync || w.mustRelease {
			mode = holdRelease
		}
	}
	evicting := w.utxos.commit(mode, w.putUTXO)
	w.batches.MaxBytes = max(w.batches.MaxBytes, w.ops.size())
	w.val.Reset()
	w.st.encode(&w.val)
	if w.deferring {
		// The held range stays as it was until the released outputs are
		// written: a crash before then restores them from the records.
		w.ops.Set(keyHeld(uint64(w.st.NextTx)), binary.AppendUvarint(nil, uint64(w.oldFrom)))
		from := btc.TxNum(w.db.st.NextTx) // the deferred range starts with this batch
		if w.db.derivePending {
			from = w.db.deriveFrom
		}
		// A bulk path commits its batches as sstables, one per keyspace,
		// in one atomic (and durable) ingest: no WAL or memtable, and the
		// keyspaces written in key order go below everything else and are
		// never compacted. So that no table of the random keyspaces spans
		// them, the state goes to a keyspace of its own written in order
		// (0F, with the first transaction of the deferred range), not to
		// meta; closeBulk moves it back at the end of the path.
		w.ops.Set(keyCommit(uint64(w.st.NextTx)), binary.BigEndian.AppendUint64(w.val.Get(), uint64(from)))
		if err := w.commitTables(); err != nil {
			return err
		}
		w.db.derivePending, w.db.deriveFrom, w.db.bulkOpen = true, from, true
		w.db.heldFrom = w.oldFrom
	} else {
		w.ops.Set(keyMeta("state"), w.val.Get())
		if err := w.ops.flush(w.batch); err != nil {
			return fmt.Errorf("index: build batch at height %d: %w", w.st.Height, err)
		}
		opt := pebble.NoSync
		if sync {
			opt = pebble.Sync
		}
		if err := w.batch.Commit(opt); err != nil {
			return fmt.Errorf("index: commit batch at height %d: %w", w.st.Height, err)
		}
		w.batch.Close()
		w.batch = w.db.db.NewBatch()
		w.db.heldFrom = w.st.NextTx
	}
	w.db.st = w.st
	if err := w.evict(mode, evicting); err != nil {
		return err
	}
	w.nTx = 0
	w.addrs.rotate()
	if w.deferring && w.pathDone*100 >= w.pathBytes {
		w.db.hintFilter(w.pathAddr, w.pathDone, w.pathBytes)
	}
	if w.filter != nil {
		f, err := w.db.growFilter(w.filter, w.pace)
		if err != nil {
			return err
		}
		w.setFilter(f)
	}
	return nil
}

// putUTXO writes an unspent output to the store with the batch.
func (w *writer) putUTXO(op *outpoint, u *utxoRecord) {
	w.utxoPuts++
	w.kbuf = keyUTXO(w.kbuf[:0], op.ID, op.Vout)
	w.val.Reset()
	u.encode(&w.val)
	w.ops.Set(w.kbuf, w.val.Get())
}

// evict rotates the UTXO cache's generations after a commit if the
// current one is full (evicting). On a bulk path it first writes the held
// outputs the rotation evicts, or every held output (holdRelease), in
// tables of at most releaseBytes each, and then records the new held
// range. A crash midway leaves the range as the batch recorded it, and the
// restore writes the same outputs again.
func (w *writer) evict(mode holdMode, evicting bool) error {
	if mode == holdNone || !(evicting || mode == holdRelease) {
		w.utxos.evict(false, nil)
		return nil
	}
	var err error
	w.utxos.evict(mode == holdRelease, func(op *outpoint, u *utxoRecord) {
		if err != nil {
			return
		}
		w.putUTXO(op, u)
		w.batches.Released++
		if w.ops.size() >= w.releaseBytes {
			w.batches.MaxBytes = max(w.batches.MaxBytes, w.ops.size())
			w.batches.ReleasePieces++
			err = w.commitTables()
		}
	})
	if err != nil {
		return err
	}
	held := w.curFrom
	if mode == holdRelease {
		held = w.st.NextTx
	}
	w.ops.Set(keyHeld(uint64(w.st.NextTx)), binary.AppendUvarint(nil, uint64(held)))
	w.batches.MaxBytes = max(w.batches.MaxBytes, w.ops.size())
	w.batches.ReleasePieces++
	if err := w.commitTables(); err != nil {
		return err
	}
	w.db.heldFrom = held
	if mode == holdRelease {
		w.startHolding()
	} else {
		w.oldFrom, w.curFrom = w.curFrom, w.st.NextTx
	}
	return nil
}

// commitTables writes the uncommitted ops as sstables and ingests them.
func (w *writer) commitTables() error {
	fs := w.db.opts.FS
	dir := fs.PathJoin(w.db.dir, commitTmp)
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: commit at height %d: %w", w.st.Height, err)
	}
	paths, err := w.ops.tables(fs, dir, w.db.tableOpts)
	if err != nil {
		return fmt.Errorf("index: commit at height %d: %w", w.st.Height, err)
	}
	err = w.db.db.Ingest(context.Background(), paths)
	for _, p := range paths {
		fs.Remove(p) // Pebble linked or copied them
	}
	if err != nil {
		return fmt.Errorf("index: commit at height %d: ingest %d tables: %w", w.st.Height, len(paths), err)
	}
	return nil
}

// addrID returns the id of key, assigning the next one to a new address.
func (w *writer) addrID(k *address.Key) (btc.AddrID, error) {
	// The filter first: keys enter it when they are assigned, so "absent"
	// also means absent from the cache, and most outputs pay new addresses.
	var h uint64
	if w.filter != nil {
		h = filterHash(k.Bytes())
		if !w.filter.mayContain(h) {
			w.kbuf = keyAddrKey(w.kbuf[:0], k.Bytes())
			return w.newAddr(k, h), nil
		}
	}
	if id, ok := w.addrs.get(k); ok {
		return id, nil
	}
	w.kbuf = keyAddrKey(w.kbuf[:0], k.Bytes())
	w.addrReads++
	id, ok, err := storedAddrID(w.db.db, w.kbuf)
	if err != nil {
		return 0, err
	}
	if ok {
		w.addrs.put(k, id)
		return id, nil
	}
	return w.newAddr(k, h), nil
}

// storedAddrID reads the id stored under key-to-id key kk, with no copy;
// ok is false when there is none.
func storedAddrID(r pebble.Reader, kk []byte) (id btc.AddrID, ok bool, err error) {
	v, closer, err := r.Get(kk)
	if errors.Is(err, pebble.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("index: get address: %w", err)
	}
	x, n := binary.Uvarint(v)
	closer.Close()
	if n <= 0 {
		return 0, false, corrupt("address id", encoding.ErrInvalidSize)
	}
	return btc.AddrID(x), true, nil
}

// setFilter makes f the writer's address filter, and, on a short path,
// the workers' (call it again when a path starts: the path's kind decides).
func (w *writer) setFilter(f *addrFilter) {
	if f != nil {
		f.shared = !w.deferring
	}
	w.filter = f
	w.shared.Store(f)
}

// storedLookup is, on a short path (a block or a few, as a follower
// connects them, when the writer's caches are cold), one parse worker's
// lookup of its block in the committed store, so that the random reads
// run on the workers, in parallel, instead of one after another on the
// writer. The output addresses the address filter may hold are read
// there (most outputs pay new addresses, which the filter rules out). The
// filter is the writer's, read while the writer adds to it (its words are
// atomic); a key added since reads as absent and is left to the writer.
// The spent outputs' UTXO keys are read and dropped: the writer's own
// reads of them then find their blocks in memory.
type storedLookup struct {
	db     *pebble.DB
	filter *atomic.Pointer[addrFilter]
	found  *atomic.Uint64
	kbuf   []byte
}

// warm reads the UTXO keys the block's inputs spend, for the page cache
// and Pebble's block cache only.
func (l *storedLookup) warm(blk *blockfile.Block) error {
	if l == nil {
		return nil
	}
	for ti := range blk.Txs {
		tx := &blk.Txs[ti]
		if tx.IsCoinbase() {
			continue
		}
		for vin := range tx.Ins {
			in := &tx.Ins[vin]
			l.kbuf = keyUTXO(l.kbuf[:0], in.PrevTxID, in.PrevVout)
			_, closer, err := l.db.Get(l.kbuf)
			if err == nil {
				closer.Close()
			} else if !errors.Is(err, pebble.ErrNotFound) {
				return fmt.Errorf("index: get unspent output: %w", err)
			}
		}
	}
	return nil
}

// find fills c.stored when c's address is in the committed store.
func (l *storedLookup) find(c *outClass) error {
	if l == nil || c.Key.Len() == 0 {
		return nil
	}
	f := l.filter.Load()
	if f == nil || !f.mayContain(filterHash(c.Key.Bytes())) {
		return nil
	}
	l.kbuf = keyAddrKey(l.kbuf[:0], c.Key.Bytes())
	id, ok, err := storedAddrID(l.db, l.kbuf)
	if err != nil || !ok {
		return err
	}
	c.stored = uint64(id) + 1
	l.found.Add(1)
	return nil
}

// newAddr gives k the next address id (w.kbuf holds k's key-to-id key).
func (w *writer) newAddr(k *address.Key, h uint64) btc.AddrID {
	id := w.st.NextAddr
	w.st.NextAddr++
	w.val.Reset()
	w.val.PutUvarint(uint64(id))
	w.ops.Set(w.kbuf, w.val.Get())
	w.kbuf = keyAddr(w.kbuf[:0], id)
	w.ops.Set(w.kbuf, k.Bytes())
	w.addrs.put(k, id)
	if w.filter != nil {
		w.filter.add(h)
	}
	return id
}

// spendUTXO removes op from the UTXO set and returns it.
func (w *writer) spendUTXO(op outpoint) (utxoRecord, error) {
	if t, i := w.utxos.lookup(&op); t != nil {
		if t.slots[i].state == slotHeld {
			w.utxoHeldSpends++
		}
		u, inStore, err := w.utxos.spend(t, i)
		if inStore {
			w.utxoCachedSpends++
			w.kbuf = keyUTXO(w.kbuf[:0], op.ID, op.Vout)
			w.ops.Delete(w.kbuf)
		}
		return u, err
	}
	w.kbuf = keyUTXO(w.kbuf[:0], op.ID, op.Vout)
	w.utxoReads++
	v, closer, err := w.db.db.Get(w.kbuf)
	if errors.Is(err, pebble.ErrNotFound) {
		return utxoRecord{}, ErrMissingPrevout
	}
	if err != nil {
		return utxoRecord{}, fmt.Errorf("index: get utxo: %w", err)
	}
	var u utxoRecord
	err = u.decode(v)
	closer.Close()
	if err != nil {
		return u, err
	}
	w.utxos.set(&op, slotSpent, nil)
	w.ops.Delete(w.kbuf)
	return u, nil
}

// utxoExists reports whether op is unspent, and whether the store holds
// it (used for BIP30 duplicate coinbases only, so the store read is
// rare).
func (w *writer) utxoExists(op outpoint) (u utxoRecord, ok, stored bool, err error) {
	if t, i := w.utxos.lookup(&op); t != nil {
		s := &t.slots[i]
		return s.record(), s.state != slotSpent, s.state == slotCached, nil
	}
	v, err := w.db.get(keyUTXO(nil, op.ID, op.Vout))
	if err != nil || v == nil {
		return utxoRecord{}, false, false, err
	}
	return u, true, true, u.decode(v)
}

// addrAgg gathers what one transaction does to each address it touches.
type addrAgg struct {
	ids  []btc.AddrID
	recs []addrTxRecord
	pos  map[btc.AddrID]int // used when a transaction touches many addresses
}

func (a *addrAgg) reset() {
	a.ids = a.ids[:0]
	a.recs = a.recs[:0]
	if a.pos != nil {
		clear(a.pos)
	}
}

func (a *addrAgg) add(id btc.AddrID, recv, sent, unknown uint64) {
	i := -1
	if len(a.ids) <= 16 {
		for j, x := range a.ids {
			if x == id {
				i = j
				break
			}
		}
	} else {
		if a.pos == nil {
			a.pos = make(map[btc.AddrID]int)
		}
		if len(a.pos) == 0 {
			for j, x := range a.ids {
				a.pos[x] = j
			}
		}
		if j, ok := a.pos[id]; ok {
			i = j
		}
	}
	if i < 0 {
		i = len(a.ids)
		a.ids = append(a.ids, id)
		a.recs = append(a.recs, addrTxRecord{})
		if len(a.pos) > 0 {
			a.pos[id] = i
		}
	}
	r := &a.recs[i]
	r.Received += recv
	r.Sent += sent
	r.Unknown += unknown
}

// flushAgg writes the per-address history rows and stats operands of tx num.
func (w *writer) flushAgg(num btc.TxNum) {
	for i, id := range w.agg.ids {
		r := &w.agg.recs[i]
		w.kbuf = keyAddrTx(w.kbuf[:0], id, num)
		w.val.Reset()
		r.encode(&w.val)
		w.ops.Set(w.kbuf, w.val.Get())
		s := addrStats{Received: r.Received, Sent: r.Sent, TxCount: 1, First: num, Last: num, Unknown: r.Unknown}
		w.kbuf = keyAddrStats(w.kbuf[:0], id)
		w.val.Reset()
		s.encode(&w.val)
		w.ops.Merge(w.kbuf, w.val.Get())
	}
}

// connectBlock appends a best-chain block to the batch. On error the batch
// holds part of the block and must be dropped (reset).
func (w *writer) connectBlock(blk *blockfile.Block, header []byte, outs []outClass, height btc.Height) error {
	rec := blockRecord{Hash: blk.Hash, Height: height, FirstTx: w.st.NextTx, NTx: uint64(len(blk.Txs)),
		Size: uint64(blk.Size), Weight: uint64(blk.Weight), FirstAddr: w.st.NextAddr}
	copy(rec.Header[:], header)
	oi := 0
	for ti := range blk.Txs {
		w.pace.Yield()
		tx := &blk.Txs[ti]
		num := w.st.NextTx
		w.st.NextTx++
		w.agg.reset()
		head := txRecord{TxID: tx.TxID, Height: height, Version: uint32(tx.Version), LockTime: tx.LockTime,
			Size: uint64(tx.Size), Weight: uint64(tx.Weight())}
		e := &w.enc
		e.Reset()
		head.encodeHead(e, false)
		e.PutUvarint(uint64(len(tx.Ins)))
		coinbase := ti == 0
		if coinbase != tx.IsCoinbase() {
			return fmt.Errorf("tx %s: coinbase must be first and only first", tx.TxID)
		}
		for vin := range tx.Ins {
			if coinbase {
				e.PutByte(inCoinbase)
				continue
			}
			in := &tx.Ins[vin]
			u, err := w.spendUTXO(outpoint{in.PrevTxID, in.PrevVout})
			if err != nil {
				id := tx.TxID
				return &BadBlockError{Hash: blk.Hash, Height: int64(height), TxID: &id,
					Err: fmt.Errorf("input %d spends %s:%d: %w", vin, in.PrevTxID, in.PrevVout, err)}
			}
			if !w.deferring {
				w.kbuf = keySpend(w.kbuf[:0], u.Ref)
				w.val.Reset()
				w.val.PutUvarint(uint64(btc.MakeInRef(num, uint32(vin))))
				w.ops.Set(w.kbuf, w.val.Get())
			}
			encodeIn(e, &txIn{Kind: inResolved, Prev: u.Ref, Value: u.Value, Addr: u.Addr, Type: u.Type})
			if u.Addr != btc.NoAddr && !w.deferring {
				w.agg.add(u.Addr, 0, uint64(u.Value), 0)
			}
			w.st.UTXOs--
			w.st.UTXOValue -= uint64(u.Value)
			w.st.Inputs++
			rec.Inputs++
		}
		e.PutUvarint(uint64(len(tx.Outs)))
		for vout := range tx.Outs {
			o := &tx.Outs[vout]
			c := &outs[oi]
			oi++
			id := btc.NoAddr
			if c.Key.Len() > 0 {
				if c.stored != 0 {
					id = btc.AddrID(c.stored - 1)
					w.addrs.put(&c.Key, id)
				} else {
					var err error
					if id, err = w.addrID(&c.Key); err != nil {
						return err
					}
				}
				if !w.deferring {
					w.agg.add(id, uint64(o.Value), 0, 0)
				}
			}
			encodeOut(e, &txOut{Value: btc.Amount(o.Value), Type: c.Type, Addr: id})
			w.st.Outputs++
			rec.Outputs++
			// The genesis coinbase is not spendable (Bitcoin Core never adds
			// it to the UTXO set).
			if !c.Spend || height == 0 {
				if c.Type != address.OpReturn && height != 0 {
					// An oversized script: the record cannot tell it from a
					// spendable output, so nothing may stay held past this
					// batch (held.go).
					w.mustRelease = true
				}
				continue
			}
			op := outpoint{tx.TxID, uint32(vout)}
			if coinbase {
				// BIP30: two early coinbases repeat a txid; the later one
				// overwrites the earlier, unspent output.
				old, ok, stored, err := w.utxoExists(op)
				if err != nil {
					return err
				}
				if ok {
					w.st.UTXOs--
					w.st.UTXOValue -= uint64(old.Value)
				}
				if stored && w.deferring {
					// The new output may be held, and spent before it is
					// written: the store must not keep the old one.
					w.kbuf = keyUTXO(w.kbuf[:0], op.ID, op.Vout)
					w.ops.Delete(w.kbuf)
				}
			}
			w.utxos.set(&op, slotPending, &utxoRecord{Ref: btc.MakeOutRef(num, uint32(vout)), Value: btc.Amount(o.Value), Addr: id, Type: c.Type})
			w.st.UTXOs++
			w.st.UTXOValue += uint64(o.Value)
		}
		w.ops.Set(keyTx(num), e.Get())
		if !w.deferring {
			w.kbuf = keyTxID(w.kbuf[:0], tx.TxID, num)
			w.ops.Set(w.kbuf, nil)
			w.flushAgg(num)
		}
	}
	if invariants.Enabled && oi != len(outs) {
		panic(fmt.Sprintf("index: block %s: %d classified outputs, %d used", blk.Hash, len(outs), oi))
	}
	w.val.Reset()
	rec.encode(&w.val)
	w.ops.Set(keyHeight(pBlock, height), w.val.Get())
	if !w.deferring { // derive writes it from the block record
		w.val.Reset()
		w.val.PutUvarint(uint64(height))
		w.ops.Set(keyHash(pBlockHash, blk.Hash), w.val.Get())
	}
	w.st.Height = int64(height)
	w.st.Tip = blk.Hash
	w.nTx += len(blk.Txs)
	w.pathDone += uint64(blk.Size)
	return nil
}

// startPath starts counting a path's block bytes for hintFilter.
func (w *writer) startPath(path []*chain.Node) {
	w.pathBytes, w.pathDone, w.pathAddr = 0, 0, w.st.NextAddr
	for _, n := range path {
		w.pathBytes += uint64(n.Loc.Size)
	}
}
