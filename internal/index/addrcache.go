package index

import (
	"hash/maphash"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// addrCache maps address keys to ids for the writer, in two generations
// as utxoCache does (lookups see both, inserts go to the current one, a
// full current generation becomes the old one after a commit) and for the
// same reason: a Go map keyed by the 43-byte address.Key spent most of
// its time in cache misses and rehashing. Entries are never removed but
// by a rotation, which happens only after a commit, so an id handed out
// by the uncommitted batch is never forgotten (it would be handed out
// twice).
type addrCache struct {
	generations[addrSlot]
	seed maphash.Seed
}

type addrTab = table[addrSlot]

// addrSlot is one entry, 64 bytes: a cache line. n == 0 marks it empty
// (a key is never empty).
type addrSlot struct {
	key address.Key
	_   [13]byte
	id  btc.AddrID
}

func newAddrCache(gen genSize) *addrCache {
	c := &addrCache{generations: generations[addrSlot]{gen: gen}, seed: maphash.MakeSeed()}
	c.reset()
	return c
}

// find returns the index of k's slot in t, or of the empty slot where it
// would go (found false).
func findAddr(t *addrTab, h uint64, k *address.Key) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.key.Len() == 0 {
			return int(i), false
		}
		if s.key == *k {
			return int(i), true
		}
	}
}

func (c *addrCache) get(k *address.Key) (btc.AddrID, bool) {
	h := maphash.Bytes(c.seed, k.Bytes())
	if i, ok := findAddr(&c.cur, h, k); ok {
		return c.cur.slots[i].id, true
	}
	if i, ok := findAddr(&c.old, h, k); ok {
		return c.old.slots[i].id, true
	}
	return 0, false
}

func (c *addrCache) put(k *address.Key, id btc.AddrID) {
	if c.cur.crowded() {
		c.cur.grow(func(s *addrSlot) bool { return s.key.Len() != 0 },
			func(s *addrSlot) uint64 { return maphash.Bytes(c.seed, s.key.Bytes()) })
	}
	i, ok := findAddr(&c.cur, maphash.Bytes(c.seed, k.Bytes()), k)
	if !ok {
		c.cur.used++
		c.cur.slots[i].key = *k
	}
	c.cur.slots[i].id = id
}

// clear drops every entry (the batch was dropped, or a reorg reassigned
// ids).
func (c *addrCache) clear() { c.reset() }
