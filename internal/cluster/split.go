package cluster

import (
	"context"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Clone returns a copy of f.
func (f *Forest) Clone() *Forest {
	return &Forest{parent: slices.Clone(f.parent), next: slices.Clone(f.next)}
}

// LogSum identifies the merges logged for the transactions below a bound:
// their number and an order-independent checksum of their address pairs.
// Two equal LogSums of one store say, but for a 2^-64 chance, that the
// log below the bound did not change between them (no reorg, rebuild or
// investigator's decision rewrote it).
type LogSum struct {
	Merges uint64
	Sum    uint64
}

func (s *LogSum) add(a, b btc.AddrID) {
	s.Merges++
	x := uint64(a)<<32 ^ uint64(b) ^ 0x9e3779b97f4a7c15
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	s.Sum += x
}

// Forests is what LoadSplit returns.
type Forests struct {
	// Before is the forest of the merges logged for transactions below
	// the first bound; Forest that of every merge (as Load returns).
	Before, Forest *Forest
	// BelowFirst and BelowSecond sum the merges logged for transactions
	// below each bound.
	BelowFirst, BelowSecond LogSum
}

// LoadSplit replays the merge log once and returns the forest as it was
// before the merges of transactions at or above first, the forest of the
// whole log, and the LogSums of the merges below first and below second.
// It costs one replay and one copy of the forest. Exposure (package risk)
// uses it to tell which addresses a block's merges moved between
// entities.
func LoadSplit(ctx context.Context, db *index.DB, first, second btc.TxNum) (*Forests, error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	naddr := int(db.Tip().NextAddr)
	sp := &Forests{Before: NewForest(naddr)}
	f := sp.Before
	var m mergeRecord
	err := db.StageScan(ctx, []byte{pMerge}, []byte{pMerge + 1}, func(k, v []byte) (bool, error) {
		if err := m.decode(v, false); err != nil {
			return false, err
		}
		if uint64(m.A) >= uint64(naddr) || uint64(m.B) >= uint64(naddr) {
			return false, corrupt("merge", fmt.Errorf("address ids %d, %d beyond the index's %d", m.A, m.B, naddr))
		}
		tx := btc.TxNum(be64(k[1:]))
		if tx >= first && sp.Forest == nil {
			sp.Forest = f.Clone()
			f = sp.Forest
		}
		if tx < first {
			sp.BelowFirst.add(m.A, m.B)
		}
		if tx < second {
			sp.BelowSecond.add(m.A, m.B)
		}
		f.Union(uint32(m.A), uint32(m.B))
		return true, nil
	})
	if err != nil {
		return nil, err
	}
	if sp.Forest == nil {
		sp.Forest = f.Clone()
	}
	return sp, nil
}
