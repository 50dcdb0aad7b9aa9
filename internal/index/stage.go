package index

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// Later stages keep their own keyspaces in the index's store, so that one
// store holds the whole pipeline and one Digest covers it. Each stage owns
// a range of prefix bytes; the index never writes them, and a stage may
// write nothing else (StageBatch panics on a key outside the stage ranges).
const (
	StageCluster byte = 0x30 // 0x30–0x3F: entities (package cluster)
	StageLabel   byte = 0x40 // 0x40–0x4F: labels (package label)
	StageRisk    byte = 0x50 // 0x50–0x5F: exposure (packages trace, risk)
	StageAlert   byte = 0x60 // 0x60–0x6F: watchlists and alerts (packages watch 0x68–0x6F, alert 0x60–0x67)
	StageKeys    byte = 0x70 // 0x70–0x71: API keys (package apikey)
	StageCases   byte = 0x72 // 0x72–0x73: investigation cases and their audit log (package casefile)
	stageEnd     byte = 0x80
)

func checkStageKey(k []byte) {
	if len(k) == 0 || k[0] < StageCluster || k[0] >= stageEnd {
		panic(fmt.Sprintf("index: stage key %x is outside the stage keyspaces", k))
	}
}

// StageBatch is an atomic write to stage keyspaces. Sets and Deletes are
// buffered and handed to Pebble in key order at Commit (Pebble sorts a large
// batch, and sorted input makes that linear); repeated writes of one key
// keep their order. A DeleteRange applies before every Set and Delete of
// the batch, whenever it was called.
//
// A batch of Options.StageTableBytes or more with no DeleteRange commits as sorted
// sstables ingested at once (one per keyspace, as a bulk ingest's batches
// do): still atomic and durable, but its keys skip the WAL and the
// memtable, and a keyspace written in key order (the merge log, the
// per-address records of a rebuild) lands below everything else with no
// compaction. A from-scratch clustering or exposure writes tens of GB this
// way at 40M transactions.
type StageBatch struct {
	db  *DB
	b   *pebble.Batch // nil on a view's batch, and once committed or closed
	ops opBuf
	err error // ErrView on a view's batch: Commit refuses
}

// stageCommits numbers the directories of stage batches committed as
// tables, so that concurrent commits never share one.
var stageCommits atomic.Uint64

// NewStageBatch returns an empty batch. On a view, the batch's Commit fails
// with ErrView (and writes nothing).
func (db *DB) NewStageBatch() *StageBatch {
	if db.db == nil {
		return &StageBatch{err: ErrView}
	}
	return &StageBatch{db: db, b: db.db.NewBatch()}
}

// Set writes k=v.
func (b *StageBatch) Set(k, v []byte) {
	checkStageKey(k)
	b.ops.Set(k, v)
}

// Delete deletes k.
func (b *StageBatch) Delete(k []byte) {
	checkStageKey(k)
	b.ops.Delete(k)
}

// DeleteRange deletes the keys in [lo, hi) (see StageBatch for its order).
func (b *StageBatch) DeleteRange(lo, hi []byte) {
	checkStageKey(lo)
	checkStageKey(hi[:1])
	if b.b != nil {
		_ = b.b.DeleteRange(lo, hi, nil) // fails only on a closed batch
	}
}

// CompactStage compacts the stage keys in [lo, hi) through every level.
// Called after a committed DeleteRange of the range, it drops the
// tombstone and what it covers before the caller writes the range again:
// tables ingested afterwards (a large StageBatch, a StageSort) then land
// in the store's last level, where over a tombstone they would land above
// it and be compacted down again, all of them.
func (db *DB) CompactStage(ctx context.Context, lo, hi []byte) error {
	checkStageKey(lo)
	checkStageKey(hi[:1])
	if db.db == nil {
		return ErrView
	}
	if err := db.db.Compact(ctx, lo, hi, true); err != nil {
		return fmt.Errorf("index: compact stage keys %x–%x: %w", lo, hi, err)
	}
	return nil
}

// Size returns about how many bytes the batch holds.
func (b *StageBatch) Size() int {
	n := len(b.ops.arena) + 48*len(b.ops.ops)
	if b.b != nil {
		n += b.b.Len()
	}
	return n
}

// Empty reports whether nothing was written to the batch.
func (b *StageBatch) Empty() bool { return (b.b == nil || b.b.Empty()) && len(b.ops.ops) == 0 }

// Commit applies the batch atomically and durably, then releases it.
func (b *StageBatch) Commit() error {
	if b.err != nil {
		return b.err
	}
	if t := b.db.opts.StageTableBytes; t >= 0 && b.b.Empty() && b.ops.size() >= t {
		b.b.Close()
		b.b = nil
		return b.commitTables()
	}
	err := b.ops.flush(b.b)
	if err == nil {
		err = b.b.Commit(pebble.Sync)
	}
	b.b.Close()
	b.b = nil
	return err
}

// commitTables writes the batch as sstables in a directory of its own and
// ingests them in one atomic step.
func (b *StageBatch) commitTables() error {
	db := b.db
	fs := db.opts.FS
	dir := fs.PathJoin(db.dir, commitTmp, fmt.Sprintf("stage-%d", stageCommits.Add(1)))
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("index: stage commit: %w", err)
	}
	defer fs.RemoveAll(dir) // Pebble linked or copied the tables
	paths, err := b.ops.tables(fs, dir, db.tableOpts)
	if err != nil {
		return fmt.Errorf("index: stage commit: %w", err)
	}
	if err := db.db.Ingest(context.Background(), paths); err != nil {
		return fmt.Errorf("index: stage commit: ingest %d tables: %w", len(paths), err)
	}
	return nil
}

// Close releases a batch that was not committed.
func (b *StageBatch) Close() {
	if b.b != nil {
		b.b.Close()
		b.b = nil
	}
}

// StageGet returns a copy of the value of stage key k, or nil when absent.
func (db *DB) StageGet(k []byte) ([]byte, error) {
	checkStageKey(k)
	return db.get(k)
}

// StageScan calls fn for every stage key in [lo, hi) in order, until fn
// returns false or an error. k and v are valid only during the call.
func (db *DB) StageScan(ctx context.Context, lo, hi []byte, fn func(k, v []byte) (bool, error)) error {
	checkStageKey(lo)
	checkStageKey(hi[:1])
	return db.scanKeys(ctx, lo, hi, fn)
}

// scanKeys calls fn for every key in [lo, hi) in order, until fn returns
// false or an error, resting for the context's pacer and checking it as
// it goes.
func (db *DB) scanKeys(ctx context.Context, lo, hi []byte, fn func(k, v []byte) (bool, error)) error {
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return err
	}
	defer it.Close()
	n := 0
	p := pace.From(ctx)
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%16 == 0 {
			p.Yield()
		}
		if n%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		more, err := fn(it.Key(), it.Value())
		if err != nil || !more {
			return err
		}
	}
	return it.Error()
}

// StageDigest is Digest restricted to the stage keyspaces [lo, hi) (prefix
// bytes), so a stage can prove that an incremental run equals a fresh one.
func (db *DB) StageDigest(ctx context.Context, lo, hi byte) ([32]byte, error) {
	var skip []byte
	for p := 0; p < 256; p++ {
		if byte(p) < lo || byte(p) >= hi {
			skip = append(skip, byte(p))
		}
	}
	return db.Digest(ctx, skip...)
}

// ChainBlock is a best-chain block as later stages see it.
type ChainBlock struct {
	Height    btc.Height
	Hash      btc.Hash
	Time      uint32
	FirstTx   btc.TxNum
	NTx       uint64
	FirstAddr btc.AddrID // the first address id the block's transactions gave out
}

// Dir returns the store's directory; a stage may keep files beside the
// store there (named after the stage, e.g. CLUSTER-FOREST).
func (db *DB) Dir() string { return db.dir }

// StageLast returns a copy of the last key in [lo, hi), or nil.
func (db *DB) StageLast(lo, hi []byte) ([]byte, error) {
	checkStageKey(lo)
	checkStageKey(hi[:1])
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	defer it.Close()
	if !it.Last() {
		return nil, it.Error()
	}
	return append([]byte(nil), it.Key()...), nil
}

// Tip is the index's best chain as later stages need it.
type Tip struct {
	Height         int64 // -1 when empty
	Hash           btc.Hash
	NextTx         btc.TxNum // best-chain tx numbers are 0..NextTx-1
	NextAddr       btc.AddrID
	NextDetachedTx btc.TxNum // standalone tx numbers are DetachedBase..DetachedBase+NextDetachedTx-1
}

// Tip returns the current best chain's extent.
func (db *DB) Tip() Tip {
	st := db.st
	return Tip{Height: st.Height, Hash: st.Tip, NextTx: st.NextTx, NextAddr: st.NextAddr, NextDetachedTx: st.NextDetachedTx}
}

// ChainBlock returns the best-chain block at height h, or ErrNotFound.
func (db *DB) ChainBlock(h btc.Height) (ChainBlock, error) {
	v, err := db.get(keyHeight(pBlock, h))
	if err != nil {
		return ChainBlock{}, err
	}
	if v == nil {
		return ChainBlock{}, fmt.Errorf("block at height %d: %w", h, ErrNotFound)
	}
	var r blockRecord
	if err := r.decode(v); err != nil {
		return ChainBlock{}, err
	}
	return ChainBlock{Height: r.Height, Hash: r.Hash, Time: binary.LittleEndian.Uint32(r.Header[68:72]),
		FirstTx: r.FirstTx, NTx: r.NTx, FirstAddr: r.FirstAddr}, nil
}

// ScanTxs calls fn for the transactions numbered [from, to) in order,
// decoded into one reused coinjoin.Tx (fn must not keep it). The range is
// best-chain (below DetachedBase) or standalone numbers.
func (db *DB) ScanTxs(ctx context.Context, from, to btc.TxNum, fn func(*coinjoin.Tx) error) error {
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: keyTx(from), UpperBound: keyTx(to)})
	if err != nil {
		return err
	}
	defer it.Close()
	var tr txRecord
	var tx coinjoin.Tx
	want := from
	p := pace.From(ctx)
	for ok := it.First(); ok; ok = it.Next() {
		p.Yield()
		num := btc.TxNum(decodeBE64(it.Key()[1:]))
		if num != want {
			return corrupt("tx", fmt.Errorf("tx %d missing (next stored is %d)", want, num))
		}
		want++
		if num%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := tr.decode(it.Value(), num >= DetachedBase); err != nil {
			return fmt.Errorf("tx %d: %w", num, err)
		}
		if err := db.fillTx(&tx, num, &tr); err != nil {
			return err
		}
		if err := fn(&tx); err != nil {
			return err
		}
	}
	if err := it.Error(); err != nil {
		return err
	}
	if want != to {
		return corrupt("tx", fmt.Errorf("tx %d missing (scan ended)", want))
	}
	return nil
}

// ReadTx decodes transaction num into tx.
func (db *DB) ReadTx(num btc.TxNum, tx *coinjoin.Tx) error {
	v, err := db.get(keyTx(num))
	if err != nil {
		return err
	}
	if v == nil {
		return fmt.Errorf("tx %d: %w", num, ErrNotFound)
	}
	var tr txRecord
	if err := tr.decode(v, num >= DetachedBase); err != nil {
		return fmt.Errorf("tx %d: %w", num, err)
	}
	return db.fillTx(tx, num, &tr)
}

func (db *DB) fillTx(tx *coinjoin.Tx, num btc.TxNum, tr *txRecord) error {
	tx.Num, tx.Height, tx.Version, tx.LockTime = num, tr.Height, tr.Version, tr.LockTime
	tx.Ins, tx.Outs = tx.Ins[:0], tx.Outs[:0]
	for _, in := range tr.Ins {
		tx.Ins = append(tx.Ins, coinjoin.In{Prev: in.Prev, Resolved: in.Kind == inResolved, Coinbase: in.Kind == inCoinbase,
			Value: in.Value, Addr: in.Addr, Type: in.Type})
	}
	for _, o := range tr.Outs {
		tx.Outs = append(tx.Outs, coinjoin.Out{Value: o.Value, Type: o.Type, Addr: o.Addr})
	}
	return nil
}

// SpentBy returns the input that spends output ref, and false when the
// output is unspent (or spent only in a standalone block, X4).
func (db *DB) SpentBy(ref btc.OutRef) (btc.InRef, bool, error) {
	v, err := db.get(keySpend(nil, ref))
	if err != nil || v == nil {
		return 0, false, err
	}
	x, n := binary.Uvarint(v)
	if n <= 0 {
		return 0, false, corrupt("spend", fmt.Errorf("outref %s", ref))
	}
	return btc.InRef(x), true, nil
}

// TxID returns the txid of transaction num.
func (db *DB) TxID(num btc.TxNum) (btc.Hash, error) {
	v, err := db.get(keyTx(num))
	if err != nil {
		return btc.Hash{}, err
	}
	if len(v) < 32 {
		return btc.Hash{}, fmt.Errorf("tx %d: %w", num, ErrNotFound)
	}
	var h btc.Hash
	copy(h[:], v[:32])
	return h, nil
}

// TxNum returns the number of the transaction with id txid.
func (db *DB) TxNum(txid btc.Hash) (btc.TxNum, error) {
	var tr txRecord
	n, err := db.lookupTxNum(txid, &tr)
	if errors.Is(err, ErrNotFound) {
		return 0, fmt.Errorf("transaction %s: %w", txid, ErrNotFound)
	}
	return n, err
}

// AddrID decodes an address string for the store's network and returns its
// id: a malformed string wraps an address sentinel, an unknown one
// ErrNotFound.
func (db *DB) AddrID(s string) (btc.AddrID, error) {
	_, id, err := db.lookupAddress(s)
	return id, err
}

// AddrKey returns the key of address id.
func (db *DB) AddrKey(id btc.AddrID) (address.Key, error) { return db.addrKey(id) }

// AddrIDOfKey returns the id of an address key, or ErrNotFound.
func (db *DB) AddrIDOfKey(k address.Key) (btc.AddrID, error) { return db.addrID(k) }

// AddrString returns the address id as a string ("" when it has no
// standard encoding, such as a bare multisig script) and its type.
func (db *DB) AddrString(id btc.AddrID) (string, address.Type, error) {
	k, err := db.addrKey(id)
	if err != nil {
		return "", 0, err
	}
	s, _ := address.Encode(k, db.opts.Network)
	return s, k.Kind(), nil
}

// AddrTotals are an address's stored totals.
type AddrTotals struct {
	Received uint64
	Sent     uint64
	TxCount  uint64
	First    btc.TxNum // valid when TxCount > 0
	Last     btc.TxNum
	Unknown  uint64 // spends whose value cannot be known
}

// AddrTotals returns the totals of address id.
func (db *DB) AddrTotals(id btc.AddrID) (AddrTotals, error) {
	v, err := db.get(keyAddrStats(nil, id))
	if err != nil || v == nil {
		return AddrTotals{}, err
	}
	var s addrStats
	if err := s.decode(v); err != nil {
		return AddrTotals{}, err
	}
	return AddrTotals{Received: s.Received, Sent: s.Sent, TxCount: s.TxCount, First: s.First, Last: s.Last, Unknown: s.Unknown}, nil
}

// AddrTxNums calls fn with the numbers of address id's transactions in
// increasing order until fn returns false.
func (db *DB) AddrTxNums(id btc.AddrID, fn func(btc.TxNum) bool) error {
	lo := keyAddrTx(nil, id, 0)
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo[:9])})
	if err != nil {
		return err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		if !fn(btc.TxNum(decodeBE64(it.Key()[9:]))) {
			break
		}
	}
	return it.Error()
}

// TxTime returns the block time of transaction num (RFC 3339, UTC).
func (db *DB) TxTime(num btc.TxNum) (string, error) { return db.txTime(num) }

// ScanAddrKeys calls fn with the key of every address id in [from, to), in
// id order (one sequential scan of keyspace 21), until fn returns an error.
// k is valid only during the call.
func (db *DB) ScanAddrKeys(ctx context.Context, from, to btc.AddrID, fn func(id btc.AddrID, k address.Key) error) error {
	if from >= to {
		return nil
	}
	return db.scanKeys(ctx, keyAddr(nil, from), keyAddr(nil, to), func(key, v []byte) (bool, error) {
		id := btc.AddrID(binary.BigEndian.Uint64(key[1:]))
		k, err := address.KeyFromBytes(v)
		if err != nil {
			return false, corrupt("address", fmt.Errorf("id %d: %w", id, err))
		}
		return true, fn(id, k)
	})
}

// StageSeeker answers many seeks into one stage range [lo, hi) on one
// iterator; seeks in ascending key order are cheapest.
type StageSeeker struct{ it *pebble.Iterator }

// NewStageSeeker returns a seeker over stage keys [lo, hi); Close it.
func (db *DB) NewStageSeeker(lo, hi []byte) (*StageSeeker, error) {
	checkStageKey(lo)
	checkStageKey(hi[:1])
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: hi})
	if err != nil {
		return nil, err
	}
	return &StageSeeker{it: it}, nil
}

// HasPrefix reports whether some key in the range starts with p.
func (s *StageSeeker) HasPrefix(p []byte) (bool, error) {
	if !s.it.SeekGE(p) {
		return false, s.it.Error()
	}
	return bytes.HasPrefix(s.it.Key(), p), nil
}

// Close releases the seeker's iterator.
func (s *StageSeeker) Close() error { return s.it.Close() }
