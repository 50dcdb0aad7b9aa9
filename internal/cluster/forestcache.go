package cluster

import "github.com/sleuth-forensics/sleuth/internal/index"

// ForestCache keeps the forest of one Update for the next one in the
// same process (Options.Forest), so that a long-lived process (the
// pipeline of sleuth serve or follow) pays a block's own work, not a load
// of the forest from its snapshot plus the log after it, on every block:
// at 22.7 million addresses that load is a 182 MB read.
//
// It serves an Update only when nothing can have changed the merge log
// behind its back: the same store, no update of this process deleted
// merges since (logRewrites: a reorg's or an override's undo, a rebuild),
// and the cluster state's merge count equals the merges the kept forest
// holds. An Update that fails drops what it took, since its forest may
// hold merges that were never committed. Not safe for concurrent use (the
// pipeline runs one update at a time).
type ForestCache struct {
	db       *index.DB
	f        *Forest
	merges   uint64 // merges in f: the state's count after the update that kept it
	snap     uint64 // merges in the snapshot file then
	rewrites uint64
	// Hits and Loads count the updates served from memory and those that
	// loaded the forest from the store.
	Hits, Loads int
}

// take hands the kept forest, grown to naddr ids, to an Update of db
// whose state holds merges, with the snapshot's merge count; ok is false
// (and the cache empty) when it cannot serve.
func (c *ForestCache) take(db *index.DB, merges uint64, naddr int) (f *Forest, snap uint64, ok bool, err error) {
	f, c.f = c.f, nil
	if f == nil {
		c.Loads++
		return nil, 0, false, nil
	}
	if c.db != db || c.rewrites != logRewrites.Load() || c.merges != merges {
		c.Loads++
		return nil, 0, false, f.Close()
	}
	if err := f.Grow(naddr); err != nil {
		f.Close()
		return nil, 0, false, err
	}
	c.Hits++
	return f, c.snap, true, nil
}

// keep takes ownership of the forest of a successful Update of db.
func (c *ForestCache) keep(db *index.DB, f *Forest, merges, snap uint64) {
	c.Close()
	c.db, c.f, c.merges, c.snap, c.rewrites = db, f, merges, snap, logRewrites.Load()
}

// Close frees the kept forest (see Forest.Close).
func (c *ForestCache) Close() error {
	if c.f == nil {
		return nil
	}
	f := c.f
	c.f = nil
	return f.Close()
}
