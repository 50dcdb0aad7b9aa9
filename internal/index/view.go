package index

import (
	"errors"
	"sync"

	"github.com/cockroachdb/pebble/v2"
)

// ErrView is the refusal of a write (Ingest, a StageBatch's Commit) on a
// read-only view.
var ErrView = errors.New("index: a read-only view cannot be written")

// View returns a read-only view of the store as it is now: a DB whose
// lookups (the queries, the stage reads, Tip, Stats, Check, Digest) read a
// Pebble snapshot and a copy of the ingest state, so they see this one
// state however the store changes afterwards (X8 in doc.go). Writes on it
// fail with ErrView. Take it between two writes (the pipeline does, after
// each update); Close it when done: the snapshot pins the store's old
// versions until then. Closing the store closes the views still open.
// A view is safe for concurrent use; a view of a view is refused.
func (db *DB) View() (*DB, error) {
	if db.parent != nil {
		return nil, errors.New("index: a view of a view")
	}
	if db.db == nil {
		return nil, errors.New("index: view of a closed store")
	}
	v := &DB{dir: db.dir, opts: db.opts, st: db.st, parent: db}
	db.views.add(v, func() pebble.Reader { return db.db.NewSnapshot() })
	return v, nil
}

// IsView reports whether db is a read-only view.
func (db *DB) IsView() bool { return db.parent != nil }

// OpenViews returns how many views of the store are open (a test's count
// of leaked snapshots).
func (db *DB) OpenViews() int {
	if db.views == nil {
		return 0
	}
	db.views.mu.Lock()
	defer db.views.mu.Unlock()
	return len(db.views.open)
}

// viewSet tracks a store's open views, so that each snapshot is closed
// exactly once: by the view's Close or else by the store's.
type viewSet struct {
	mu   sync.Mutex
	open map[*DB]struct{}
}

func (s *viewSet) add(v *DB, snapshot func() pebble.Reader) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v.r = snapshot()
	s.open[v] = struct{}{}
}

func (s *viewSet) close(v *DB) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.open[v]; ok {
		delete(s.open, v)
		_ = v.r.Close() // a snapshot's Close cannot fail
	}
}

func (s *viewSet) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for v := range s.open {
		delete(s.open, v)
		_ = v.r.Close()
	}
}
