package alert

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// testStore opens an alert store in a fresh index store, with a clock that
// advances one second per reading.
func testStore(t testing.TB) *DB {
	t.Helper()
	s := NewDB(indextest.Open(t, t.TempDir()))
	clock := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	var mu = make(chan struct{}, 1)
	s.Now = func() time.Time {
		mu <- struct{}{}
		defer func() { <-mu }()
		clock = clock.Add(time.Second)
		return clock
	}
	return s
}

func hashOf(b byte) btc.Hash {
	var h btc.Hash
	for i := range h {
		h[i] = b
	}
	return h
}

func sampleAlert(i int, block byte) Alert {
	return Alert{Level: Level(1 + i%4), Rule: "watch:1/address", TxID: hashOf(byte(i)), Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
		Value: uint64(1000 * (i + 1)), Height: int64(block), BlockHash: hashOf(block),
		Exposure: Exposure{Category: "theft", SharePPM: 250_000, Value: 250, Explanation: "25% traces back 3 hops to incident 1"}}
}

// TestSSEHeartbeat: past the last event, heartbeats keep the stream
// alive until Done closes it; each write is announced first.
func TestSSEHeartbeat(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.Create(ctx, []Alert{sampleAlert(0, 1), sampleAlert(1, 1), sampleAlert(2, 2)}); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	done := make(chan struct{})
	writes, flushes := 0, 0
	err := StreamWith(ctx, &b, func() {
		if flushes++; flushes == 3 {
			close(done)
		}
	}, s, 3, StreamOptions{Poll: time.Millisecond, Heartbeat: time.Nanosecond, Done: done, BeforeWrite: func() { writes++ }})
	if !errors.Is(err, ErrStreamDone) || b.String() != strings.Repeat(": keep-alive\n\n", 3) || writes != 3 {
		t.Fatalf("heartbeats: %v, %d writes, %q", err, writes, b.String())
	}
}

func countDeliveries(t testing.TB, s *DB, st DeliveryState) int {
	t.Helper()
	n := 0
	if err := s.Deliveries(context.Background(), func(d *Delivery) (bool, error) {
		if d.State == st {
			n++
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}
