package index

import (
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// disconnectTip removes the best-chain tip block and everything it wrote, so
// that the store equals one that never connected it (invariant X1 in doc.go).
// It commits on its own, durably. Reorgs are rare and short, so it favours
// plainness over speed: every read goes through an indexed batch.
func (w *writer) disconnectTip() error {
	if w.nTx != 0 || w.utxos.pending() {
		return errors.New("index: disconnect with an uncommitted batch")
	}
	h := btc.Height(w.st.Height)
	b := w.db.db.NewIndexedBatch()
	defer b.Close()
	get := func(k []byte) ([]byte, error) {
		v, c, err := b.Get(k)
		if errors.Is(err, pebble.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		out := append([]byte(nil), v...)
		c.Close()
		return out, nil
	}
	v, err := get(keyHeight(pBlock, h))
	if err != nil || v == nil {
		return fmt.Errorf("index: disconnect height %d: block record missing (%v)", h, err)
	}
	var rec blockRecord
	if err := rec.decode(v); err != nil {
		return err
	}
	type delta struct{ recv, sent, txs, unknown uint64 }
	touched := map[btc.AddrID]*delta{}
	var e encoding.Encbuf
	var tr, prev txRecord
	for num := rec.FirstTx + btc.TxNum(rec.NTx); num > rec.FirstTx; {
		num--
		v, err := get(keyTx(num))
		if err != nil || v == nil {
			return fmt.Errorf("index: disconnect tx %d: record missing (%v)", num, err)
		}
		if err := tr.decode(v, false); err != nil {
			return err
		}
		seen := map[btc.AddrID]bool{}
		touch := func(id btc.AddrID) *delta {
			d := touched[id]
			if d == nil {
				d = &delta{}
				touched[id] = d
			}
			if !seen[id] {
				seen[id] = true
				d.txs++
			}
			return d
		}
		for vout, o := range tr.Outs {
			if o.Addr != btc.NoAddr {
				touch(o.Addr).recv += uint64(o.Value)
			}
			k := keyUTXO(nil, tr.TxID, uint32(vout))
			uv, err := get(k)
			if err != nil {
				return err
			}
			if uv != nil {
				var u utxoRecord
				if err := u.decode(uv); err != nil {
					return err
				}
				if u.Ref == btc.MakeOutRef(num, uint32(vout)) {
					b.Delete(k, nil)
					w.st.UTXOs--
					w.st.UTXOValue -= uint64(o.Value)
				}
			}
		}
		for vin, in := range tr.Ins {
			if in.Kind != inResolved {
				continue
			}
			pv, err := get(keyTx(in.Prev.Tx()))
			if err != nil || pv == nil {
				return fmt.Errorf("index: disconnect tx %d input %d: spent tx %d missing (%v)", num, vin, in.Prev.Tx(), err)
			}
			if err := prev.decode(pv, false); err != nil {
				return err
			}
			po := prev.Outs[in.Prev.Vout()]
			e.Reset()
			u := utxoRecord{Ref: in.Prev, Value: in.Value, Addr: in.Addr, Type: po.Type}
			u.encode(&e)
			b.Set(keyUTXO(nil, prev.TxID, in.Prev.Vout()), e.Get(), nil)
			b.Delete(keySpend(nil, in.Prev), nil)
			w.st.UTXOs++
			w.st.UTXOValue += uint64(in.Value)
			w.st.Inputs--
			if in.Addr != btc.NoAddr {
				touch(in.Addr).sent += uint64(in.Value)
			}
		}
		// A duplicate (BIP30) coinbase overwrote an older unspent output;
		// mainnet's two cases are far below any reorg depth, so undoing
		// them is not supported.
		for id := range seen {
			b.Delete(keyAddrTx(nil, id, num), nil)
		}
		b.Delete(keyTx(num), nil)
		b.Delete(keyTxID(nil, tr.TxID, num), nil)
		w.st.Outputs -= uint64(len(tr.Outs))
	}
	// Addresses first seen in this block disappear with it.
	for id := rec.FirstAddr; id < w.st.NextAddr; id++ {
		kv, err := get(keyAddr(nil, id))
		if err != nil || kv == nil {
			return fmt.Errorf("index: disconnect address %d: key missing (%v)", id, err)
		}
		b.Delete(keyAddrKey(nil, kv), nil)
		b.Delete(keyAddr(nil, id), nil)
		b.Delete(keyAddrStats(nil, id), nil)
		delete(touched, id)
	}
	// Older addresses: subtract, and find first/last again from history.
	for id, d := range touched {
		sv, err := get(keyAddrStats(nil, id))
		if err != nil || sv == nil {
			return fmt.Errorf("index: disconnect address %d: stats missing (%v)", id, err)
		}
		var s addrStats
		if err := s.decode(sv); err != nil {
			return err
		}
		s.Received -= d.recv
		s.Sent -= d.sent
		s.TxCount -= d.txs
		lo := keyAddrTx(nil, id, 0)
		it, err := b.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo[:9])})
		if err != nil {
			return err
		}
		var unknown uint64
		var r addrTxRecord
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			num := btc.TxNum(decodeBE64(it.Key()[9:]))
			if n == 0 {
				s.First = num
			}
			s.Last = num
			if err := r.decode(it.Value()); err != nil {
				it.Close()
				return err
			}
			unknown += r.Unknown
			n++
		}
		if err := it.Close(); err != nil {
			return err
		}
		s.Unknown = unknown
		if uint64(n) != s.TxCount {
			return fmt.Errorf("index: disconnect address %d: %d history rows, stats say %d", id, n, s.TxCount)
		}
		e.Reset()
		s.encode(&e)
		b.Set(keyAddrStats(nil, id), e.Get(), nil)
	}
	b.Delete(keyHeight(pBlock, h), nil)
	b.Delete(keyHash(pBlockHash, rec.Hash), nil)
	w.st.NextTx = rec.FirstTx
	w.st.NextAddr = rec.FirstAddr
	w.st.Height = int64(h) - 1
	w.st.Tip = btc.Hash{}
	if h > 0 {
		pv, err := get(keyHeight(pBlock, h-1))
		if err != nil || pv == nil {
			return fmt.Errorf("index: disconnect: parent block %d missing (%v)", h-1, err)
		}
		var p blockRecord
		if err := p.decode(pv); err != nil {
			return err
		}
		w.st.Tip = p.Hash
	}
	e.Reset()
	w.st.encode(&e)
	b.Set(keyMeta("state"), e.Get(), nil)
	// Address ids from rec.FirstAddr on will name other keys: a saved
	// filter must not be caught up from them (X7).
	if err := w.db.dropFilter(); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index: disconnect height %d: %w", h, err)
	}
	w.db.st = w.st
	w.utxos.clear()
	w.addrs.clear()
	return nil
}

func decodeBE64(b []byte) uint64 {
	d := encoding.Decbuf{B: b}
	return d.BE64()
}
