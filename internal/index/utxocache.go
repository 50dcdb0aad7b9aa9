package index

import (
	"hash/maphash"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// utxoCache holds the writer's unspent outputs in memory: the ones the
// uncommitted batch created (pending), the store's outputs it spent (so
// that a second spend is caught before the delete is committed), and
// recently committed ones, which most spends find without reading the
// store. On a bulk path the committed ones are held, not written, until
// their generation is evicted (held.go).
//
// It replaces three Go maps keyed by the 36-byte outpoint: late in a large
// ingest a third of the writer's time went to their probes (cache misses
// on the control word, then on the slot) and to rehashing as they grew.
// Here an entry is one 64-byte slot of an open-addressed table with
// linear probing, so a lookup costs about one cache miss. A removed entry leaves no
// tombstone: the entries after it in its probe run shift back, so the
// table holds live entries only.
//
// Two generations bound its size the way the writer's address cache does:
// lookups see both, the uncommitted batch writes to the current one, and
// after a commit a full current generation (genSize) becomes the old one
// and the old one is cleared.
type utxoCache struct {
	generations[utxoSlot]
	seed maphash.Seed
	// touched lists the outpoints the uncommitted batch made pending or
	// spent, for commit to visit; past len(slots)/16 of them (scan set)
	// commit scans the table instead.
	touched []outpoint
	scan    bool
}

type utxoTab = table[utxoSlot]

// utxoSlot is one entry, 64 bytes: a cache line.
type utxoSlot struct {
	id    btc.Hash
	vout  uint32
	state uint8
	typ   address.Type
	_     [2]byte
	ref   btc.OutRef
	value btc.Amount
	addr  btc.AddrID
}

const (
	slotEmpty   uint8 = iota
	slotCached        // committed: the store holds it too
	slotPending       // created by the uncommitted batch; not in the store
	slotSpent         // in the store; the uncommitted batch spends it (its delete is in the batch)
	slotHeld          // committed, held back from the store until evicted (a bulk path's commits)
)

func newUTXOCache(gen genSize) *utxoCache {
	c := &utxoCache{generations: generations[utxoSlot]{gen: gen}, seed: maphash.MakeSeed()}
	c.reset()
	return c
}

// minSlots is a new generation's table size. It doubles whenever it is
// three quarters full (linear probing's limit), so a table is never much
// larger than what it holds: a table sized for the limit from the start
// would spread a small chain's entries over hundreds of MB and miss the
// processor's caches and TLB on every lookup.
const minSlots = 1 << 12

func (c *utxoCache) hash(id *btc.Hash, vout uint32) uint64 {
	return maphash.Bytes(c.seed, id[:]) ^ uint64(vout)*0x9e3779b97f4a7c15
}

// find returns the index of op's slot in t, or of the empty slot where it
// would go (found false).
func findUTXO(t *utxoTab, h uint64, op *outpoint) (int, bool) {
	mask := uint64(len(t.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if s.state == slotEmpty {
			return int(i), false
		}
		if s.vout == op.Vout && s.id == op.ID {
			return int(i), true
		}
	}
}

// remove empties slot i and shifts back the entries after it in its probe
// run that may move (those whose home slot is not cyclically after i), so
// that every remaining entry stays reachable from its home.
func (c *utxoCache) remove(t *utxoTab, i int) {
	mask := len(t.slots) - 1
	t.used--
	for j := i; ; {
		j = (j + 1) & mask
		s := &t.slots[j]
		if s.state == slotEmpty {
			t.slots[i] = utxoSlot{}
			return
		}
		home := int(c.hash(&s.id, s.vout)) & mask
		// s may fill i unless its home lies cyclically in (i, j].
		if (j-home)&mask >= (j-i)&mask {
			t.slots[i] = *s
			i = j
		}
	}
}

// lookup returns op's table and slot in the newest generation that has
// it.
func (c *utxoCache) lookup(op *outpoint) (*utxoTab, int) {
	h := c.hash(&op.ID, op.Vout)
	if i, ok := findUTXO(&c.cur, h, op); ok {
		return &c.cur, i
	}
	if i, ok := findUTXO(&c.old, h, op); ok {
		return &c.old, i
	}
	return nil, 0
}

// spend spends the entry in slot i of t: a pending or held one leaves
// the cache (the store never saw it); a cached one becomes spent until
// the commit, and inStore tells the caller to delete it from the store
// with the batch; a spent one is an error (spent twice).
func (c *utxoCache) spend(t *utxoTab, i int) (u utxoRecord, inStore bool, err error) {
	s := &t.slots[i]
	u = s.record()
	switch s.state {
	case slotPending, slotHeld:
		c.remove(t, i)
		return u, false, nil
	case slotCached:
		s.state = slotSpent
		if t == &c.cur {
			c.track(outpoint{s.id, s.vout})
		}
		return u, true, nil
	}
	return utxoRecord{}, false, ErrMissingPrevout
}

// set puts op in the current generation with the given state (pending or
// spent), over any entry it has there.
func (c *utxoCache) set(op *outpoint, state uint8, u *utxoRecord) {
	if c.cur.crowded() {
		c.cur.grow(func(s *utxoSlot) bool { return s.state != slotEmpty },
			func(s *utxoSlot) uint64 { return c.hash(&s.id, s.vout) })
	}
	i, ok := findUTXO(&c.cur, c.hash(&op.ID, op.Vout), op)
	s := &c.cur.slots[i]
	if !ok {
		c.cur.used++
		s.id, s.vout = op.ID, op.Vout
	}
	s.state = state
	if u != nil {
		s.ref, s.value, s.addr, s.typ = u.Ref, u.Value, u.Addr, u.Type
	}
	c.track(*op)
}

// track records that the uncommitted batch set op in the current
// generation.
func (c *utxoCache) track(op outpoint) {
	if !c.scan {
		if 16*len(c.touched) < len(c.cur.slots) {
			c.touched = append(c.touched, op)
		} else {
			c.scan = true
			c.touched = c.touched[:0]
		}
	}
}

// record is the entry as the writer uses it.
func (s *utxoSlot) record() utxoRecord {
	return utxoRecord{Ref: s.ref, Value: s.value, Addr: s.addr, Type: s.typ}
}

// holdMode says how a commit treats the batch's unspent outputs.
type holdMode uint8

const (
	// holdNone writes each to the store with its batch (a direct path).
	holdNone holdMode = iota
	// holdUntilEvicted keeps them in the cache only (held) and writes
	// them when their generation is evicted: most outputs are spent
	// while still cached, and then neither their write nor their delete
	// ever reaches the store, whose random-keyed UTXO keyspace was the
	// largest share of a bulk ingest's compactions.
	holdUntilEvicted
	// holdRelease writes every held output, of both generations, and
	// the batch's own: nothing is held after the commit.
	holdRelease
)

// commit visits what the uncommitted batch wrote: each pending output
// becomes held (holdUntilEvicted, holdRelease) or is handed to put, which
// writes it to the batch, and becomes cached (holdNone); each spent one is
// removed (the batch deletes it from the store). It reports whether the
// current generation is full: evict, after the batch is written, then
// rotates the generations.
func (c *utxoCache) commit(mode holdMode, put func(op *outpoint, u *utxoRecord)) (evicting bool) {
	t := &c.cur
	// visit handles slot i and reports whether it now holds another entry
	// (shifted back by a removal), which must be visited too.
	visit := func(i int) bool {
		s := &t.slots[i]
		switch s.state {
		case slotPending:
			if mode != holdNone {
				s.state = slotHeld
				break
			}
			u := s.record()
			put(&outpoint{s.id, s.vout}, &u)
			s.state = slotCached
		case slotSpent:
			c.remove(t, i)
			return t.slots[i].state != slotEmpty
		}
		return false
	}
	if c.scan {
		// A removal may shift an entry into slot i (visit it again) or,
		// from the start of the table, into a slot not visited yet (it is
		// then visited twice; a second visit does nothing).
		for i := 0; i < len(t.slots); i++ {
			for visit(i) {
			}
		}
	} else {
		for k := range c.touched {
			op := &c.touched[k]
			if i, ok := findUTXO(t, c.hash(&op.ID, op.Vout), op); ok {
				for visit(i) {
				}
			}
		}
	}
	c.touched, c.scan = c.touched[:0], false
	return c.full()
}

// evict rotates the generations if the current one is full, after
// handing the held outputs of the old one, which the rotation drops, to
// put; all hands every held output of both to put. Outputs handed to put
// are cached from then on. A nil put says nothing is held (a direct
// path), and the tables are not scanned.
func (c *utxoCache) evict(all bool, put func(op *outpoint, u *utxoRecord)) {
	switch {
	case put == nil:
	case all:
		c.release(&c.old, put)
		c.release(&c.cur, put)
	case c.full():
		c.release(&c.old, put)
	}
	c.rotate()
}

// release hands every held output of t to put; they are cached from then
// on.
func (c *utxoCache) release(t *utxoTab, put func(op *outpoint, u *utxoRecord)) {
	for i := range t.slots {
		s := &t.slots[i]
		if s.state == slotHeld {
			u := s.record()
			put(&outpoint{s.id, s.vout}, &u)
			s.state = slotCached
		}
	}
}

// clear drops every entry (the batch was dropped, or a reorg rewrote the
// UTXO set).
func (c *utxoCache) clear() {
	c.reset()
	c.touched, c.scan = c.touched[:0], false
}

// pending reports whether the uncommitted batch touched the cache.
func (c *utxoCache) pending() bool { return c.scan || len(c.touched) > 0 }
