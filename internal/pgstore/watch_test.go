package pgstore

import (
	"context"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/watch"
	"github.com/sleuth-forensics/sleuth/internal/watch/watchtest"
)

// TestWatchConformance runs watch's conformance suite on PostgreSQL, and
// on a Snapshot of it (what the alert stage reads): the same suite the
// embedded store passes.
func TestWatchConformance(t *testing.T) {
	dsn(t)
	t.Run("direct", func(t *testing.T) {
		watchtest.Run(t, func(t *testing.T) watch.Store { return open(t, freshSchema(t)).Watch() })
	})
	t.Run("snapshot", func(t *testing.T) {
		watchtest.Run(t, func(t *testing.T) watch.Store {
			s, err := watch.NewSnapshot(context.Background(), open(t, freshSchema(t)).Watch())
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}

// TestWatchEditTwoServers: edits of one list's entities from two pools
// (two servers) at once all land (the row lock of watch.Editor).
func TestWatchEditTwoServers(t *testing.T) {
	d := freshSchema(t)
	a, b := open(t, d).Watch(), open(t, d).Watch()
	ctx := context.Background()
	id, err := a.Create(ctx, &watch.List{Name: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st := watch.Store(a)
			if i%2 == 1 {
				st = b
			}
			if _, err := watch.Edit(ctx, st, id, func(l *watch.List) (bool, error) {
				l.Entities = append(l.Entities, uint64(i))
				return true, nil
			}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	l, err := b.ByName(ctx, "shared")
	if err != nil || len(l.Entities) != n {
		t.Errorf("%d entities after %d concurrent edits from two servers (%v): an edit was lost", len(l.Entities), n, err)
	}
}
