package risk

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// UndoBlocks is how many of the last processed blocks keep an undo record
// (keyspace 56): a reorg that replaces at most that many is rolled back;
// a deeper one recomputes exposure from scratch.
const UndoBlocks = 100

// undoRecord is keyspace 56 for one processed best-chain block: its hash,
// its first transaction, every address its transactions paid or spent
// from (sorted), and the merges clustering logged for them. A reorg
// deletes the block's transactions from the index and clustering its
// merges, so this is what names the aggregates its flows went into and
// the entities exposure saw while the block was on the best chain.
type undoRecord struct {
	Hash    btc.Hash
	FirstTx btc.TxNum
	Addrs   []btc.AddrID
	Merges  [][2]btc.AddrID
}

func (u *undoRecord) encode(e *encoding.Encbuf) {
	e.PutBytes(u.Hash[:])
	e.PutUvarint(uint64(u.FirstTx))
	e.PutUvarint(uint64(len(u.Addrs)))
	prev := btc.AddrID(0)
	for _, a := range u.Addrs {
		e.PutUvarint(uint64(a - prev)) // sorted: deltas
		prev = a
	}
	e.PutUvarint(uint64(len(u.Merges)))
	for _, m := range u.Merges {
		e.PutUvarint(uint64(m[0]))
		e.PutUvarint(uint64(m[1]))
	}
}

func (u *undoRecord) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	copy(u.Hash[:], d.Bytes(32))
	u.FirstTx = btc.TxNum(d.Uvarint())
	n := d.Uvarint()
	if d.Err() != nil || n > uint64(len(b)) {
		return corrupt("undo record", fmt.Errorf("%d addresses in %d bytes (%v)", n, len(b), d.Err()))
	}
	u.Addrs = u.Addrs[:0]
	prev := btc.AddrID(0)
	for range n {
		prev += btc.AddrID(d.Uvarint())
		u.Addrs = append(u.Addrs, prev)
	}
	n = d.Uvarint()
	if d.Err() != nil || n > uint64(len(b)) {
		return corrupt("undo record", fmt.Errorf("%d merges in %d bytes (%v)", n, len(b), d.Err()))
	}
	u.Merges = u.Merges[:0]
	for range n {
		u.Merges = append(u.Merges, [2]btc.AddrID{btc.AddrID(d.Uvarint()), btc.AddrID(d.Uvarint())})
	}
	if d.Err() != nil || d.Len() != 0 {
		return corrupt("undo record", fmt.Errorf("%d trailing bytes (%v)", d.Len(), d.Err()))
	}
	return nil
}

func keyUndo(h int64) []byte { return key64(pUndo, uint64(h)) }

// undoCollector gathers the addresses of the block run is processing,
// when that block will keep an undo record.
type undoCollector struct {
	on     bool
	addrs  []btc.AddrID
	merges [][2]btc.AddrID
}

func (c *undoCollector) tx(tx *coinjoin.Tx) {
	if !c.on {
		return
	}
	for _, in := range tx.Ins {
		if in.Addr != btc.NoAddr {
			c.addrs = append(c.addrs, in.Addr)
		}
	}
	for _, o := range tx.Outs {
		if o.Addr != btc.NoAddr {
			c.addrs = append(c.addrs, o.Addr)
		}
	}
}

// putUndo writes block h's undo record (when it is among the last
// UndoBlocks of tip) and drops the record that left the window, so the
// records are a function of the chain alone (R1).
func (e *engine) putUndo(ctx context.Context, h, tip int64, cb *index.ChainBlock, c *undoCollector) error {
	if c.on {
		slices.Sort(c.addrs)
		c.merges = c.merges[:0]
		end := cb.FirstTx + btc.TxNum(cb.NTx)
		if e.clustered {
			if err := cluster.MergesIn(ctx, e.db, cb.FirstTx, end, func(a, b btc.AddrID) {
				c.merges = append(c.merges, [2]btc.AddrID{a, b})
			}); err != nil {
				return err
			}
		}
		u := undoRecord{Hash: cb.Hash, FirstTx: cb.FirstTx, Addrs: slices.Compact(c.addrs), Merges: c.merges}
		e.enc.Reset()
		u.encode(&e.enc)
		e.b.Set(keyUndo(h), slices.Clone(e.enc.Get()))
	}
	if old := tip - UndoBlocks; old >= 0 && h == tip {
		e.b.DeleteRange(keyUndo(0), keyUndo(old+1))
	}
	c.addrs = c.addrs[:0]
	return nil
}

// rollback undoes the processed blocks that left the best chain, from
// their undo records: the vectors of their transactions' outputs go, the
// aggregates their flows reached are recomputed from the transactions
// that remain, and the state steps back to the fork, in one batch. The
// attribution check and run then bring exposure to the new tip as after
// any block. ok is false, with the reason, when the records cannot: a
// fork deeper than UndoBlocks, standalone transactions (their exposure
// is not kept per block), or more to recompute than an incremental
// update's budget.
func (e *engine) rollback(ctx context.Context) (ok bool, why string, err error) {
	tip := e.db.Tip()
	if e.st.DetachedDone != 0 || tip.NextDetachedTx != 0 {
		return false, "reorg with standalone transactions", nil
	}
	var u undoRecord
	read := func(h int64) (bool, error) {
		v, err := e.db.StageGet(keyUndo(h))
		if err != nil || v == nil {
			return false, err
		}
		return true, u.decode(v)
	}
	// The fork: the highest processed block still on the best chain.
	fork, t0 := int64(-1), e.st.NextTx
	var forkHash btc.Hash
	for h := e.st.Height; h >= 0; h-- {
		ok, err := read(h)
		if err != nil {
			return false, "", err
		}
		if !ok {
			return false, fmt.Sprintf("reorg deeper than the %d blocks kept for undo", UndoBlocks), nil
		}
		if h <= tip.Height {
			cb, err := e.db.ChainBlock(btc.Height(h))
			if err != nil {
				return false, "", err
			}
			if cb.Hash == u.Hash {
				fork, forkHash = h, u.Hash
				break
			}
		}
		t0 = u.FirstTx
	}
	if fork < 0 {
		return false, "reorg below the first block", nil
	}
	// The addresses the undone blocks' flows reached, and the forest the
	// stored attribution (54) was computed with: the merges below t0 and
	// those of the undone blocks, so that incremental finds the members
	// that left labelled entities.
	addrs := map[btc.AddrID]bool{}
	var merges [][2]btc.AddrID
	n := int(tip.NextAddr)
	for h := fork + 1; h <= e.st.Height; h++ {
		if _, err := read(h); err != nil {
			return false, "", err
		}
		for _, m := range u.Merges {
			merges = append(merges, m)
			n = max(n, int(m[0])+1, int(m[1])+1)
		}
		for _, a := range u.Addrs {
			if uint64(a) < uint64(tip.NextAddr) {
				addrs[a] = true
			} else {
				e.gone = append(e.gone, a) // the index deleted it: so does exposure
			}
		}
	}
	if e.clustered {
		old, err := cluster.LoadBelow(ctx, e.db, t0, n)
		if err != nil {
			return false, "", err
		}
		for _, m := range merges {
			old.Union(uint32(m[0]), uint32(m[1]))
		}
		e.old = old
		e.closers = append(e.closers, old.Close)
	}
	undone := e.st.Height - fork
	e.st.Height, e.st.Tip, e.st.NextTx = fork, forkHash, t0
	e.st.HasLog = false // the stored attribution was not computed with the merges below t0 alone
	e.b = e.db.NewStageBatch()
	defer func() {
		e.b.Close()
		e.b = nil
		e.only, e.aggs, e.gone = nil, nil, nil
	}()
	e.b.DeleteRange(key64(pVector, uint64(btc.MakeOutRef(t0, 0))), key64(pVector, uint64(btc.MakeOutRef(index.DetachedBase, 0))))
	e.b.DeleteRange(keyUndo(fork+1), []byte{pUndo + 1})
	for _, a := range e.gone {
		e.b.Delete(key64(pAgg, uint64(a)))
	}
	e.since = btc.TxNum(math.MaxUint64) // every vector is in the store
	budget, _ := e.touchBudget()
	if ok, err := e.reaggregate(ctx, addrs, budget); err != nil || !ok {
		return false, fmt.Sprintf("reorg touching more than %d transactions", budget), err
	}
	e.b.Set([]byte{pState}, e.st.encode())
	if err := e.b.Commit(); err != nil {
		return false, "", fmt.Errorf("risk: roll back to height %d: %w", fork, err)
	}
	e.sum.RolledBack = undone
	e.rolledBack = true
	e.log.Info("exposure rolled back", "to_height", fork, "blocks", undone, "addresses", len(addrs))
	return true, "", nil
}
