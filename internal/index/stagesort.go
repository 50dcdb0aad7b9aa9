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
	var k []byte
	return s.db.ingestStage(ctx, s.dir, s.name, func(put func(k, v []byte) error) error {
		return s.s.each(ctx, func(x T) error {
			k = s.key(k[:0], x)
			return put(k, nil)
		})
	}, true)
}

// IngestStage writes the stage keys and values that each puts, in
// increasing key order, as sstables beside the store, and ingests them in
// one atomic step: where their range holds nothing they land in the last
// level and are never compacted again (a sorted run of a stage's partial
// results, say, or their merge into the stage's own keyspace). Nothing is
// written when each puts nothing. It reports the tables written; keys out
// of order are an error. On a view it fails with ErrView.
func (db *DB) IngestStage(ctx context.Context, name string, each func(put func(k, v []byte) error) error) (int, error) {
	if db.db == nil {
		return 0, ErrView
	}
	fs := db.opts.FS
	dir := fs.PathJoin(db.dir, commitTmp, fmt.Sprintf("ingest-%s-%d", name, stageSorts.Add(1)))
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return 0, fmt.Errorf("index: ingest %s: %w", name, err)
	}
	defer fs.RemoveAll(dir) // Pebble linked or copied the tables
	return db.ingestStage(ctx, dir, name, each, false)
}

// ingestStage writes what each puts as tables in dir and ingests them;
// with dedup a key equal to the previous one is skipped, without it it is
// an error.
func (db *DB) ingestStage(ctx context.Context, dir, name string, each func(put func(k, v []byte) error) error, dedup bool) (int, error) {
	out := &tableSet{fs: db.opts.FS, dir: dir, opts: db.tableOpts}
	t, err := out.table(name)
	if err != nil {
		return 0, err
	}
	var last []byte
	n := 0
	err = each(func(k, v []byte) error {
		if n > 0 {
			switch c := bytes.Compare(k, last); {
			case c == 0 && dedup:
				return nil
			case c <= 0:
				return fmt.Errorf("index: ingest %s: key %x after %x: not in key order", name, k, last)
			}
		}
		checkStageKey(k)
		last = append(last[:0], k...)
		n++
		return t.set(k, v)
	})
	if err != nil {
		out.abort()
		return 0, err
	}
	paths, err := out.close()
	if err != nil || len(paths) == 0 {
		return 0, err
	}
	if err := db.db.Ingest(ctx, paths); err != nil {
		return 0, fmt.Errorf("index: ingest %s: %d tables: %w", name, len(paths), err)
	}
	return len(paths), nil
}

// Close removes the sort's files (Pebble has linked or copied the tables
// it ingested).
func (s *StageSort[T]) Close() {
	s.s.close()
	s.db.opts.FS.RemoveAll(s.dir)
}
