package index

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
// Slot sizes of the two caches (TestSlotSizes holds the types to them).
const (
	utxoSlotBytes = 64
	addrSlotBytes = 64
)

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
