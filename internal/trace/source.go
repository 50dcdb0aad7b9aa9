package trace

import (
	"context"

	"fmt"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// readTxid reads transaction txid.
func readTxid(db *index.DB, txid btc.Hash) (btc.TxNum, *coinjoin.Tx, error) {
	num, err := db.TxNum(txid)
	if err != nil {
		return 0, nil, err
	}
	var tx coinjoin.Tx
	if err := db.ReadTx(num, &tx); err != nil {
		return 0, nil, err
	}
	return num, &tx, nil
}

// FromOutput returns output vout of txid, whole value tainted.
func FromOutput(db *index.DB, txid btc.Hash, vout uint32) ([]Taint, error) {
	num, tx, err := readTxid(db, txid)
	if err != nil {
		return nil, err
	}
	if int(vout) >= len(tx.Outs) {
		return nil, fmt.Errorf("%w: %s has %d outputs, no %d", ErrSource, txid, len(tx.Outs), vout)
	}
	return []Taint{{Out: btc.MakeOutRef(num, vout), Sats: tx.Outs[vout].Value}}, nil
}

// FromTx returns every output of transaction txid (with a value and an
// address), whole value tainted.
func FromTx(db *index.DB, txid btc.Hash) ([]Taint, error) {
	num, tx, err := readTxid(db, txid)
	if err != nil {
		return nil, err
	}
	var out []Taint
	for j, o := range tx.Outs {
		if o.Value > 0 && o.Addr != btc.NoAddr {
			out = append(out, Taint{Out: btc.MakeOutRef(num, uint32(j)), Sats: o.Value})
		}
	}
	return out, nil
}

// FromAddress returns every output address a ever received, spent or not,
// whole value tainted: forward tracing of a theft or ransom address
// follows the money paid into it. An output both received and later
// re-received through the address's own spends is counted once (Trace
// caps the taint of an output at its value).
func FromAddress(db *index.DB, a btc.AddrID) ([]Taint, error) {
	var nums []btc.TxNum
	if err := db.AddrTxNums(a, func(n btc.TxNum) bool { nums = append(nums, n); return true }); err != nil {
		return nil, err
	}
	var out []Taint
	var tx coinjoin.Tx
	for _, n := range nums {
		if err := db.ReadTx(n, &tx); err != nil {
			return nil, err
		}
		for j, o := range tx.Outs {
			if o.Addr == a && o.Value > 0 {
				out = append(out, Taint{Out: btc.MakeOutRef(n, uint32(j)), Sats: o.Value})
			}
		}
	}
	return out, nil
}

// FromEntity returns what every address of the entity received (see
// FromAddress), skipping outputs paid by the entity to itself (change,
// consolidation): taint starts where money came in.
func FromEntity(ctx context.Context, db *index.DB, entity uint64) ([]Taint, error) {
	var addrs []btc.AddrID
	err := cluster.Members(ctx, db, entity, 0, true, func(a btc.AddrID) bool { addrs = append(addrs, a); return true })
	if err != nil {
		return nil, err
	}
	var out []Taint
	var tx coinjoin.Tx
	seen := map[btc.TxNum]bool{}
	for _, a := range addrs {
		var nums []btc.TxNum
		if err := db.AddrTxNums(a, func(n btc.TxNum) bool { nums = append(nums, n); return true }); err != nil {
			return nil, err
		}
		for _, n := range nums {
			if seen[n] {
				continue
			}
			seen[n] = true
			if err := db.ReadTx(n, &tx); err != nil {
				return nil, err
			}
			internal := false
			for _, in := range tx.Ins {
				if in.Addr != btc.NoAddr {
					e, err := cluster.EntityOf(db, in.Addr)
					if err != nil {
						return nil, err
					}
					if e == entity {
						internal = true
						break
					}
				}
			}
			if internal {
				continue
			}
			for j, o := range tx.Outs {
				if o.Addr == btc.NoAddr || o.Value <= 0 {
					continue
				}
				e, err := cluster.EntityOf(db, o.Addr)
				if err != nil {
					return nil, err
				}
				if e == entity {
					out = append(out, Taint{Out: btc.MakeOutRef(n, uint32(j)), Sats: o.Value})
				}
			}
		}
	}
	return out, nil
}

// ParseSource builds sources from what a user typed: TXID:VOUT (one
// output), a txid (all its outputs), an entity id (a decimal number:
// everything it received from others), or an address (everything it
// received).
func ParseSource(ctx context.Context, db *index.DB, s string) ([]Taint, error) {
	s = strings.TrimSpace(s)
	var out []Taint
	var err error
	switch {
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		h, herr := btc.ParseHash(s[:i])
		if herr != nil {
			return nil, herr
		}
		v, verr := strconv.ParseUint(s[i+1:], 10, 32)
		if verr != nil || v > btc.MaxIndex {
			return nil, fmt.Errorf("%w: bad output index in %q", ErrSource, s)
		}
		out, err = FromOutput(db, h, uint32(v))
	case len(s) == 2*btc.HashSize:
		h, herr := btc.ParseHash(s)
		if herr != nil {
			return nil, herr
		}
		out, err = FromTx(db, h)
	case isDigits(s):
		e, perr := strconv.ParseUint(s, 10, 64)
		if perr != nil {
			return nil, fmt.Errorf("%w: %q", ErrSource, s)
		}
		out, err = FromEntity(ctx, db, e)
	default:
		a, aerr := db.AddrID(s)
		if aerr != nil {
			return nil, aerr
		}
		out, err = FromAddress(db, a)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no outputs to trace", ErrSource, s)
	}
	return out, nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
