package cluster

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"sync/atomic"

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

// logRewrites counts, in this process, the updates that deleted logged
// merges (a reorg's or an override's undo, a rebuild). A SplitCache that
// saw another count reloads: the log below its bound may have changed.
var logRewrites atomic.Uint64

// SplitCache answers LoadSplit for a store's successive updates without
// replaying the whole merge log each time: it keeps the two forests it
// last returned (the merges below that call's first and second bounds)
// and brings them forward by the merges logged since. The pipeline keeps
// one for exposure, whose every block needs the forest before and after
// that block's merges.
//
// It serves a call from memory only when nothing can have rewritten the
// log below its bound: the same store, no update of this process deleted
// merges since (logRewrites; the store's lock keeps other processes out),
// no standalone transactions (their merges sort above every best-chain
// one, and Before leaves them out), the call starts at the bound the
// previous one ended at, and the cluster state's merge count equals the
// merges the cache then holds. Otherwise it replays the whole log as
// LoadSplit does. It is not safe for concurrent use, and the forests it
// returns are valid until the next call.
type SplitCache struct {
	db          *index.DB
	rewrites    uint64
	before, cur *Forest   // the merges below lag and below next
	lag, next   btc.TxNum // lag <= next
	sum         LogSum    // of the merges below next
	// Hits and Loads count the calls served from memory and by a replay
	// of the whole log.
	Hits, Loads int
}

// LoadSplit is cluster.LoadSplit, from memory when it can. The forests
// it returns belong to the cache: the caller must not close them.
func (c *SplitCache) LoadSplit(ctx context.Context, db *index.DB, first, second btc.TxNum) (*Forests, error) {
	st, err := readState(db)
	if err != nil {
		return nil, err
	}
	tip := db.Tip()
	if c.cur != nil && c.db == db && db != nil && c.rewrites == logRewrites.Load() && tip.NextDetachedTx == 0 &&
		first == c.next && second >= first {
		sp, err := c.advance(ctx, db, st, first, second)
		if err != nil || sp != nil {
			if err != nil {
				c.Close()
			} else {
				c.Hits++
			}
			return sp, err
		}
	}
	c.Close()
	c.Loads++
	rewrites := logRewrites.Load()
	sp, err := LoadSplit(ctx, db, first, second)
	if err != nil {
		return nil, err
	}
	// The cache owns what it returns (freed by the next call or Close),
	// and serves the next call from it only when nothing below sorts
	// above the bound.
	c.before, c.cur, c.lag, c.next, c.sum = sp.Before, sp.Forest, first, second, sp.BelowSecond
	c.db, c.rewrites = nil, rewrites
	if tip.NextDetachedTx == 0 && second >= first {
		c.db = db
	}
	return sp, nil
}

// Close frees the forests the cache holds (the last ones it returned).
func (c *SplitCache) Close() error {
	err := (&Forests{Before: c.before, Forest: c.cur}).Close()
	c.before, c.cur = nil, nil
	return err
}

// advance serves a call at the cache's bound: before catches up with cur
// (the previous call's range), then cur takes the merges of [first,
// second). It returns nil when the store's merge count says the cache is
// stale.
func (c *SplitCache) advance(ctx context.Context, db *index.DB, st state, first, second btc.TxNum) (*Forests, error) {
	n := int(db.Tip().NextAddr)
	if err := errors.Join(c.before.Grow(n), c.cur.Grow(n)); err != nil {
		return nil, err
	}
	if _, err := replayRange(ctx, db, c.before, keyMerge(pMerge, c.lag, 0), keyMerge(pMerge, c.next, 0), nil); err != nil {
		return nil, err
	}
	c.lag = c.next
	var add LogSum
	if _, err := replayRange(ctx, db, c.cur, keyMerge(pMerge, first, 0), keyMerge(pMerge, second, 0),
		func(_ btc.TxNum, a, b btc.AddrID) { add.add(a, b) }); err != nil {
		return nil, err
	}
	below := LogSum{Merges: c.sum.Merges + add.Merges, Sum: c.sum.Sum + add.Sum}
	if below.Merges != st.Merges {
		return nil, nil
	}
	sp := &Forests{Before: c.before, Forest: c.cur, BelowFirst: c.sum, BelowSecond: below}
	c.next, c.sum = second, below
	return sp, nil
}

// MergesIn calls fn with the address pairs of the merges logged for the
// transactions in [lo, hi), in log order.
func MergesIn(ctx context.Context, db *index.DB, lo, hi btc.TxNum, fn func(a, b btc.AddrID)) error {
	return scanMerges(ctx, db, keyMerge(pMerge, lo, 0), keyMerge(pMerge, hi, 0), func(_ btc.TxNum, m *mergeRecord) error {
		fn(m.A, m.B)
		return nil
	})
}

// LoadBelow returns the forest, over n address ids (at least the index's),
// of the merges logged for the transactions below bound; the caller
// closes it.
func LoadBelow(ctx context.Context, db *index.DB, bound btc.TxNum, n int) (*Forest, error) {
	if _, err := readState(db); err != nil {
		return nil, err
	}
	f, err := NewScratchForest(db.Dir(), max(n, int(db.Tip().NextAddr)))
	if err != nil {
		return nil, err
	}
	if _, err := replayRange(ctx, db, f, []byte{pMerge}, keyMerge(pMerge, bound, 0), nil); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
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
