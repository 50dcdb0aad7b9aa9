package watch

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// maxLists is how many lists a Set holds: a list's index fits the low 16
// bits of an entry.
const maxLists = 1 << 16

// Set is every watchlist compiled for matching: 8 bytes per watched
// address. An entry is a uint64 with the list's index in the low 16 bits:
//
//	seen:   address id << 16 | list   (addresses already in the index)
//	unseen: fingerprint  << 16 | list (48-bit FNV-1a of the key of an
//	        address not yet on chain, confirmed with Store.Has on a match)
//
// Both are sorted, so a lookup is a binary search and no map or string is
// built. Addresses with ids at or above the watermark appeared after
// Compile: MatchTx looks their key up once and moves a confirmed unseen
// address to seen.
type Set struct {
	Lists     []List
	seen      []uint64
	unseen    []uint64
	watermark btc.AddrID
	db        *index.DB
	store     Store
}

// Compile loads every list of st, resolving addresses to ids in db and
// expanding watched entities to their current members.
func Compile(ctx context.Context, db *index.DB, st Store) (*Set, error) {
	lists, err := st.Lists(ctx)
	if err != nil {
		return nil, err
	}
	if len(lists) > maxLists {
		return nil, fmt.Errorf("%d watchlists: at most %d", len(lists), maxLists)
	}
	s := &Set{Lists: lists, watermark: db.Tip().NextAddr, db: db, store: st}
	for li := range lists {
		l := &lists[li]
		err := st.Addresses(ctx, l.ID, func(k address.Key) error {
			id, err := db.AddrIDOfKey(k)
			switch {
			case err == nil:
				s.seen = append(s.seen, uint64(id)<<16|uint64(li))
			case errors.Is(err, index.ErrNotFound):
				s.unseen = append(s.unseen, fingerprint(k)<<16|uint64(li))
			default:
				return fmt.Errorf("watchlist %q address %s: %w", l.Name, k, err)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		for _, e := range l.Entities {
			err := cluster.Members(ctx, db, e, 0, true, func(a btc.AddrID) bool {
				s.seen = append(s.seen, uint64(a)<<16|uint64(li))
				return true
			})
			if err != nil {
				return nil, fmt.Errorf("watchlist %q entity %d: %w", l.Name, e, err)
			}
		}
	}
	s.finish()
	return s, nil
}

func (s *Set) finish() {
	slices.Sort(s.seen)
	s.seen = slices.Compact(s.seen)
	slices.Sort(s.unseen)
	s.unseen = slices.Compact(s.unseen)
}

// Len returns how many (address, list) pairs the set watches, and how many
// of them are not yet on chain.
func (s *Set) Len() (total, unseen int) { return len(s.seen) + len(s.unseen), len(s.unseen) }

// Bytes returns the memory the set's arrays hold.
func (s *Set) Bytes() int { return 8 * (cap(s.seen) + cap(s.unseen)) }

// fingerprint is the top 48 bits of the FNV-1a hash of k's bytes.
func fingerprint(k address.Key) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range k.Bytes() {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h >> 16
}

// find returns the position of the first entry of sorted a whose high 48
// bits are x.
func find(a []uint64, x uint64) int {
	lo, hi := 0, len(a)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if a[m]>>16 < x {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// Hit is a watched address paid (In) or spending (Out) in a transaction;
// Value sums its outputs (or inputs) there. List indexes Set.Lists.
type Hit struct {
	List  uint16
	Dir   Direction
	Addr  btc.AddrID
	Tx    btc.TxNum
	Value uint64
}

// MatchTx appends tx's hits to hits. It allocates nothing unless hits
// grows; it reads the store only for addresses newer than the watermark,
// and only while some watched address is not yet on chain.
func (s *Set) MatchTx(tx *coinjoin.Tx, hits []Hit) ([]Hit, error) {
	start := len(hits)
	var err error
	for i := range tx.Ins {
		in := &tx.Ins[i]
		if in.Addr == btc.NoAddr || in.Coinbase {
			continue
		}
		v := uint64(0)
		if in.Value > 0 {
			v = uint64(in.Value)
		}
		if hits, err = s.match(in.Addr, Out, v, tx.Num, hits, start); err != nil {
			return hits, err
		}
	}
	for i := range tx.Outs {
		o := &tx.Outs[i]
		if o.Addr == btc.NoAddr {
			continue
		}
		if hits, err = s.match(o.Addr, In, uint64(max(o.Value, 0)), tx.Num, hits, start); err != nil {
			return hits, err
		}
	}
	return hits, nil
}

func (s *Set) match(a btc.AddrID, dir Direction, v uint64, tx btc.TxNum, hits []Hit, start int) ([]Hit, error) {
	if a >= s.watermark && len(s.unseen) > 0 {
		if err := s.resolve(a); err != nil {
			return hits, err
		}
	}
	for i := find(s.seen, uint64(a)); i < len(s.seen) && s.seen[i]>>16 == uint64(a); i++ {
		li := uint16(s.seen[i])
		found := false
		for j := start; j < len(hits); j++ {
			if h := &hits[j]; h.List == li && h.Addr == a && h.Dir == dir {
				h.Value += v
				found = true
				break
			}
		}
		if !found {
			hits = append(hits, Hit{List: li, Dir: dir, Addr: a, Tx: tx, Value: v})
		}
	}
	return hits, nil
}

// resolve checks a new address against the unseen fingerprints and moves
// confirmed matches to seen.
func (s *Set) resolve(a btc.AddrID) error {
	s.watermark = a + 1
	k, err := s.db.AddrKey(a)
	if err != nil {
		return fmt.Errorf("watch: key of new address %d: %w", a, err)
	}
	fp := fingerprint(k)
	for i := find(s.unseen, fp); i < len(s.unseen) && s.unseen[i]>>16 == fp; i++ {
		li := uint16(s.unseen[i])
		ok, err := s.store.Has(s.Lists[li].ID, k)
		if err != nil {
			return err
		}
		if ok {
			e := uint64(a)<<16 | uint64(li)
			if j, dup := slices.BinarySearch(s.seen, e); !dup {
				s.seen = slices.Insert(s.seen, j, e)
			}
		}
	}
	return nil
}

// MatchBlocks matches the best-chain blocks at heights [from, to] in
// order, calling fn with each block and its hits (valid only during the
// call).
func (s *Set) MatchBlocks(ctx context.Context, from, to btc.Height, fn func(b *index.ChainBlock, hits []Hit) error) error {
	var hits []Hit
	for h := from; h <= to; h++ {
		b, err := s.db.ChainBlock(h)
		if err != nil {
			return err
		}
		hits = hits[:0]
		if err := s.db.ScanTxs(ctx, b.FirstTx, b.FirstTx+btc.TxNum(b.NTx), func(tx *coinjoin.Tx) error {
			var err error
			hits, err = s.MatchTx(tx, hits)
			return err
		}); err != nil {
			return fmt.Errorf("watch: block %d: %w", h, err)
		}
		if err := fn(&b, hits); err != nil {
			return err
		}
		if h == to {
			break // to may be the largest Height
		}
	}
	return nil
}
