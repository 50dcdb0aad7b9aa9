package index

import (
	"bytes"
	"context"
	"fmt"
	"sync/atomic"
)

// StageSort gathers a stage's keys that arrive in random order (a
// per-address adjacency written merge by merge, say) and writes them in
// key order at Ingest: sorted in memory up to a budget, beyond it in
// sorted runs spilled beside the store and merged, then written as
// sstables and ingested in one atomic step, as the bulk ingest's derive
// does. Random keys written through batches would each pass through the
// memtable and then be rewritten by compactions once per level; these are
// written once. Values are empty; duplicate keys are written once.
//
// Records T must hold no pointers (runs are their bytes); key encodes one
// as a stage key, and cmp must order records as key orders their keys.
type StageSort[T any] struct {
	db   *DB
	name string
	dir  string
	s    *runSorter[T]
	key  func(dst []byte, x T) []byte
	n    int
}

var stageSorts atomic.Int64

// NewStageSort starts a sort named name (its files' prefix) that keeps at
// most memBytes of records in memory; expect is how many are likely.
// Close it. On a view it fails with ErrView.
func NewStageSort[T any](db *DB, name string, memBytes, expect int, cmp func(a, b T) int, key func(dst []byte, x T) []byte) (*StageSort[T], error) {
	if db.db == nil {
		return nil, ErrView
	}
	fs := db.opts.FS
	dir := fs.PathJoin(db.dir, commitTmp, fmt.Sprintf("sort-%s-%d", name, stageSorts.Add(1)))
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("index: stage sort %s: %w", name, err)
	}
	return &StageSort[T]{db: db, name: name, dir: dir, s: newRunSorter(fs, dir, name, memBytes, expect, cmp), key: key}, nil
}

// Add adds one record.
func (s *StageSort[T]) Add(x T) error {
	s.n++
	return s.s.add(x)
}

// Len is how many records were added.
func (s *StageSort[T]) Len() int { return s.n }

// Ingest writes every record's key, in order, as sstables and ingests
// them in one step; nothing is written when no record was added. It
// reports the tables written. Every key must be a stage key.
func (s *StageSort[T]) Ingest(ctx context.Context) (int, error) {
	if s.n == 0 {
		return 0, nil
	}
	out := &tableSet{fs: s.db.opts.FS, dir: s.dir, opts: s.db.tableOpts}
	t, err := out.table(s.name)
	if err != nil {
		return 0, err
	}
	var k, last []byte
	err = s.s.each(ctx, func(x T) error {
		k = s.key(k[:0], x)
		if last != nil && bytes.Equal(k, last) {
			return nil
		}
		if last != nil && bytes.Compare(k, last) < 0 {
			return fmt.Errorf("index: stage sort %s: key %x after %x: the records' order is not their keys'", s.name, k, last)
		}
		checkStageKey(k)
		last = append(last[:0], k...)
		return t.set(k, nil)
	})
	if err != nil {
		out.abort()
		return 0, err
	}
	paths, err := out.close()
	if err != nil {
		return 0, err
	}
	if err := s.db.db.Ingest(ctx, paths); err != nil {
		return 0, fmt.Errorf("index: stage sort %s: ingest %d tables: %w", s.name, len(paths), err)
	}
	return len(paths), nil
}

// Close removes the sort's files (Pebble has linked or copied the tables
// it ingested).
func (s *StageSort[T]) Close() {
	s.s.close()
	s.db.opts.FS.RemoveAll(s.dir)
}
