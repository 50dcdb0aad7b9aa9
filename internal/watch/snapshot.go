package watch

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/poll"
)

// Snapshot is a Store's lists and addresses held in memory, for the alert
// stage: Version, Has, Lists and Addresses answer from memory and never
// wait on the network, so matching a block costs no round trip to a
// shared store, and keeps using the last copy while that store is down.
// Follow (or Refresh) reloads the copy when the Store's Version changed;
// writes go through to the Store and then refresh the copy, so a Snapshot
// reads its own writes. It passes watchtest.Run like any Store.
//
// Memory: the keys of a list sit in one byte slice (sorted) with a
// uint32 offset per key, about 26 bytes per P2WPKH address
// (docs/BENCHMARKS.md "Watchlists").
type Snapshot struct {
	st  Store
	cur atomic.Pointer[snapState]
	mu  sync.Mutex // serialises reloads
}

var _ Store = (*Snapshot)(nil)

type snapState struct {
	version uint64
	lists   []List
	addrs   map[uint32]*keySet
	// listVer is each list's version when its addresses were loaded (nil
	// unless the Store is a ListVersioner).
	listVer map[uint32]uint64
}

// ListVersioner is a Store that also versions each list (its record and
// addresses), so that a Snapshot reloads only the lists that changed: a
// small change beside a list of millions costs a small load.
type ListVersioner interface {
	// ListVersions returns every list's version; a change of a list or
	// its addresses changes its version in the same transaction.
	ListVersions(ctx context.Context) (map[uint32]uint64, error)
}

// keySet is a sorted set of address keys: key i is buf[off[i]:off[i+1]].
type keySet struct {
	buf []byte
	off []uint32
}

func (ks *keySet) len() int {
	if ks == nil || len(ks.off) == 0 {
		return 0
	}
	return len(ks.off) - 1
}

func (ks *keySet) at(i int) []byte { return ks.buf[ks.off[i]:ks.off[i+1]] }

// search returns the index of the first key ≥ b.
func (ks *keySet) search(b []byte) int {
	return sort.Search(ks.len(), func(i int) bool { return bytes.Compare(ks.at(i), b) >= 0 })
}

// NewSnapshot loads st into memory.
func NewSnapshot(ctx context.Context, st Store) (*Snapshot, error) {
	s := &Snapshot{st: st}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Refresh reloads the copy if the Store's Version changed since the last
// load. On failure the last copy stays.
func (s *Snapshot) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, err := s.st.Version()
	if err != nil {
		return fmt.Errorf("watchlists: version: %w", err)
	}
	if v == s.cur.Load().version {
		return nil
	}
	return s.reload(ctx)
}

// reload reads the whole Store (callers hold s.mu). The version is read
// first, so a change made during the load makes the next Refresh load
// again.
func (s *Snapshot) reload(ctx context.Context) error {
	v, err := s.st.Version()
	if err != nil {
		return fmt.Errorf("watchlists: version: %w", err)
	}
	// A list keeps its loaded addresses while its version stays: the
	// version is read before the addresses, so a change after it shows
	// as a new version at the next Refresh.
	prev := s.cur.Load()
	var lv map[uint32]uint64
	if vs, ok := s.st.(ListVersioner); ok {
		if lv, err = vs.ListVersions(ctx); err != nil {
			return fmt.Errorf("watchlists: versions: %w", err)
		}
	}
	lists, err := s.st.Lists(ctx)
	if err != nil {
		return fmt.Errorf("watchlists: load: %w", err)
	}
	next := &snapState{version: v, lists: lists, addrs: make(map[uint32]*keySet, len(lists)), listVer: lv}
	for _, l := range lists {
		if old, ok := prev.keep(l.ID, lv); ok {
			next.addrs[l.ID] = old
			continue
		}
		ks := &keySet{off: []uint32{0}}
		sorted := true
		err := s.st.Addresses(ctx, l.ID, func(k address.Key) error {
			b := k.Bytes()
			if n := ks.len(); n > 0 && bytes.Compare(ks.at(n-1), b) >= 0 {
				sorted = false
			}
			ks.buf = append(ks.buf, b...)
			ks.off = append(ks.off, uint32(len(ks.buf)))
			return nil
		})
		if err != nil {
			return fmt.Errorf("watchlist %d: load addresses: %w", l.ID, err)
		}
		if !sorted {
			ks = ks.sorted()
		}
		ks.buf, ks.off = slices.Clip(ks.buf), slices.Clip(ks.off)
		next.addrs[l.ID] = ks
	}
	s.cur.Store(next)
	return nil
}

// keep returns list id's loaded addresses if its version (in lv) has not
// changed since they were loaded.
func (p *snapState) keep(id uint32, lv map[uint32]uint64) (*keySet, bool) {
	if p == nil || lv == nil || p.listVer == nil {
		return nil, false
	}
	old, had := p.addrs[id]
	pv, hadv := p.listVer[id]
	v, has := lv[id]
	if !had || !hadv || !has || pv != v {
		return nil, false
	}
	return old, true
}

// sorted returns ks in key order without duplicates.
func (ks *keySet) sorted() *keySet {
	idx := make([]int, ks.len())
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return bytes.Compare(ks.at(idx[a]), ks.at(idx[b])) < 0 })
	out := &keySet{buf: make([]byte, 0, len(ks.buf)), off: make([]uint32, 1, len(ks.off))}
	for _, i := range idx {
		if n := out.len(); n > 0 && bytes.Equal(out.at(n-1), ks.at(i)) {
			continue
		}
		out.buf = append(out.buf, ks.at(i)...)
		out.off = append(out.off, uint32(len(out.buf)))
	}
	return out
}

// Follow refreshes s every interval (default 250 ms) until ctx ends, so a
// change made on another server reaches this one within interval plus
// the load. Failures keep the last copy; onErr (when set) hears of the
// first failure of each outage.
func (s *Snapshot) Follow(ctx context.Context, interval time.Duration, onErr func(error)) {
	poll.Every(ctx, interval, s.Refresh, onErr)
}

// Bytes is the memory the copy's address keys take.
func (s *Snapshot) Bytes() int {
	n := 0
	for _, ks := range s.cur.Load().addrs {
		n += cap(ks.buf) + 4*cap(ks.off)
	}
	return n
}

// Version implements Store from memory: the Store's Version at the last
// load.
func (s *Snapshot) Version() (uint64, error) { return s.cur.Load().version, nil }

// Lists implements Store from memory.
func (s *Snapshot) Lists(ctx context.Context) ([]List, error) {
	return slices.Clone(s.cur.Load().lists), nil
}

// ByName implements Store from memory.
func (s *Snapshot) ByName(ctx context.Context, name string) (List, error) {
	for _, l := range s.cur.Load().lists {
		if l.Name == name {
			return l, nil
		}
	}
	return List{}, fmt.Errorf("watchlist %q: %w", name, ErrNotFound)
}

// Has implements Store from memory, without allocating.
func (s *Snapshot) Has(list uint32, k address.Key) (bool, error) {
	ks := s.cur.Load().addrs[list]
	b := k.Bytes()
	i := ks.search(b)
	return i < ks.len() && bytes.Equal(ks.at(i), b), nil
}

// Addresses implements Store from memory.
func (s *Snapshot) Addresses(ctx context.Context, list uint32, fn func(address.Key) error) error {
	_, err := s.page(list, nil, -1, fn)
	return err
}

// AddressPage implements Store from memory.
func (s *Snapshot) AddressPage(ctx context.Context, list uint32, after []byte, limit int) ([]address.Key, bool, error) {
	if limit <= 0 {
		return nil, false, fmt.Errorf("watchlist %d: page size %d", list, limit)
	}
	var out []address.Key
	more, err := s.page(list, after, limit, func(k address.Key) error { out = append(out, k); return nil })
	return out, more, err
}

// page calls fn with up to limit (< 0: all) keys of list after after and
// reports whether more follow.
func (s *Snapshot) page(list uint32, after []byte, limit int, fn func(address.Key) error) (bool, error) {
	ks := s.cur.Load().addrs[list]
	i := 0
	if after != nil {
		if i = ks.search(after); i < ks.len() && bytes.Equal(ks.at(i), after) {
			i++
		}
	}
	for n := 0; i < ks.len(); i, n = i+1, n+1 {
		if n == limit {
			return true, nil
		}
		k, err := address.KeyFromBytes(ks.at(i))
		if err != nil {
			return false, fmt.Errorf("%w: watchlist %d address %x: %w", ErrCorrupt, list, ks.at(i), err)
		}
		if err := fn(k); err != nil {
			return false, err
		}
	}
	return false, nil
}

// CountAddresses implements Store from memory.
func (s *Snapshot) CountAddresses(ctx context.Context, list uint32) (int, error) {
	return s.cur.Load().addrs[list].len(), nil
}

// wrote refreshes the copy after a write through to the Store; a failed
// refresh leaves it to Follow (the write itself stands).
func (s *Snapshot) wrote(ctx context.Context, err error) error {
	if err == nil {
		_ = s.Refresh(ctx)
	}
	return err
}

// Create implements Store: through to the Store.
func (s *Snapshot) Create(ctx context.Context, l *List) (uint32, error) {
	id, err := s.st.Create(ctx, l)
	return id, s.wrote(ctx, err)
}

// Update implements Store: through to the Store.
func (s *Snapshot) Update(ctx context.Context, l *List) error {
	return s.wrote(ctx, s.st.Update(ctx, l))
}

// Remove implements Store: through to the Store.
func (s *Snapshot) Remove(ctx context.Context, id uint32) error {
	return s.wrote(ctx, s.st.Remove(ctx, id))
}

// AddAddresses implements Store: through to the Store.
func (s *Snapshot) AddAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	n, err := s.st.AddAddresses(ctx, list, keys)
	return n, s.wrote(ctx, err)
}

// RemoveAddresses implements Store: through to the Store.
func (s *Snapshot) RemoveAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	n, err := s.st.RemoveAddresses(ctx, list, keys)
	return n, s.wrote(ctx, err)
}
