package pgstore

import (
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// openAlerts returns a fresh schema's alert store with clock now.
func openAlerts(t *testing.T, now func() time.Time) *Alerts {
	t.Helper()
	s := open(t, freshSchema(t)).Alerts()
	s.Now = now
	return s
}

// TestAlertsConformance runs the alert store's conformance suite on
// PostgreSQL, with the alert stage's progress in an index store of its
// own (alert.Split): the suite the embedded store passes.
func TestAlertsConformance(t *testing.T) {
	dsn(t)
	alerttest.RunStore(t, func(t *testing.T, now func() time.Time) alerttest.Stores {
		s := openAlerts(t, now)
		return alerttest.Stores{Store: s, Blocks: alert.Split{Local: alert.NewDB(indextest.Open(t, t.TempDir())), Shared: s}}
	})
}
