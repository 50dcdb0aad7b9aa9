package index

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// ReadKeyspaces are the keyspaces that record how the block files were read
// (scan offsets, every scanned header with its file location, the ingest
// state) rather than what the chain is. Pass them to Digest to compare
// stores fed the same best chain through other files, or with other stale
// blocks beside it (a follower's spool against a fresh ingest).
var ReadKeyspaces = []byte{pFile, pHeader, pMeta}

// Digest returns a SHA-256 over every key and (merged) value in the store,
// in key order, skipping the keyspaces whose prefix bytes are listed. Two
// stores holding the same logical content have the same digest, however
// their batches, flushes and compactions went.
func (db *DB) Digest(ctx context.Context, skip ...byte) ([32]byte, error) {
	h := sha256.New()
	it, err := db.r.NewIter(nil)
	if err != nil {
		return [32]byte{}, err
	}
	defer it.Close()
	var lenbuf [binary.MaxVarintLen64]byte
	n := 0
next:
	for ok := it.First(); ok; ok = it.Next() {
		if n++; n%65536 == 0 {
			if err := ctx.Err(); err != nil {
				return [32]byte{}, err
			}
		}
		k := it.Key()
		for _, p := range skip {
			if len(k) > 0 && k[0] == p {
				continue next
			}
		}
		v := it.Value()
		h.Write(lenbuf[:binary.PutUvarint(lenbuf[:], uint64(len(k)))])
		h.Write(k)
		h.Write(lenbuf[:binary.PutUvarint(lenbuf[:], uint64(len(v)))])
		h.Write(v)
	}
	if err := it.Error(); err != nil {
		return [32]byte{}, err
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// CheckReport summarises a consistency check.
type CheckReport struct {
	Blocks, Txs, Outputs, Inputs, Spends, UTXOs, Addresses uint64
	Problems                                               []string
}

// OK reports whether the check found nothing wrong.
func (r *CheckReport) OK() bool { return len(r.Problems) == 0 }

func (r *CheckReport) problem(format string, args ...any) {
	if len(r.Problems) < 100 {
		r.Problems = append(r.Problems, fmt.Sprintf(format, args...))
	}
}

// Check walks the whole store with bounded memory (point reads, no maps) and verifies the invariants of doc.go:
// dense ids (X3), every spend names an existing output and an existing input
// that records it (X4), the UTXO set is exactly the unspent spendable
// best-chain outputs and the state's totals agree (X5), and every address's
// stats equal the sum of its history (X6). It is what `sleuth check`, the
// crash tests and the metamorphic tests run.
func (db *DB) Check(ctx context.Context) (*CheckReport, error) {
	r := &CheckReport{}
	st := db.st
	iter := func(p byte, fn func(k, v []byte) error) error {
		it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: key1(p), UpperBound: key1(p + 1)})
		if err != nil {
			return err
		}
		defer it.Close()
		n := 0
		for ok := it.First(); ok; ok = it.Next() {
			if n++; n%65536 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			if err := fn(it.Key(), it.Value()); err != nil {
				return err
			}
		}
		return it.Error()
	}
	// Blocks: heights 0..Height, each with consecutive tx ranges.
	var nextTx btc.TxNum
	var br blockRecord
	err := iter(pBlock, func(k, v []byte) error {
		h := int64(binary.BigEndian.Uint32(k[1:]))
		if err := br.decode(v); err != nil {
			return err
		}
		if h != int64(r.Blocks) {
			r.problem("block heights not dense: found %d, expected %d", h, r.Blocks)
		}
		if br.FirstTx != nextTx {
			r.problem("block %d: first tx %d, expected %d", h, br.FirstTx, nextTx)
		}
		nextTx = br.FirstTx + btc.TxNum(br.NTx)
		r.Blocks++
		return nil
	})
	if err != nil {
		return r, err
	}
	if int64(r.Blocks) != st.Height+1 {
		r.problem("state height %d, but %d block records", st.Height, r.Blocks)
	}
	if nextTx != st.NextTx {
		r.problem("state next tx %d, blocks end at %d", st.NextTx, nextTx)
	}
	// Transactions: dense numbers; every resolved input has its spend key;
	// outputs and inputs add up.
	var tr txRecord
	var outputs, inputs uint64
	var resolved uint64
	expectNum := btc.TxNum(0)
	err = iter(pTx, func(k, v []byte) error {
		num := btc.TxNum(binary.BigEndian.Uint64(k[1:]))
		if num < DetachedBase {
			if num != expectNum {
				r.problem("tx numbers not dense: found %d, expected %d", num, expectNum)
			}
			expectNum = num + 1
		}
		if err := tr.decode(v, num >= DetachedBase); err != nil {
			return fmt.Errorf("tx %d: %w", num, err)
		}
		r.Txs++
		if num < DetachedBase {
			outputs += uint64(len(tr.Outs))
			for _, in := range tr.Ins {
				if in.Kind == inResolved {
					inputs++
				}
			}
		}
		for vin, in := range tr.Ins {
			if in.Kind != inResolved || (num >= DetachedBase && in.Prev.Tx() < DetachedBase) {
				continue // standalone spends of best-chain outputs have no key (X4)
			}
			resolved++
			sv, err := db.get(keySpend(nil, in.Prev))
			if err != nil {
				return err
			}
			x, n := binary.Uvarint(sv)
			if n <= 0 || btc.InRef(x) != btc.MakeInRef(num, uint32(vin)) {
				r.problem("input %v spends %v but the spend key says %v", btc.MakeInRef(num, uint32(vin)), in.Prev, sv)
			}
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if expectNum != st.NextTx {
		r.problem("state next tx %d, records end at %d", st.NextTx, expectNum)
	}
	if outputs != st.Outputs || inputs != st.Inputs {
		r.problem("state outputs/inputs %d/%d, records %d/%d", st.Outputs, st.Inputs, outputs, inputs)
	}
	r.Outputs, r.Inputs = outputs, inputs
	// Spend keys mirror resolved inputs exactly: each input found its own
	// key above, so equal counts make it a bijection.
	err = iter(pSpend, func(k, v []byte) error {
		ref := btc.OutRef(binary.BigEndian.Uint64(k[1:]))
		_, n := binary.Uvarint(v)
		if n <= 0 {
			r.problem("spend %v: bad value", ref)
			return nil
		}
		r.Spends++
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.Spends != resolved {
		r.problem("%d spend keys for %d resolved inputs", r.Spends, resolved)
	}
	// UTXO set: each entry is an existing, unspent output; totals agree.
	var utxoValue uint64
	var u utxoRecord
	err = iter(pUTXO, func(k, v []byte) error {
		if err := u.decode(v); err != nil {
			return err
		}
		r.UTXOs++
		utxoValue += uint64(u.Value)
		if u.Ref.Tx() >= st.NextTx {
			r.problem("utxo %x names tx %d beyond the chain", k[1:], u.Ref.Tx())
		}
		sv, err := db.get(keySpend(nil, u.Ref))
		if err != nil {
			return err
		}
		if sv != nil {
			r.problem("utxo %v is also recorded as spent", u.Ref)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if r.UTXOs != st.UTXOs || utxoValue != st.UTXOValue {
		r.problem("state utxos %d value %d, set has %d value %d", st.UTXOs, st.UTXOValue, r.UTXOs, utxoValue)
	}
	// Addresses: ids dense, key <-> id both ways.
	err = iter(pAddr, func(k, v []byte) error {
		id := btc.AddrID(binary.BigEndian.Uint64(k[1:]))
		if id != btc.AddrID(r.Addresses) {
			r.problem("address ids not dense: found %d, expected %d", id, r.Addresses)
		}
		r.Addresses++
		back, err := db.get(keyAddrKey(nil, v))
		if err != nil {
			return err
		}
		if x, n := binary.Uvarint(back); n <= 0 || btc.AddrID(x) != id {
			r.problem("address %d: key maps back to %v", id, back)
		}
		return nil
	})
	if err != nil {
		return r, err
	}
	if btc.AddrID(r.Addresses) != st.NextAddr {
		r.problem("state next address %d, %d addresses stored", st.NextAddr, r.Addresses)
	}
	// Address stats equal the sum of their history rows.
	var cur btc.AddrID = btc.NoAddr
	var acc addrStats
	flush := func() error {
		if cur == btc.NoAddr {
			return nil
		}
		v, err := db.get(keyAddrStats(nil, cur))
		if err != nil {
			return err
		}
		var s addrStats
		if v == nil || s.decode(v) != nil || s != acc {
			r.problem("address %d: stats %+v, history sums to %+v", cur, s, acc)
		}
		return nil
	}
	var row addrTxRecord
	err = iter(pAddrTx, func(k, v []byte) error {
		id := btc.AddrID(binary.BigEndian.Uint64(k[1:]))
		num := btc.TxNum(binary.BigEndian.Uint64(k[9:]))
		if id != cur {
			if err := flush(); err != nil {
				return err
			}
			cur, acc = id, addrStats{}
		}
		if err := row.decode(v); err != nil {
			return err
		}
		acc.add(&addrStats{Received: row.Received, Sent: row.Sent, TxCount: 1, First: num, Last: num, Unknown: row.Unknown})
		return nil
	})
	if err != nil {
		return r, err
	}
	return r, flush()
}
