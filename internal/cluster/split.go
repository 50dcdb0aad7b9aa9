package cluster

import (
	"context"
	"errors"
	"runtime"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Clone returns a copy of f: in scratch files in the same directory when
// f is mapped, on the heap otherwise.
func (f *Forest) Clone() (*Forest, error) {
	if f.m == nil {
		return &Forest{parent: slices.Clone(f.parent), next: slices.Clone(f.next)}, nil
	}
	g, err := NewScratchForest(f.m.dir, f.Len())
	if err != nil {
		return nil, err
	}
	copy(g.parent, f.parent)
	copy(g.next, f.next)
	runtime.KeepAlive(f)
	return g, nil
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

// Forests is what LoadSplit returns. Close frees the forests' scratch
// files.
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
// entities. Large forests are scratch files beside the store (as Load's).
func LoadSplit(ctx context.Context, db *index.DB, first, second btc.TxNum) (_ *Forests, err error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	before, err := NewScratchForest(db.Dir(), int(db.Tip().NextAddr))
	if err != nil {
		return nil, err
	}
	sp := &Forests{Before: before}
	defer func() {
		if err != nil {
			sp.Close()
		}
	}()
	sum := func(tx btc.TxNum, a, b btc.AddrID) {
		if tx < first {
			sp.BelowFirst.add(a, b)
		}
		if tx < second {
			sp.BelowSecond.add(a, b)
		}
	}
	split := keyMerge(pMerge, first, 0)
	if _, err := replayRange(ctx, db, sp.Before, []byte{pMerge}, split, sum); err != nil {
		return nil, err
	}
	if sp.Forest, err = sp.Before.Clone(); err != nil {
		return nil, err
	}
	if _, err := replayRange(ctx, db, sp.Forest, split, []byte{pMerge + 1}, sum); err != nil {
		return nil, err
	}
	return sp, nil
}

// Close frees both forests (see Forest.Close).
func (s *Forests) Close() error {
	var err error
	for _, f := range []*Forest{s.Before, s.Forest} {
		if f != nil {
			err = errors.Join(err, f.Close())
		}
	}
	return err
}
