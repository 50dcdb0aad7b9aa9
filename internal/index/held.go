package index

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// Held outputs.
//
// A bulk path's commits keep the unspent outputs they create in the
// writer's UTXO cache only (slotHeld) and write them to the store when
// their cache generation is evicted, or at the path's last commit. On a
// simulated 10M-transaction chain 85% of the outputs written to the store
// were later spent from the cache: each was a put and then a delete in a
// keyspace of random keys, which compactions rewrote again and again as
// the store grew.
//
// Each bulk commit records, in keyspace 0E beside its state in 0F, the
// first transaction whose unspent outputs may be held (heldFrom). After a
// crash, or a batch dropped by a bad block, the store lacks the held
// outputs of the transactions from heldFrom to NextTx, and restoreHeld
// writes them back from the transaction records: an output is unspent if
// no input of that range spends it, and it enters the UTXO set unless it
// is OP_RETURN or the genesis coinbase's. An output the records cannot
// tell from a spendable one (a script over 10,000 bytes, which Bitcoin
// Core leaves out of the UTXO set) is never held across a commit: its
// batch releases every held output (writer.mustRelease).

// keyHeld is the key of the held-from record of the bulk commit that
// left NextTx at n.
func keyHeld(n uint64) []byte { return appendU64(make([]byte, 0, 9), pHeld, n) }

// loadHeld reads heldFrom: from the record of the bulk path's last commit
// when one is open, else NextTx (nothing is held).
func (db *DB) loadHeld() error {
	db.heldFrom = db.st.NextTx
	if !db.bulkOpen {
		return nil
	}
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: []byte{pHeld}, UpperBound: []byte{pHeld + 1}})
	if err != nil {
		return fmt.Errorf("index: read held outputs: %w", err)
	}
	defer it.Close()
	if !it.Last() {
		return it.Error()
	}
	k := it.Key()
	if len(k) != 9 || btc.TxNum(binary.BigEndian.Uint64(k[1:])) != db.st.NextTx {
		// Not this commit's: a store from before held outputs, which
		// wrote every output with its batch.
		return nil
	}
	v, n := binary.Uvarint(it.Value())
	if n <= 0 || n != len(it.Value()) || btc.TxNum(v) > db.st.NextTx {
		return corrupt("held-from record", encoding.ErrInvalidSize)
	}
	db.heldFrom = btc.TxNum(v)
	return nil
}

// restoreHeldBatchBytes ends one of restoreHeld's batches.
const restoreHeldBatchBytes = 32 << 20

// restoreHeld writes the held outputs a crash or a dropped batch left out
// of the store, and records that nothing is held. It reads the
// transaction records from heldFrom twice: first to find which of their
// outputs an input of the range spends, then to write the others.
// Rerunning it after a crash writes the same outputs again.
func (db *DB) restoreHeld(ctx context.Context) error {
	from, to := db.heldFrom, db.st.NextTx
	if !db.bulkOpen || from >= to {
		return nil
	}
	db.opts.Logger.Info("restoring unspent outputs held in memory when the last ingest stopped", "from_tx", from, "to_tx", to)
	first := make([]uint64, to-from) // each transaction's first output, counted from from's
	var spent []uint64               // a bit per output of the range
	var rec txRecord
	scan := func(each func(num btc.TxNum) error) error {
		it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: keyTx(from), UpperBound: keyTx(to)})
		if err != nil {
			return fmt.Errorf("index: restore held outputs: %w", err)
		}
		defer it.Close()
		want := from
		for ok := it.First(); ok; ok = it.Next() {
			if want%4096 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			k := it.Key()
			if len(k) != 9 || btc.TxNum(binary.BigEndian.Uint64(k[1:])) != want {
				return corrupt("transactions of the held range", fmt.Errorf("key %x where tx %d was due", k, want))
			}
			if err := rec.decode(it.Value(), false); err != nil {
				return err
			}
			if err := each(want); err != nil {
				return err
			}
			want++
		}
		if err := it.Error(); err != nil {
			return fmt.Errorf("index: restore held outputs: %w", err)
		}
		if want != to {
			return corrupt("transactions of the held range", fmt.Errorf("%d of %d", want-from, to-from))
		}
		return nil
	}
	var n uint64
	err := scan(func(num btc.TxNum) error {
		first[num-from] = n
		for i := range rec.Ins {
			in := &rec.Ins[i]
			p := in.Prev.Tx()
			if in.Kind != inResolved || p < from {
				continue
			}
			// A damaged record must not index past the range or into
			// another transaction's outputs.
			bad := p >= num
			if !bad {
				outs := n - first[p-from] // p's outputs: up to this tx's first
				if p+1 < num {
					outs = first[p+1-from] - first[p-from]
				}
				bad = uint64(in.Prev.Vout()) >= outs
			}
			if bad {
				return corrupt("transactions of the held range", fmt.Errorf("tx %d input %d spends %s, not an earlier output", num, i, in.Prev))
			}
			o := first[p-from] + uint64(in.Prev.Vout())
			for uint64(len(spent))*64 <= o {
				spent = append(spent, 0)
			}
			spent[o/64] |= 1 << (o % 64)
		}
		n += uint64(len(rec.Outs))
		return nil
	})
	if err != nil {
		return err
	}
	b := db.db.NewBatch()
	defer func() { b.Close() }()
	var kb []byte
	var val encoding.Encbuf
	restored := 0
	err = scan(func(num btc.TxNum) error {
		if rec.Height == 0 {
			return nil // the genesis coinbase is not spendable
		}
		for v := range rec.Outs {
			o := &rec.Outs[v]
			ord := first[num-from] + uint64(v)
			if o.Type == address.OpReturn || (ord/64 < uint64(len(spent)) && spent[ord/64]&(1<<(ord%64)) != 0) {
				continue
			}
			u := utxoRecord{Ref: btc.MakeOutRef(num, uint32(v)), Value: o.Value, Addr: o.Addr, Type: o.Type}
			kb = keyUTXO(kb[:0], rec.TxID, uint32(v))
			val.Reset()
			u.encode(&val)
			if err := b.Set(kb, val.Get(), nil); err != nil {
				return err
			}
			restored++
		}
		if b.Len() >= restoreHeldBatchBytes {
			if err := b.Commit(pebble.NoSync); err != nil {
				return fmt.Errorf("index: restore held outputs: %w", err)
			}
			b.Close()
			b = db.db.NewBatch()
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := b.Set(keyHeld(uint64(to)), binary.AppendUvarint(nil, uint64(to)), nil); err != nil {
		return err
	}
	if err := b.Commit(pebble.Sync); err != nil {
		return fmt.Errorf("index: restore held outputs: %w", err)
	}
	db.heldFrom = to
	db.opts.Logger.Info("restored held unspent outputs", "outputs", restored)
	return nil
}
