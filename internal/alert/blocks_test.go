package alert

import (
	"context"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestBlockWriter walks the alert stage's writes through a reorg and back:
// block 11 connected with alerts (an outbox entry each), disconnected
// (alert.invalidated), connected again (alert.revalidated, no new alert),
// and checks what each step committed and that nothing is visible before
// Commit.
func TestBlockWriter(t *testing.T) {
	ctx := context.Background()
	s := testStore(t)
	if _, err := s.AddEndpoint(ctx, "https://hooks.example.com/a", ""); err != nil {
		t.Fatal(err)
	}
	step := func(fn func(b *BlockWriter) error) BlockSummary {
		t.Helper()
		b, err := s.BeginBlocks(ctx)
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
	if p, ok, err := s.ReadProgress(); err != nil || ok || p.Height != -1 {
		t.Fatalf("fresh progress %+v %v %v", p, ok, err)
	}
	hashes := map[int64]btc.Hash{9: hashOf(9), 10: hashOf(10)}
	step(func(b *BlockWriter) error {
		return b.Advance(Progress{Height: 10, Hash: hashOf(10)}, func(h int64) (btc.Hash, error) { return hashes[h], nil })
	})
	in := []Alert{sampleAlert(1, 11), sampleAlert(2, 11)}
	// Uncommitted work is dropped by Close.
	b, err := s.BeginBlocks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Connect(ctx, 11, hashOf(11), in); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if p, _, _ := s.ReadProgress(); p.Height != 10 {
		t.Fatalf("progress %d after an uncommitted connect", p.Height)
	}
	if sum := step(func(b *BlockWriter) error { return b.Connect(ctx, 11, hashOf(11), in) }); sum.Created != 2 {
		t.Fatalf("connect: %+v", sum)
	}
	// Out of order is refused.
	b, _ = s.BeginBlocks(ctx)
	if err := b.Connect(ctx, 13, hashOf(13), nil); err == nil || !strings.Contains(err.Error(), "does not follow") {
		t.Fatalf("connect at 13 after 11: %v", err)
	}
	b.Close()
	if sum := step(func(b *BlockWriter) error { return b.Disconnect(ctx) }); sum.Invalidated != 2 {
		t.Fatalf("disconnect: %+v", sum)
	}
	if p, _, _ := s.ReadProgress(); p.Height != 10 || p.Hash != hashOf(10) {
		t.Fatalf("progress after disconnect %+v", p)
	}
	if sum := step(func(b *BlockWriter) error { return b.Connect(ctx, 11, hashOf(11), in) }); sum.Revalidated != 2 || sum.Created != 0 {
		t.Fatalf("connect again: %+v", sum)
	}
	var types []string
	if err := s.Events(ctx, 0, func(ev *Event) (bool, error) { types = append(types, ev.Type); return true, nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{EventCreated, EventCreated, EventInvalidated, EventInvalidated, EventRevalidated, EventRevalidated}
	if strings.Join(types, " ") != strings.Join(want, " ") {
		t.Fatalf("events %v, want %v", types, want)
	}
	n := 0
	if err := s.Deliveries(ctx, func(d *Delivery) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if n != len(want) {
		t.Fatalf("%d outbox entries for %d events", n, len(want))
	}
	// Alerts must name the block they are connected with.
	if err := func() error {
		b, _ := s.BeginBlocks(ctx)
		defer b.Close()
		return b.Connect(ctx, 12, hashOf(12), []Alert{sampleAlert(3, 11)})
	}(); err == nil {
		t.Fatal("an alert of block 11 was stored with block 12")
	}
}
