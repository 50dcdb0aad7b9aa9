package index

// Slot sizes of the two caches (TestSlotSizes holds the types to them).
const (
	utxoSlotBytes = 64
	addrSlotBytes = 64
)

// genSize sizes the generations of a writer cache (utxoCache, addrCache).
// A generation's table starts small and doubles whenever it is three
// quarters full, up to maxSlots. At limit entries, below that load with
// room left for one large block, the generation is full: the writer
// commits its batch (a generation can rotate only between batches) and the
// cache rotates. So the cache never holds more than two tables of maxSlots
// slots, whatever a batch's size, unless one block alone fills more than a
// sixteenth of a table; its memory is set in bytes, and a generation holds
// 11/16 of its slots where an entry limit with tables of powers of two
// wasted up to half of them.
type genSize struct {
	maxSlots, limit int
}

// genSizeFor returns the size of a cache whose two generations of
// slotBytes-byte slots take at most bytes (at least 64 slots each).
func genSizeFor(bytes int64, slotBytes int) genSize {
	n := 64
	for int64(4*n)*int64(slotBytes) <= bytes {
		n *= 2
	}
	return genSize{maxSlots: n, limit: n * 11 / 16}
}

// start is a new generation's table size.
func (g genSize) start() int { return min(minSlots, g.maxSlots) }

// reuse is the size a retired table is cleared to for the next
// generation: a table that reached full size is kept (a chain that filled
// one generation fills the next, and reallocating it made half a gigabyte
// of garbage per rotation), any other starts again from start.
func (g genSize) reuse(n int) int {
	if n == g.maxSlots {
		return n
	}
	return g.start()
}

// table is one generation of a writer cache: an open-addressed array of
// slots (a power of two) with linear probing, and how many are live. Each
// cache finds its own keys in it (findUTXO, findAddr).
type table[S any] struct {
	slots []S
	used  int
}

// init empties t to n slots, reusing its array when it has that size.
func (t *table[S]) init(n int) {
	if cap(t.slots) == n {
		t.slots = t.slots[:n]
		clear(t.slots)
	} else {
		t.slots = make([]S, n)
		adviseHuge(t.slots)
	}
	t.used = 0
}

// crowded reports whether one more entry would take t past three
// quarters full, linear probing's limit: time to grow.
func (t *table[S]) crowded() bool { return 4*(t.used+1) > 3*len(t.slots) }

// grow doubles t, moving each live slot to the first free slot from its
// home (hash) in the new array. Rare (a table doubles a dozen times per
// generation at most), so the two functions cost nothing that matters.
func (t *table[S]) grow(live func(*S) bool, hash func(*S) uint64) {
	old := t.slots
	t.slots = make([]S, 2*len(old))
	adviseHuge(t.slots)
	mask := uint64(len(t.slots) - 1)
	for i := range old {
		s := &old[i]
		if !live(s) {
			continue
		}
		j := hash(s) & mask
		for live(&t.slots[j]) {
			j = (j + 1) & mask
		}
		t.slots[j] = *s
	}
}

// generations are a writer cache's two tables: lookups see both, the
// uncommitted batch writes to cur, and after a commit a full cur becomes
// old and the old one is cleared for reuse.
type generations[S any] struct {
	cur, old table[S]
	gen      genSize
}

func (g *generations[S]) reset() {
	g.cur.init(g.gen.start())
	g.old.init(g.gen.start())
}

// full reports whether the current generation is full: the writer then
// commits its batch, after which the generations rotate.
func (g *generations[S]) full() bool { return g.cur.used >= g.gen.limit }

// rotate starts a new generation if the current one is full; only after
// a commit.
func (g *generations[S]) rotate() {
	if g.full() {
		g.cur, g.old = g.old, g.cur
		g.cur.init(g.gen.reuse(len(g.cur.slots)))
	}
}
