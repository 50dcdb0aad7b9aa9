package watch_test

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
	"github.com/sleuth-forensics/sleuth/internal/watch/watchtest"
)

// TestConformance runs the suite every Store passes on the embedded store
// and on a Snapshot of it.
func TestConformance(t *testing.T) {
	t.Run("db", func(t *testing.T) {
		watchtest.Run(t, func(t *testing.T) watch.Store { return watch.NewDB(indextest.Open(t, t.TempDir())) })
	})
	t.Run("snapshot", func(t *testing.T) {
		watchtest.Run(t, func(t *testing.T) watch.Store {
			s, err := watch.NewSnapshot(context.Background(), watch.NewDB(indextest.Open(t, t.TempDir())))
			if err != nil {
				t.Fatal(err)
			}
			return s
		})
	})
}
