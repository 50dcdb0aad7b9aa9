package pgstore

import (
	"context"
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
