package alert

import (
	"bytes"
	"context"
	"errors"
	"slices"
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

func TestStoreLifecycle(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	ep1, err := s.AddEndpoint(ctx, "https://hooks.example.com/a", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEndpoint(ctx, "https://hooks.example.com/b", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	var in []Alert
	for i := range 7 {
		in = append(in, sampleAlert(i, byte(10+i%2)))
	}
	got, err := s.Create(ctx, in[:3]) // two batches, so that Since has a boundary
	if err != nil {
		t.Fatal(err)
	}
	more, err := s.Create(ctx, in[3:])
	if err != nil {
		t.Fatal(err)
	}
	got = append(got, more...)
	for i, a := range got {
		if a.ID != uint64(i+1) || a.Status != Open || a.Created.IsZero() {
			t.Fatalf("created alert %d = %+v", i, a)
		}
		back, err := s.Get(ctx, a.ID)
		if err != nil || back.TxID != in[i].TxID || back.Exposure != in[i].Exposure || back.Value != in[i].Value {
			t.Fatalf("Get(%d) = %+v, %v", a.ID, back, err)
		}
	}
	// The outbox holds one delivery per event per endpoint, written with the alerts.
	if n := countDeliveries(t, s, Pending); n != 14 {
		t.Fatalf("%d pending deliveries after 7 alerts × 2 endpoints, want 14", n)
	}

	// Paging with filters.
	for _, tc := range []struct {
		name  string
		f     Filter
		limit int
		want  []uint64
	}{
		{"all in pages of 3", Filter{}, 3, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"high and above", Filter{MinLevel: High}, 2, []uint64{3, 4, 7}},
		{"since the 4th", Filter{Since: got[3].Created}, 10, []uint64{4, 5, 6, 7}},
		{"from height 11", Filter{MinHeight: 11}, 2, []uint64{2, 4, 6}},
		{"up to height 10", Filter{MaxHeight: 10}, 10, []uint64{1, 3, 5, 7}},
		{"list 1 at high", Filter{RulePrefix: "watch:1/", MinLevel: High, MinHeight: 10, MaxHeight: 10}, 10, []uint64{3, 7}},
		{"another list", Filter{RulePrefix: "watch:2/"}, 10, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ids []uint64
			cursor, pages := "", 0
			for {
				p, err := s.List(ctx, tc.f, cursor, tc.limit)
				if err != nil {
					t.Fatal(err)
				}
				pages++
				for _, a := range p.Alerts {
					ids = append(ids, a.ID)
				}
				if cursor = p.Next; cursor == "" || pages > 10 {
					break
				}
			}
			if !slices.Equal(ids, tc.want) {
				t.Fatalf("ids %v, want %v", ids, tc.want)
			}
		})
	}
	if _, err := s.List(ctx, Filter{}, "x", 10); err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Fatalf("bad cursor: %v", err)
	}

	// Review transitions with notes.
	a, err := s.Review(ctx, 2, Acknowledged, "looking")
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.Review(ctx, 2, Escalated, "sent to compliance"); err != nil || a.Status != Escalated || len(a.Notes) != 2 {
		t.Fatalf("review: %+v %v", a, err)
	}
	if a, err = s.ReviewBy(ctx, 2, 0, "just a note", "analyst key"); err != nil || a.Status != Escalated || len(a.Notes) != 3 {
		t.Fatalf("note: %+v %v", a, err)
	}
	if back, err := s.Get(ctx, 2); err != nil || back.Notes[2].By != "analyst key" || back.Notes[0].By != "" {
		t.Fatalf("notes' authors: %+v %v", back.Notes, err)
	}
	p, _ := s.List(ctx, Filter{Status: Escalated}, "", 10)
	if len(p.Alerts) != 1 || p.Alerts[0].ID != 2 {
		t.Fatalf("escalated list = %+v", p.Alerts)
	}
	if _, err := s.Review(ctx, 99, Dismissed, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("review of unknown alert: %v", err)
	}

	// A disconnected block invalidates its alerts (once), a reconnected one revalidates them.
	if n, err := s.Invalidate(ctx, hashOf(11)); err != nil || n != 3 {
		t.Fatalf("Invalidate = %d, %v; want 3 (alerts 2, 4, 6)", n, err)
	}
	if n, _ := s.Invalidate(ctx, hashOf(11)); n != 0 {
		t.Fatalf("second Invalidate changed %d", n)
	}
	if a, _ := s.Get(ctx, 4); !a.Invalidated {
		t.Fatal("alert 4 not invalidated")
	}
	if n, err := s.Revalidate(ctx, hashOf(11)); err != nil || n != 3 {
		t.Fatalf("Revalidate = %d, %v", n, err)
	}
	var types []string
	if err := s.Events(ctx, 7, func(ev *Event) (bool, error) {
		types = append(types, ev.Type)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	want := strings.Repeat(EventUpdated+" ", 3) + strings.Repeat(EventInvalidated+" ", 3) + strings.Repeat(EventRevalidated+" ", 3)
	if strings.Join(types, " ")+" " != want {
		t.Fatalf("events after 7: %v", types)
	}

	// A removed endpoint gets nothing new.
	if err := s.RemoveEndpoint(ctx, ep1.ID); err != nil {
		t.Fatal(err)
	}
	before := countDeliveries(t, s, Pending)
	if _, err := s.Create(ctx, []Alert{sampleAlert(1, 12)}); err != nil {
		t.Fatal(err)
	}
	if n := countDeliveries(t, s, Pending); n != before+1 {
		t.Fatalf("%d pending after one alert with one endpoint, want %d", n, before+1)
	}
}

func TestStoreRejects(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"bad level", func() error { a := sampleAlert(0, 1); a.Level = 9; _, err := s.Create(ctx, []Alert{a}); return err }, "level 9"},
		{"share above 100%", func() error {
			a := sampleAlert(0, 1)
			a.Exposure.SharePPM = 1_000_001
			_, err := s.Create(ctx, []Alert{a})
			return err
		}, "above 100%"},
		{"ftp endpoint", func() error { _, err := s.AddEndpoint(ctx, "ftp://x/y", ""); return err }, "http"},
		{"bad secret", func() error { _, err := s.AddEndpoint(ctx, "https://x/y", "whsec_AAAA"); return err }, "secret"},
		{"page too big", func() error { _, err := s.List(ctx, Filter{}, "", MaxPage+1); return err }, "page size"},
		{"empty review", func() error { _, err := s.Review(ctx, 1, 0, ""); return err }, "nothing to change"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if p, _ := s.List(ctx, Filter{}, "", 10); len(p.Alerts) != 0 {
		t.Fatalf("rejected alerts were stored: %+v", p.Alerts)
	}
}

func TestSSE(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.Create(ctx, []Alert{sampleAlert(0, 1), sampleAlert(1, 1), sampleAlert(2, 2)}); err != nil {
		t.Fatal(err)
	}
	stream := func(last string) string {
		var b bytes.Buffer
		cctx, cancel := context.WithCancel(ctx)
		err := Stream(cctx, &b, cancel, s, last, time.Millisecond)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Stream: %v", err)
		}
		return b.String()
	}
	all := stream("")
	if n := strings.Count(all, "event: alert.created\n"); n != 3 || !strings.HasPrefix(all, "id: 1\nevent: alert.created\ndata: {") {
		t.Fatalf("stream from start:\n%s", all)
	}
	resumed := stream("2")
	if !strings.HasPrefix(resumed, "id: 3\n") || strings.Count(resumed, "id: ") != 1 {
		t.Fatalf("stream from Last-Event-ID 2:\n%s", resumed)
	}
	if err := Stream(ctx, &bytes.Buffer{}, nil, s, "abc", time.Millisecond); err == nil {
		t.Fatal("bad Last-Event-ID accepted")
	}
	// Past the last event, heartbeats keep the stream alive until Done
	// closes it; each write is announced first.
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
