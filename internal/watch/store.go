package watch

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Keyspace: 0x68–0x6F of index.StageAlert (package alert owns 0x60–0x67).
const (
	pState = index.StageAlert + 8  // <uvarint next list id>
	pList  = index.StageAlert + 9  // <list BE32> → list record
	pAddr  = index.StageAlert + 10 // <list BE32><address key> → empty
	// pVersion counts the changes to the lists (uvarint), so the alert
	// stage recompiles its Set only when they changed.
	pVersion = index.StageAlert + 11
)

// ErrNotFound is returned for an unknown list.
var ErrNotFound = errors.New("not found")

// ErrExists is returned when a list's name is taken.
var ErrExists = errors.New("already exists")

// ErrUnavailable marks a failure to reach a shared store (PostgreSQL down
// or restarting): the change was not made, and trying again later may
// succeed (the API answers 503 with Retry-After).
var ErrUnavailable = errors.New("watchlist store unavailable")

// Store keeps watchlists. DB keeps them in the index's store;
// pgstore.Watch keeps them in PostgreSQL for several servers, and
// Snapshot holds a copy of any Store in memory for the alert stage. All
// pass watchtest.Run.
type Store interface {
	Create(ctx context.Context, l *List) (uint32, error)
	Update(ctx context.Context, l *List) error
	Lists(ctx context.Context) ([]List, error)
	ByName(ctx context.Context, name string) (List, error)
	Remove(ctx context.Context, id uint32) error
	AddAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error)
	RemoveAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error)
	Addresses(ctx context.Context, list uint32, fn func(address.Key) error) error
	Has(list uint32, k address.Key) (bool, error)
	// Version changes whenever a list or its addresses change.
	Version() (uint64, error)
	// AddressPage returns up to limit address keys watched in list, in
	// key order, after the key whose bytes are after (nil: from the
	// first), and whether more follow.
	AddressPage(ctx context.Context, list uint32, after []byte, limit int) ([]address.Key, bool, error)
	// CountAddresses returns how many addresses list watches.
	CountAddresses(ctx context.Context, list uint32) (int, error)
}

// DB is the Store in the index's Pebble store.
type DB struct {
	db *index.DB
	mu sync.Mutex
}

var _ Store = (*DB)(nil)

// NewDB returns the watchlist store kept in db.
func NewDB(db *index.DB) *DB { return &DB{db: db} }

func listKey(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pList}, id) }

func addrKey(list uint32, k address.Key) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{pAddr}, list), k.Bytes()...)
}

// Version returns the count of changes to the lists (0 before the first).
func (s *DB) Version() (uint64, error) {
	v, err := s.db.StageGet([]byte{pVersion})
	if err != nil || v == nil {
		return 0, err
	}
	x, n := binary.Uvarint(v)
	if n != len(v) {
		return 0, fmt.Errorf("%w: watch version %x", ErrCorrupt, v)
	}
	return x, nil
}

// bump adds a Version increment to b (callers hold s.mu).
func (s *DB) bump(b *index.StageBatch) error {
	v, err := s.Version()
	if err != nil {
		return err
	}
	b.Set([]byte{pVersion}, binary.AppendUvarint(nil, v+1))
	return nil
}

// Create stores a new list (its name must be new) and returns its id.
func (s *DB) Create(ctx context.Context, l *List) (uint32, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.ByName(ctx, l.Name); err == nil {
		return 0, fmt.Errorf("watchlist %q %w", l.Name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return 0, err
	}
	next := uint64(1)
	v, err := s.db.StageGet([]byte{pState})
	if err != nil {
		return 0, err
	}
	if v != nil {
		d := encoding.Decbuf{B: v}
		if next = d.Uvarint(); d.E != nil || d.Len() != 0 || next == 0 || next > 1<<32-1 {
			return 0, fmt.Errorf("%w: watch counter %x", ErrCorrupt, v)
		}
	}
	l.ID = uint32(next)
	b := s.db.NewStageBatch()
	defer b.Close()
	var e encoding.Encbuf
	l.encode(&e)
	b.Set(listKey(l.ID), e.B)
	b.Set([]byte{pState}, binary.AppendUvarint(nil, next+1))
	if err := s.bump(b); err != nil {
		return 0, err
	}
	return l.ID, b.Commit()
}

// Update rewrites a list's name, rules and entities.
func (s *DB) Update(ctx context.Context, l *List) error {
	if err := l.Validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, err := s.db.StageGet(listKey(l.ID)); err != nil || v == nil {
		return errors.Join(err, fmt.Errorf("watchlist %d: %w", l.ID, ErrNotFound))
	}
	b := s.db.NewStageBatch()
	defer b.Close()
	var e encoding.Encbuf
	l.encode(&e)
	b.Set(listKey(l.ID), e.B)
	if err := s.bump(b); err != nil {
		return err
	}
	return b.Commit()
}

// Lists returns every list by id.
func (s *DB) Lists(ctx context.Context) ([]List, error) {
	var out []List
	err := s.db.StageScan(ctx, []byte{pList}, []byte{pList + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 5 {
			return false, fmt.Errorf("%w: list key %x", ErrCorrupt, k)
		}
		l := List{ID: binary.BigEndian.Uint32(k[1:])}
		if err := l.decode(v); err != nil {
			return false, fmt.Errorf("watchlist %d: %w", l.ID, err)
		}
		out = append(out, l)
		return true, nil
	})
	return out, err
}

// ByName returns the list called name.
func (s *DB) ByName(ctx context.Context, name string) (List, error) {
	ls, err := s.Lists(ctx)
	if err != nil {
		return List{}, err
	}
	for _, l := range ls {
		if l.Name == name {
			return l, nil
		}
	}
	return List{}, fmt.Errorf("watchlist %q: %w", name, ErrNotFound)
}

// Remove deletes a list and its addresses.
func (s *DB) Remove(ctx context.Context, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if v, err := s.db.StageGet(listKey(id)); err != nil || v == nil {
		return errors.Join(err, fmt.Errorf("watchlist %d: %w", id, ErrNotFound))
	}
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Delete(listKey(id))
	lo := binary.BigEndian.AppendUint32([]byte{pAddr}, id)
	b.DeleteRange(lo, binary.BigEndian.AppendUint32([]byte{pAddr}, id+1))
	if id == 1<<32-1 {
		b.DeleteRange(lo, []byte{pAddr + 1})
	}
	if err := s.bump(b); err != nil {
		return err
	}
	return b.Commit()
}

// AddAddresses watches keys in list (in batches of 64 Ki keys, each
// atomic) and returns how many were new.
func (s *DB) AddAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	return s.editAddresses(ctx, list, keys, true)
}

// RemoveAddresses stops watching keys in list and returns how many were
// watched.
func (s *DB) RemoveAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	return s.editAddresses(ctx, list, keys, false)
}

func (s *DB) editAddresses(ctx context.Context, list uint32, keys []address.Key, add bool) (int, error) {
	if v, err := s.db.StageGet(listKey(list)); err != nil || v == nil {
		return 0, errors.Join(err, fmt.Errorf("watchlist %d: %w", list, ErrNotFound))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for len(keys) > 0 {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		chunk := keys[:min(len(keys), 1<<16)]
		keys = keys[len(chunk):]
		b := s.db.NewStageBatch()
		for i, k := range chunk {
			if k.Len() == 0 {
				b.Close()
				return n, fmt.Errorf("watchlist %d: address %d of the batch has no key", list, i+1)
			}
			kk := addrKey(list, k)
			v, err := s.db.StageGet(kk)
			if err != nil {
				b.Close()
				return n, err
			}
			if (v == nil) == add {
				n++
			}
			if add {
				b.Set(kk, nil)
			} else {
				b.Delete(kk)
			}
		}
		if err := s.bump(b); err != nil {
			b.Close()
			return n, err
		}
		if err := b.Commit(); err != nil {
			return n, fmt.Errorf("watchlist %d: %w", list, err)
		}
	}
	return n, nil
}

// Addresses calls fn with every address key watched in list.
func (s *DB) Addresses(ctx context.Context, list uint32, fn func(address.Key) error) error {
	lo := binary.BigEndian.AppendUint32([]byte{pAddr}, list)
	hi := binary.BigEndian.AppendUint32([]byte{pAddr}, list+1)
	if list == 1<<32-1 {
		hi = []byte{pAddr + 1}
	}
	return s.db.StageScan(ctx, lo, hi, func(k, _ []byte) (bool, error) {
		key, err := address.KeyFromBytes(k[5:])
		if err != nil {
			return false, fmt.Errorf("%w: watchlist %d address %x: %w", ErrCorrupt, list, k[5:], err)
		}
		return true, fn(key)
	})
}

// Has reports whether list watches k.
func (s *DB) Has(list uint32, k address.Key) (bool, error) {
	v, err := s.db.StageGet(addrKey(list, k))
	return v != nil, err
}

// MarshalBinary returns the list's record (name, rules and entities, not
// its id), the bytes DB keeps; pgstore.Watch keeps the same.
func (l *List) MarshalBinary() ([]byte, error) {
	var e encoding.Encbuf
	l.encode(&e)
	return e.B, nil
}

// UnmarshalBinary reads a record MarshalBinary wrote (errors wrap
// ErrCorrupt); it leaves the id alone.
func (l *List) UnmarshalBinary(b []byte) error { return l.decode(b) }

// Editor is a Store that changes a list's record under a lock
// (pgstore.Watch: SELECT … FOR UPDATE), so two servers editing one list's
// rules or entities at once both land.
type Editor interface {
	// Edit calls fn with list id as stored and, if fn reports a change,
	// stores what fn left (checked by Validate), all under the lock.
	Edit(ctx context.Context, id uint32, fn func(l *List) (bool, error)) (List, error)
}

// Edit changes list id of st with fn: under st's lock if st is an Editor,
// else by reading and updating it (DB: callers serialise, as the API's
// writer guard does).
func Edit(ctx context.Context, st Store, id uint32, fn func(l *List) (bool, error)) (List, error) {
	if ed, ok := st.(Editor); ok {
		return ed.Edit(ctx, id, fn)
	}
	ls, err := st.Lists(ctx)
	if err != nil {
		return List{}, err
	}
	i := slices.IndexFunc(ls, func(l List) bool { return l.ID == id })
	if i < 0 {
		return List{}, fmt.Errorf("watchlist %d: %w", id, ErrNotFound)
	}
	l := ls[i]
	changed, err := fn(&l)
	if err != nil || !changed {
		return l, err
	}
	if err := l.Validate(); err != nil {
		return l, err
	}
	return l, st.Update(ctx, &l)
}
