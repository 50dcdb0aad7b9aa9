package watch

import (
	"context"
	"encoding/binary"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/address"
)

// AddressPage returns up to limit address keys watched in list, in key
// order, after the key whose bytes are after (nil: from the first), and
// whether more follow. The API pages a list's addresses with it.
func (s *DB) AddressPage(ctx context.Context, list uint32, after []byte, limit int) ([]address.Key, bool, error) {
	if limit <= 0 {
		return nil, false, fmt.Errorf("watchlist %d: page size %d", list, limit)
	}
	lo := binary.BigEndian.AppendUint32([]byte{pAddr}, list)
	hi := binary.BigEndian.AppendUint32([]byte{pAddr}, list+1)
	if list == 1<<32-1 {
		hi = []byte{pAddr + 1}
	}
	if after != nil {
		lo = append(append(lo, after...), 0) // the first key after it
	}
	var out []address.Key
	more := false
	err := s.db.StageScan(ctx, lo, hi, func(k, _ []byte) (bool, error) {
		if len(out) == limit {
			more = true
			return false, nil
		}
		key, err := address.KeyFromBytes(k[5:])
		if err != nil {
			return false, fmt.Errorf("%w: watchlist %d address %x: %w", ErrCorrupt, list, k[5:], err)
		}
		out = append(out, key)
		return true, nil
	})
	return out, more, err
}

// CountAddresses returns how many addresses list watches.
func (s *DB) CountAddresses(ctx context.Context, list uint32) (int, error) {
	n := 0
	err := s.Addresses(ctx, list, func(address.Key) error { n++; return nil })
	return n, err
}

// Validate checks what Create and Update store: a name of 1 to 200 bytes,
// at most 256 rules and 65,536 entities (what decode accepts).
func (l *List) Validate() error {
	if l.Name == "" || len(l.Name) > 200 {
		return fmt.Errorf("watchlist name %q: want 1 to 200 bytes", l.Name)
	}
	if len(l.Rules) > maxRules || len(l.Entities) > maxEntities {
		return fmt.Errorf("watchlist %q: %d rules, %d entities: at most %d and %d", l.Name, len(l.Rules), len(l.Entities), maxRules, maxEntities)
	}
	return nil
}
