package alert_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
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

// TestSSEHeartbeat: past the last event, heartbeats keep the stream
// alive until Done closes it; each write is announced first.
func TestSSEHeartbeat(t *testing.T) {
	ctx := context.Background()
	s := alert.NewDB(indextest.Open(t, t.TempDir()))
	if _, err := s.Create(ctx, []alert.Alert{alerttest.Sample(0, 1), alerttest.Sample(1, 1), alerttest.Sample(2, 2)}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	done := make(chan struct{})
	writes, flushes := 0, 0
	err := alert.StreamWith(ctx, &b, func() {
		if flushes++; flushes == 3 {
			close(done)
		}
	}, s, 3, alert.StreamOptions{Poll: time.Millisecond, Heartbeat: time.Nanosecond, Done: done, BeforeWrite: func() { writes++ }})
	if !errors.Is(err, alert.ErrStreamDone) || b.String() != strings.Repeat(": keep-alive\n\n", 3) || writes != 3 {
		t.Fatalf("heartbeats: %v, %d writes, %q", err, writes, b.String())
	}
}
