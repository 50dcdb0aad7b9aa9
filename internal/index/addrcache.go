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
	cur, old addrTab
	gen      genSize
	seed     maphash.Seed
}

type addrTab struct {
	slots []addrSlot
	used  int
}

// addrSlot is one entry, 64 bytes: a cache line. n == 0 marks it empty
// (a key is never empty).
type addrSlot struct {
	key address.Key
	_   [13]byte
	id  btc.AddrID
}

func newAddrCache(gen genSize) *addrCache {
	c := &addrCache{gen: gen, seed: maphash.MakeSeed()}
	c.cur.init(gen.start())
	c.old.init(gen.start())
	return c
}

// full reports whether the current generation is full (see utxoCache.full).
func (c *addrCache) full() bool { return c.cur.used >= c.gen.limit }

func (t *addrTab) init(n int) {
	if cap(t.slots) == n {
		t.slots = t.slots[:n]
		clear(t.slots)
	} else {
		t.slots = make([]addrSlot, n)
	}
	t.used = 0
}

// find returns the index of k's slot in t, or of the empty slot where it
// would go (found false).
func (t *addrTab) find(h uint64, k *address.Key) (int, bool) {
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
	if i, ok := c.cur.find(h, k); ok {
		return c.cur.slots[i].id, true
	}
	if i, ok := c.old.find(h, k); ok {
		return c.old.slots[i].id, true
	}
	return 0, false
}

func (c *addrCache) put(k *address.Key, id btc.AddrID) {
	if 4*(c.cur.used+1) > 3*len(c.cur.slots) {
		c.grow()
	}
	i, ok := c.cur.find(maphash.Bytes(c.seed, k.Bytes()), k)
	if !ok {
		c.cur.used++
		c.cur.slots[i].key = *k
	}
	c.cur.slots[i].id = id
}

// grow doubles the current generation's table (see minSlots).
func (c *addrCache) grow() {
	old := c.cur.slots
	c.cur.slots = make([]addrSlot, 2*len(old))
	c.cur.used = 0
	for i := range old {
		if s := &old[i]; s.key.Len() != 0 {
			j, _ := c.cur.find(maphash.Bytes(c.seed, s.key.Bytes()), &s.key)
			c.cur.slots[j] = *s
			c.cur.used++
		}
	}
}

// rotate starts a new generation if the current one is full; only after
// a commit.
func (c *addrCache) rotate() {
	if c.full() {
		c.cur, c.old = c.old, c.cur
		c.cur.init(c.gen.reuse(len(c.cur.slots)))
	}
}

func (c *addrCache) clear() {
	c.cur.init(c.gen.start())
	c.old.init(c.gen.start())
}
