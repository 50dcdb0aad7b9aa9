package risk

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Flow is one row of an address's stored exposure aggregate (keyspace
// 53) as exports read it: what the address received from (or paid to) a
// category, directly or indirectly, with the fewest hops and the labelled
// address and hop-1 transaction of the biggest contribution.
type Flow struct {
	Category  Category
	Direction Direction
	Indirect  bool
	Sats      uint64
	MinHops   uint8
	Source    btc.AddrID
	SourceTx  btc.TxNum
}

// EachAggregate calls fn with every address that has stored exposure, in
// address id order, and its rows (reused between calls: fn must not keep
// them). It returns ErrNotComputed when exposure was never computed.
func EachAggregate(ctx context.Context, db *index.DB, fn func(btc.AddrID, []Flow) error) error {
	if _, err := ReadStatus(db); err != nil {
		return err
	}
	var rows []Flow
	return db.StageScan(ctx, []byte{pAgg}, []byte{pAgg + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 9 {
			return false, corrupt("aggregate key", fmt.Errorf("%x", k))
		}
		a, err := decodeAggregate(v)
		if err != nil {
			return false, err
		}
		rows = rows[:0]
		for _, f := range a {
			rows = append(rows, Flow{Category: f.Cat, Direction: f.Dir, Indirect: f.Indirect, Sats: f.Sats,
				MinHops: f.MinHops, Source: f.Src, SourceTx: f.SrcTx})
		}
		return true, fn(btc.AddrID(binary.BigEndian.Uint64(k[1:])), rows)
	})
}
