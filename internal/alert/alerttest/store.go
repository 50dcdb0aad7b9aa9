package alerttest

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Stores is one implementation under test: the alert Store, and the
// BlockStore the alert stage writes through (for a shared store, an
// alert.Split of an index store's DB, which keeps the progress, and the
// shared store).
type Stores struct {
	Store  alert.Store
	Blocks alert.BlockStore
}

// Opener returns empty Stores whose clock is now.
type Opener func(t *testing.T, now func() time.Time) Stores

// Clock returns a clock that advances one second at each reading, from
// 2026-12-06 12:00 UTC (safe for concurrent use).
func Clock() func() time.Time {
	var mu sync.Mutex
	c := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		c = c.Add(time.Second)
		return c
	}
}

// Hash returns the hash whose 32 bytes are all b.
func Hash(b byte) btc.Hash {
	var h btc.Hash
	for i := range h {
		h[i] = b
	}
	return h
}

// Sample returns the i-th test alert of the block at height block (whose
// hash is Hash(block)); distinct i give distinct natural keys.
func Sample(i int, block byte) alert.Alert {
	return alert.Alert{Level: alert.Level(1 + i%4), Rule: "watch:1/address", TxID: Hash(byte(i)), Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
		Value: uint64(1000 * (i + 1)), Height: int64(block), BlockHash: Hash(block),
		Exposure: alert.Exposure{Category: "theft", SharePPM: 250_000, Value: 250, Explanation: "25% traces back 3 hops to incident 1"}}
}

// CountDeliveries counts s's outbox entries in state st.
func CountDeliveries(t testing.TB, s alert.Store, st alert.DeliveryState) int {
	t.Helper()
	n := 0
	if err := s.Deliveries(context.Background(), func(d *alert.Delivery) (bool, error) {
		if d.State == st {
			n++
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

// All returns every alert of s, in id order.
func All(t testing.TB, s alert.Store) []alert.Alert {
	t.Helper()
	var out []alert.Alert
	cursor := ""
	for {
		p, err := s.List(context.Background(), alert.Filter{}, cursor, alert.MaxPage)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, p.Alerts...)
		if cursor = p.Next; cursor == "" {
			return out
		}
	}
}

// EventTypes returns the types of s's events after seq, in order.
func EventTypes(t testing.TB, s alert.Store, after uint64) []string {
	t.Helper()
	var types []string
	if err := s.Events(context.Background(), after, func(ev *alert.Event) (bool, error) {
		types = append(types, ev.Type)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return types
}

// RunStore is the conformance suite of alert.Store and the alert stage's
// BlockStore: the embedded store (internal/alert) and PostgreSQL
// (internal/pgstore) both pass it.
func RunStore(t *testing.T, open Opener) {
	t.Run("Lifecycle", func(t *testing.T) { testLifecycle(t, open(t, Clock()).Store) })
	t.Run("Rejects", func(t *testing.T) { testRejects(t, open(t, Clock()).Store) })
	t.Run("SSE", func(t *testing.T) { testSSE(t, open(t, Clock()).Store) })
	t.Run("BlockWriter", func(t *testing.T) { testBlockWriter(t, open(t, Clock())) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open(t, time.Now).Store) })
}

func testLifecycle(t *testing.T, s alert.Store) {
	ctx := context.Background()
	ep1, err := s.AddEndpoint(ctx, "https://hooks.example.com/a", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddEndpoint(ctx, "https://hooks.example.com/b", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	if eps, err := s.Endpoints(ctx); err != nil || len(eps) != 2 || eps[0].ID != ep1.ID || eps[1].Secret != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
		t.Fatalf("endpoints %+v %v", eps, err)
	}
	var in []alert.Alert
	for i := range 7 {
		in = append(in, Sample(i, byte(10+i%2)))
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
		if a.ID != uint64(i+1) || a.Status != alert.Open || a.Created.IsZero() {
			t.Fatalf("created alert %d = %+v", i, a)
		}
		back, err := s.Get(ctx, a.ID)
		if err != nil || back.TxID != in[i].TxID || back.Exposure != in[i].Exposure || back.Value != in[i].Value ||
			back.BlockHash != in[i].BlockHash || back.Rule != in[i].Rule || back.Address != in[i].Address || !back.Created.Equal(a.Created) {
			t.Fatalf("Get(%d) = %+v, %v", a.ID, back, err)
		}
	}
	// The outbox holds one delivery per event per endpoint, written with the alerts.
	if n := CountDeliveries(t, s, alert.Pending); n != 14 {
		t.Fatalf("%d pending deliveries after 7 alerts × 2 endpoints, want 14", n)
	}

	// Paging with filters.
	for _, tc := range []struct {
		name  string
		f     alert.Filter
		limit int
		want  []uint64
	}{
		{"all in pages of 3", alert.Filter{}, 3, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"high and above", alert.Filter{MinLevel: alert.High}, 2, []uint64{3, 4, 7}},
		{"since the 4th", alert.Filter{Since: got[3].Created}, 10, []uint64{4, 5, 6, 7}},
		{"from height 11", alert.Filter{MinHeight: 11}, 2, []uint64{2, 4, 6}},
		{"up to height 10", alert.Filter{MaxHeight: 10}, 10, []uint64{1, 3, 5, 7}},
		{"list 1 at high", alert.Filter{RulePrefix: "watch:1/", MinLevel: alert.High, MinHeight: 10, MaxHeight: 10}, 10, []uint64{3, 7}},
		{"another list", alert.Filter{RulePrefix: "watch:2/"}, 10, nil},
		{"a prefix with LIKE's wildcards", alert.Filter{RulePrefix: "watch:_/"}, 10, nil},
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
	if _, err := s.List(ctx, alert.Filter{}, "x", 10); err == nil || !strings.Contains(err.Error(), "cursor") {
		t.Fatalf("bad cursor: %v", err)
	}

	// Review transitions with notes.
	a, err := s.Review(ctx, 2, alert.Acknowledged, "looking")
	if err != nil {
		t.Fatal(err)
	}
	if a, err = s.Review(ctx, 2, alert.Escalated, "sent to compliance"); err != nil || a.Status != alert.Escalated || len(a.Notes) != 2 {
		t.Fatalf("review: %+v %v", a, err)
	}
	if a, err = s.ReviewBy(ctx, 2, 0, "just a note", "analyst key"); err != nil || a.Status != alert.Escalated || len(a.Notes) != 3 {
		t.Fatalf("note: %+v %v", a, err)
	}
	if back, err := s.Get(ctx, 2); err != nil || back.Notes[2].By != "analyst key" || back.Notes[0].By != "" ||
		back.Notes[1].Status != alert.Escalated || back.Notes[1].Text != "sent to compliance" || back.Notes[2].Status != 0 {
		t.Fatalf("notes: %+v %v", back.Notes, err)
	}
	p, _ := s.List(ctx, alert.Filter{Status: alert.Escalated}, "", 10)
	if len(p.Alerts) != 1 || p.Alerts[0].ID != 2 {
		t.Fatalf("escalated list = %+v", p.Alerts)
	}
	if _, err := s.Review(ctx, 99, alert.Dismissed, ""); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("review of unknown alert: %v", err)
	}
	if _, err := s.Get(ctx, 99); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("get of unknown alert: %v", err)
	}

	// A disconnected block invalidates its alerts (once), a reconnected one revalidates them.
	if n, err := s.Invalidate(ctx, Hash(11)); err != nil || n != 3 {
		t.Fatalf("Invalidate = %d, %v; want 3 (alerts 2, 4, 6)", n, err)
	}
	if n, _ := s.Invalidate(ctx, Hash(11)); n != 0 {
		t.Fatalf("second Invalidate changed %d", n)
	}
	if a, _ := s.Get(ctx, 4); !a.Invalidated {
		t.Fatal("alert 4 not invalidated")
	}
	if n, err := s.Revalidate(ctx, Hash(11)); err != nil || n != 3 {
		t.Fatalf("Revalidate = %d, %v", n, err)
	}
	types := EventTypes(t, s, 7)
	want := strings.Repeat(alert.EventUpdated+" ", 3) + strings.Repeat(alert.EventInvalidated+" ", 3) + strings.Repeat(alert.EventRevalidated+" ", 3)
	if strings.Join(types, " ")+" " != want {
		t.Fatalf("events after 7: %v", types)
	}
	ev, err := s.Event(ctx, 8)
	if err != nil || ev.Type != alert.EventUpdated || ev.Alert != 2 || ev.WebhookID() != "evt_8" || !bytes.Contains(ev.Body, []byte(`"type":"alert.updated"`)) {
		t.Fatalf("event 8 = %+v %s, %v", ev, ev.Body, err)
	}
	if _, err := s.Event(ctx, 999); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("unknown event: %v", err)
	}

	// A removed endpoint gets nothing new; a disabled one says why.
	if err := s.RemoveEndpoint(ctx, ep1.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.RemoveEndpoint(ctx, ep1.ID); !errors.Is(err, alert.ErrNotFound) {
		t.Fatalf("second remove: %v", err)
	}
	before := CountDeliveries(t, s, alert.Pending)
	if _, err := s.Create(ctx, []alert.Alert{Sample(1, 12)}); err != nil {
		t.Fatal(err)
	}
	if n := CountDeliveries(t, s, alert.Pending); n != before+1 {
		t.Fatalf("%d pending after one alert with one endpoint, want %d", n, before+1)
	}
	eps, _ := s.Endpoints(ctx)
	if err := s.DisableEndpoint(ctx, eps[0].ID, "410 Gone"); err != nil {
		t.Fatal(err)
	}
	if eps, _ := s.Endpoints(ctx); len(eps) != 1 || eps[0].Disabled != "410 Gone" {
		t.Fatalf("after disable: %+v", eps)
	}
	if _, err := s.Create(ctx, []alert.Alert{Sample(2, 12)}); err != nil {
		t.Fatal(err)
	}
	if n := CountDeliveries(t, s, alert.Pending); n != before+1 {
		t.Fatalf("%d pending after an alert with the only endpoint disabled, want %d", n, before+1)
	}
}

func testRejects(t *testing.T, s alert.Store) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		do   func() error
		want string
	}{
		{"bad level", func() error { a := Sample(0, 1); a.Level = 9; _, err := s.Create(ctx, []alert.Alert{a}); return err }, "level 9"},
		{"share above 100%", func() error {
			a := Sample(0, 1)
			a.Exposure.SharePPM = 1_000_001
			_, err := s.Create(ctx, []alert.Alert{a})
			return err
		}, "above 100%"},
		{"ftp endpoint", func() error { _, err := s.AddEndpoint(ctx, "ftp://x/y", ""); return err }, "http"},
		{"bad secret", func() error { _, err := s.AddEndpoint(ctx, "https://x/y", "whsec_AAAA"); return err }, "secret"},
		{"page too big", func() error { _, err := s.List(ctx, alert.Filter{}, "", alert.MaxPage+1); return err }, "page size"},
		{"empty review", func() error { _, err := s.Review(ctx, 1, 0, ""); return err }, "nothing to change"},
		{"not a status", func() error { _, err := s.Review(ctx, 1, 9, ""); return err }, "not a review status"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.do(); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tc.want)
			}
		})
	}
	if p, _ := s.List(ctx, alert.Filter{}, "", 10); len(p.Alerts) != 0 {
		t.Fatalf("rejected alerts were stored: %+v", p.Alerts)
	}
}

func testSSE(t *testing.T, s alert.Store) {
	ctx := context.Background()
	if _, err := s.Create(ctx, []alert.Alert{Sample(0, 1), Sample(1, 1), Sample(2, 2)}); err != nil {
		t.Fatal(err)
	}
	stream := func(last string) string {
		var b bytes.Buffer
		cctx, cancel := context.WithCancel(ctx)
		err := alert.Stream(cctx, &b, cancel, s, last, time.Millisecond)
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
	if err := alert.Stream(ctx, &bytes.Buffer{}, nil, s, "abc", time.Millisecond); err == nil {
		t.Fatal("bad Last-Event-ID accepted")
	}
}

// testBlockWriter walks the alert stage's writes through a reorg and back:
// block 11 connected with alerts (an outbox entry each), disconnected
// (alert.invalidated), connected again (alert.revalidated, no new alert),
// and checks what each step committed and that nothing is visible before
// Commit.
func testBlockWriter(t *testing.T, st Stores) {
	ctx := context.Background()
	s := st.Store
	if _, err := s.AddEndpoint(ctx, "https://hooks.example.com/a", ""); err != nil {
		t.Fatal(err)
	}
	step := func(fn func(b *alert.BlockWriter) error) alert.BlockSummary {
		t.Helper()
		b, err := st.Blocks.BeginBlocks(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		if err := fn(b); err != nil {
			t.Fatal(err)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		return b.Summary()
	}
	if p, ok, err := st.Blocks.ReadProgress(); err != nil || ok || p.Height != -1 {
		t.Fatalf("fresh progress %+v %v %v", p, ok, err)
	}
	hashes := map[int64]btc.Hash{9: Hash(9), 10: Hash(10)}
	step(func(b *alert.BlockWriter) error {
		return b.Advance(alert.Progress{Height: 10, Hash: Hash(10)}, func(h int64) (btc.Hash, error) { return hashes[h], nil })
	})
	in := []alert.Alert{Sample(1, 11), Sample(2, 11)}
	// Uncommitted work is dropped by Close.
	b, err := st.Blocks.BeginBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(ctx, 11, Hash(11), in); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if p, _, _ := st.Blocks.ReadProgress(); p.Height != 10 {
		t.Fatalf("progress %d after an uncommitted connect", p.Height)
	}
	if p, err := s.List(ctx, alert.Filter{}, "", 10); err != nil || len(p.Alerts) != 0 {
		t.Fatalf("alerts after an uncommitted connect: %+v %v", p.Alerts, err)
	}
	if sum := step(func(b *alert.BlockWriter) error { return b.Connect(ctx, 11, Hash(11), in) }); sum.Created != 2 {
		t.Fatalf("connect: %+v", sum)
	}
	// Out of order is refused.
	b, _ = st.Blocks.BeginBlocks(ctx)
	if err := b.Connect(ctx, 13, Hash(13), nil); err == nil || !strings.Contains(err.Error(), "does not follow") {
		t.Fatalf("connect at 13 after 11: %v", err)
	}
	b.Close()
	if sum := step(func(b *alert.BlockWriter) error { return b.Disconnect(ctx) }); sum.Invalidated != 2 {
		t.Fatalf("disconnect: %+v", sum)
	}
	if p, _, _ := st.Blocks.ReadProgress(); p.Height != 10 || p.Hash != Hash(10) {
		t.Fatalf("progress after disconnect %+v", p)
	}
	if sum := step(func(b *alert.BlockWriter) error { return b.Connect(ctx, 11, Hash(11), in) }); sum.Revalidated != 2 || sum.Created != 0 {
		t.Fatalf("connect again: %+v", sum)
	}
	want := []string{alert.EventCreated, alert.EventCreated, alert.EventInvalidated, alert.EventInvalidated, alert.EventRevalidated, alert.EventRevalidated}
	if types := EventTypes(t, s, 0); !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	n := 0
	if err := s.Deliveries(ctx, func(d *alert.Delivery) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d outbox entries for %d events", n, len(want))
	}
	// Alerts must name the block they are connected with.
	if err := func() error {
		b, _ := st.Blocks.BeginBlocks(ctx)
		defer b.Close()
		return b.Connect(ctx, 12, Hash(12), []alert.Alert{Sample(3, 11)})
	}(); err == nil {
		t.Fatal("an alert of block 11 was stored with block 12")
	}
}

// testOutbox: Due returns what is due, Record moves it on, and a
// delivered or retried-later entry is not due again.
func testOutbox(t *testing.T, s alert.Store) {
	ctx := context.Background()
	if _, err := s.AddEndpoint(ctx, "https://hooks.example.com/a", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Create(ctx, []alert.Alert{Sample(0, 1), Sample(1, 1), Sample(2, 1)}); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	due, err := s.Due(ctx, now, 2)
	if err != nil || len(due) != 2 || due[0].Event != 1 || due[1].Event != 2 || due[0].State != alert.Pending {
		t.Fatalf("Due(2) = %+v, %v", due, err)
	}
	due[0].State, due[0].Attempts = alert.Delivered, 1
	due[0].Log = []alert.Attempt{{Time: now.UTC().Truncate(time.Microsecond), Status: 204}}
	if err := s.Record(ctx, &due[0]); err != nil {
		t.Fatal(err)
	}
	due[1].Attempts, due[1].NextAt = 1, now.Add(time.Hour)
	due[1].Log = []alert.Attempt{{Time: now.UTC().Truncate(time.Microsecond), Error: "HTTP 503", Status: 503}}
	if err := s.Record(ctx, &due[1]); err != nil {
		t.Fatal(err)
	}
	if due, err := s.Due(ctx, now.Add(time.Second), 10); err != nil || len(due) != 1 || due[0].Event != 3 {
		t.Fatalf("Due after recording = %+v, %v; want event 3 only", due, err)
	}
	var all []alert.Delivery
	if err := s.Deliveries(ctx, func(d *alert.Delivery) (bool, error) { all = append(all, *d); return true, nil }); err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[0].State != alert.Delivered || all[1].Attempts != 1 || len(all[1].Log) != 1 ||
		all[1].Log[0].Error != "HTTP 503" || all[1].Log[0].Status != 503 || !all[1].Log[0].Time.Equal(due[1].Log[0].Time) {
		t.Fatalf("outbox %+v", all)
	}
}
