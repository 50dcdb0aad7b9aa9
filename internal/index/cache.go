package index

// genCache is a two-generation map: lookups see both generations, inserts go
// to the current one, and rotate drops the older generation once the current
// one is full. It approximates an LRU at the cost of two map lookups and no
// per-entry bookkeeping, and its size is bounded by 2*limit entries plus what
// one batch adds.
//
// The writer rotates only after a commit, so an entry inserted by an
// uncommitted batch can never be dropped (an address id handed out in the
// batch would otherwise be handed out twice).
type genCache[K comparable, V any] struct {
	cur, old map[K]V
	limit    int
}

func newGenCache[K comparable, V any](limit int) *genCache[K, V] {
	return &genCache[K, V]{cur: make(map[K]V), old: make(map[K]V), limit: limit}
}

func (c *genCache[K, V]) get(k K) (V, bool) {
	if v, ok := c.cur[k]; ok {
		return v, true
	}
	v, ok := c.old[k]
	return v, ok
}

func (c *genCache[K, V]) put(k K, v V) { c.cur[k] = v }

func (c *genCache[K, V]) del(k K) {
	delete(c.cur, k)
	delete(c.old, k)
}

// rotate starts a new generation if the current one is full.
func (c *genCache[K, V]) rotate() {
	if len(c.cur) >= c.limit {
		c.old = c.cur
		c.cur = make(map[K]V, c.limit/4)
	}
}

func (c *genCache[K, V]) clear() {
	clear(c.cur)
	clear(c.old)
}
