package index

import (
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// NoHeight marks a standalone block whose coinbase does not state its height
// (blocks before BIP34).
const NoHeight btc.Height = 1<<32 - 1

// coinbaseHeight reads the BIP34 height push at the start of a coinbase
// scriptSig; ok is false when there is none.
func coinbaseHeight(blk *blockfile.Block) (btc.Height, bool) {
	if blk.Header.Version < 2 || len(blk.Txs) == 0 || len(blk.Txs[0].Ins) != 1 {
		return 0, false
	}
	s := blk.Txs[0].Ins[0].ScriptSig
	if len(s) < 2 || s[0] < 1 || s[0] > 4 || len(s) < 1+int(s[0]) {
		return 0, false
	}
	var h uint32
	for i := int(s[0]); i >= 1; i-- {
		h = h<<8 | uint32(s[i])
	}
	return btc.Height(h), true
}

// connectDetached indexes a standalone block whose parents are absent.
// Inputs resolve against the same block and any indexed transaction; the
// rest keep their outpoint, the address the spend reveals if any, and an
// unknown value (B4). It touches neither the UTXO set nor the best chain.
func (w *writer) connectDetached(blk *blockfile.Block, header []byte, source string) error {
	height, ok := coinbaseHeight(blk)
	if !ok {
		height = NoHeight
	}
	base := DetachedBase + w.st.NextDetachedTx
	rec := blockRecord{Hash: blk.Hash, Height: height, FirstTx: base, NTx: uint64(len(blk.Txs)),
		Size: uint64(blk.Size), Weight: uint64(blk.Weight), FirstAddr: w.st.NextAddr, Source: source}
	copy(rec.Header[:], header)
	inBlock := make(map[btc.Hash]int, len(blk.Txs)) // txid -> index in block
	outIDs := make([][]btc.AddrID, len(blk.Txs))
	var tr txRecord
	for ti := range blk.Txs {
		tx := &blk.Txs[ti]
		num := base + btc.TxNum(ti)
		w.agg.reset()
		head := txRecord{TxID: tx.TxID, Height: height, Version: uint32(tx.Version), LockTime: tx.LockTime,
			Size: uint64(tx.Size), Weight: uint64(tx.Weight()), BlockHash: blk.Hash}
		e := &w.enc
		e.Reset()
		head.encodeHead(e, true)
		e.PutUvarint(uint64(len(tx.Ins)))
		for vin := range tx.Ins {
			in := &tx.Ins[vin]
			if ti == 0 && tx.IsCoinbase() {
				e.PutByte(inCoinbase)
				continue
			}
			ref, value, addr, typ, found := btc.OutRef(0), btc.UnknownAmount, btc.NoAddr, address.NonStandard, false
			if j, ok := inBlock[in.PrevTxID]; ok && int(in.PrevVout) < len(blk.Txs[j].Outs) {
				ref = btc.MakeOutRef(base+btc.TxNum(j), in.PrevVout)
				value = btc.Amount(blk.Txs[j].Outs[in.PrevVout].Value)
				addr, found = outIDs[j][in.PrevVout], true
				typ, _ = address.Classify(blk.Txs[j].Outs[in.PrevVout].Script)
			} else if n, err := w.db.lookupTxNum(in.PrevTxID, &tr); err == nil && int(in.PrevVout) < len(tr.Outs) {
				o := tr.Outs[in.PrevVout]
				ref, value, addr, typ, found = btc.MakeOutRef(n, in.PrevVout), o.Value, o.Addr, o.Type, true
			}
			if found {
				// Best-chain outputs keep best-chain spends only (X4).
				if ref.Tx() >= DetachedBase {
					w.ops.Set(keySpend(nil, ref), binary.AppendUvarint(nil, uint64(btc.MakeInRef(num, uint32(vin)))))
				}
				encodeIn(e, &txIn{Kind: inResolved, Prev: ref, Value: value, Addr: addr, Type: typ})
				if addr != btc.NoAddr {
					w.agg.add(addr, 0, uint64(value), 0)
				}
				continue
			}
			if k, ok := address.InputKey(in.ScriptSig, in.Witness); ok {
				id, err := w.addrID(&k)
				if err != nil {
					return err
				}
				addr, typ = id, k.Kind()
				w.agg.add(addr, 0, 0, 1)
			}
			encodeIn(e, &txIn{Kind: inUnresolved, PrevTxID: in.PrevTxID, PrevVout: in.PrevVout, Value: btc.UnknownAmount, Addr: addr, Type: typ})
		}
		e.PutUvarint(uint64(len(tx.Outs)))
		ids := make([]btc.AddrID, len(tx.Outs))
		for vout := range tx.Outs {
			o := &tx.Outs[vout]
			typ, k := address.Classify(o.Script)
			id := btc.NoAddr
			if k.Len() > 0 {
				var err error
				if id, err = w.addrID(&k); err != nil {
					return err
				}
				w.agg.add(id, uint64(o.Value), 0, 0)
			}
			ids[vout] = id
			encodeOut(e, &txOut{Value: btc.Amount(o.Value), Type: typ, Addr: id})
		}
		outIDs[ti] = ids
		inBlock[tx.TxID] = ti
		w.ops.Set(keyTx(num), e.Get())
		w.ops.Set(keyTxID(nil, tx.TxID, num), nil)
		w.flushAgg(num)
	}
	w.val.Reset()
	rec.encode(&w.val)
	w.ops.Set(keyHash(pDetached, blk.Hash), w.val.Get())
	w.ops.Set(keyDetachedH(height, blk.Hash), nil)
	w.st.NextDetachedTx += btc.TxNum(len(blk.Txs))
	w.st.DetachedBlocks++
	w.st.DetachedTxs += uint64(len(blk.Txs))
	return nil
}

// lookupTxNum finds the transaction with txid id, preferring the best chain
// over standalone blocks, and decodes it into tr.
func (db *DB) lookupTxNum(id btc.Hash, tr *txRecord) (btc.TxNum, error) {
	lo := keyTxID(nil, id, 0)
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo[:1+txIDPrefixSize], UpperBound: prefixEnd(lo[:1+txIDPrefixSize])})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	for ok := it.First(); ok; ok = it.Next() {
		n := btc.TxNum(decodeBE64(it.Key()[1+txIDPrefixSize:]))
		v, err := db.get(keyTx(n))
		if err != nil {
			return 0, err
		}
		if v == nil {
			return 0, corrupt("txid index", fmt.Errorf("tx %d missing", n))
		}
		if err := tr.decode(v, n >= DetachedBase); err != nil {
			return 0, err
		}
		if tr.TxID == id {
			return n, nil
		}
	}
	return 0, ErrNotFound
}
