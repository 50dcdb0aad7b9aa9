package index

import (
	"fmt"

	"github.com/cockroachdb/pebble/v2"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// SpendStatus is whether an output is spent, as far as the index can
// tell: an output of a standalone block (transaction number from
// DetachedBase) that no indexed input spends may well be spent in a block
// after it that was never ingested, so its status is unknown rather than
// unspent.
type SpendStatus uint8

const (
	// Unspent: no input of the best chain spends it (unspent at the tip).
	Unspent SpendStatus = iota
	// Spent: an indexed input spends it.
	Spent
	// SpendUnknown: an output of a standalone block that no indexed input
	// spends; the blocks after it are not indexed.
	SpendUnknown
)

var spendNames = [...]string{Unspent: "no", Spent: "yes", SpendUnknown: "unknown"}

// String returns "yes", "no" or "unknown".
func (s SpendStatus) String() string {
	if int(s) < len(spendNames) {
		return spendNames[s]
	}
	return "invalid"
}

// MarshalText writes the status as String does (JSON "yes", "no" or
// "unknown").
func (s SpendStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads what MarshalText writes (a client of the API
// decodes transaction views).
func (s *SpendStatus) UnmarshalText(b []byte) error {
	for i, n := range spendNames {
		if n == string(b) {
			*s = SpendStatus(i)
			return nil
		}
	}
	return fmt.Errorf("index: spend status %q: want yes, no or unknown", b)
}

// spendStatus is the status of an output of transaction num that is
// spent (or not) by the index's spend keys.
func spendStatus(num btc.TxNum, spent bool) SpendStatus {
	switch {
	case spent:
		return Spent
	case num >= DetachedBase:
		return SpendUnknown
	}
	return Unspent
}

// Spend returns whether output ref is spent and, when it is, the input
// that spends it.
func (db *DB) Spend(ref btc.OutRef) (btc.InRef, SpendStatus, error) {
	in, ok, err := db.SpentBy(ref)
	if err != nil {
		return 0, Unspent, err
	}
	return in, spendStatus(ref.Tx(), ok), nil
}

// unknownOutputs counts the outputs paid to address id in standalone
// blocks whose spend is unknown (see SpendStatus). Best-chain rows sort
// first (keyAddrTx orders by transaction number), so only the address's
// standalone rows are read.
func (db *DB) unknownOutputs(id btc.AddrID) (uint64, error) {
	lo := keyAddrTx(nil, id, DetachedBase)
	it, err := db.r.NewIter(&pebble.IterOptions{LowerBound: lo, UpperBound: prefixEnd(lo[:9])})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	var n uint64
	var tr txRecord
	for ok := it.First(); ok; ok = it.Next() {
		num := btc.TxNum(decodeBE64(it.Key()[9:]))
		v, err := db.get(keyTx(num))
		if err != nil {
			return 0, err
		}
		if v == nil {
			return 0, corrupt("address history", fmt.Errorf("tx %d missing", num))
		}
		if err := tr.decode(v, true); err != nil {
			return 0, err
		}
		for vout, o := range tr.Outs {
			if o.Addr != id {
				continue
			}
			_, spent, err := db.SpentBy(btc.MakeOutRef(num, uint32(vout)))
			if err != nil {
				return 0, err
			}
			if !spent {
				n++
			}
		}
	}
	return n, it.Error()
}
