package alert_test

import (
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// TestStoreConformance runs the alert store's conformance suite on the
// embedded store: the suite pgstore's PostgreSQL store passes too.
func TestStoreConformance(t *testing.T) {
	alerttest.RunStore(t, func(t *testing.T, now func() time.Time) alerttest.Stores {
		s := alert.NewDB(indextest.Open(t, t.TempDir()))
		s.Now = now
		return alerttest.Stores{Store: s, Blocks: s}
	})
}
