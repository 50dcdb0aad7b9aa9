package follow

import (
	"context"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// TestLiveBadConditions follows a node through the pipeline with the
// webhook worker running (sleuth serve's path) while things go wrong:
// the receiver is down (503) while blocks arrive, the node goes down and
// restarts on the same address, then the receiver processes requests but
// its answers are lost (500), so the worker sends again. In the end every
// block's alert has reached the receiver, signed; nothing is lost, and a
// delivery that came twice came with the same webhook-id, for the same
// alert and event type.
func TestLiveBadConditions(t *testing.T) {
	ctx := context.Background()
	best, _ := simBlocks(t, 0.5)
	const start, mid, end = 10, 20, 30
	if len(best) < end {
		t.Fatalf("simulated chain of %d blocks", len(best))
	}
	node := newFakeNode(t, "main")
	node.setChain(best[:start])
	dir := t.TempDir()
	db := indextest.Open(t, filepath.Join(dir, "db"))
	pl := pipeline.New(db, pipeline.Options{})
	ws := watch.NewDB(db)
	anyIn, _ := watch.ParseRule("any", watch.In, alert.High)
	list, err := ws.Create(ctx, &watch.List{Name: "coinbases", Rules: []watch.Rule{anyIn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.AddAddresses(ctx, list, coinbaseKeys(t, best[start:end])); err != nil {
		t.Fatal(err)
	}
	rec := alerttest.NewReceiver(t, alert.NewSecret())
	if _, err := pl.AlertStore().AddEndpoint(ctx, rec.URL, rec.Secret); err != nil {
		t.Fatal(err)
	}
	retry := make([]time.Duration, 1000)
	for i := range retry {
		retry[i] = 20 * time.Millisecond
	}
	quiet := slog.New(slog.DiscardHandler)
	w := &alert.Worker{Store: pl.AlertStore(), AllowLoopback: true, Schedule: retry, Poll: 20 * time.Millisecond, Log: quiet}
	rpc, err := NewRPC(RPCConfig{URL: node.url()})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	unavailable := 0
	f, err := New(ctx, Config{RPC: rpc, SpoolDir: filepath.Join(dir, "spool"), Poll: 20 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Network: btc.Mainnet, Store: NewPipelineStore(pl, db), Logger: quiet, OnEvent: func(e Event) {
			if e.Kind == Unavailable {
				mu.Lock()
				unavailable++
				mu.Unlock()
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	errc, stop := runLive(pl, f, w)
	defer stop()
	// tipIs waits until the alert stage (the pipeline's last) has matched
	// block h.
	tipIs := func(h int) {
		t.Helper()
		want := recordHash(best[h])
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
			if p, _, err := pl.AlertProgress(); err == nil && p.Hash == want {
				break
			}
			select {
			case err := <-errc:
				t.Fatalf("follower stopped: %v", err)
			default:
			}
			if time.Now().After(deadline) {
				t.Fatalf("tip %d, want %d", db.Tip().Height, h)
			}
		}
	}
	tipIs(start - 1)

	// The receiver is down while blocks arrive.
	rec.SetDown(true)
	node.setChain(best[:mid])
	tipIs(mid - 1)
	time.Sleep(100 * time.Millisecond) // a few failed attempts
	// The node goes down and comes back with more blocks.
	node.stop()
	time.Sleep(150 * time.Millisecond)
	mu.Lock()
	down := unavailable
	mu.Unlock()
	if down == 0 {
		t.Error("no Unavailable event while the node was down")
	}
	node.setChain(best[:end])
	node.start()
	tipIs(end - 1)
	// The receiver processes but its answers are lost, then recovers.
	rec.SetDown(false)
	rec.SetLossy(true)
	if !rec.Wait(5, time.Minute) {
		t.Fatal("nothing reached the lossy receiver")
	}
	rec.SetLossy(false)

	events := map[string]alert.Event{}
	if err := pl.AlertStore().Events(ctx, 0, func(ev *alert.Event) (bool, error) {
		events[ev.WebhookID()] = *ev
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(events) < end-start {
		t.Fatalf("%d events for %d blocks", len(events), end-start)
	}
	if !rec.Wait(len(events), time.Minute) {
		t.Fatalf("%d deliveries for %d events", len(rec.Arrivals()), len(events))
	}
	// Every event arrives; wait until each has (duplicates count in Wait).
	got := map[string]alerttest.Arrival{}
	heights := map[int64]bool{}
	for deadline := time.Now().Add(time.Minute); len(got) < len(events); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events delivered", len(got), len(events))
		}
		for _, a := range rec.Arrivals() {
			ev, ok := events[a.WebhookID]
			if !ok {
				t.Fatalf("delivery with unknown webhook-id %s", a.WebhookID)
			}
			if prev, dup := got[a.WebhookID]; dup && (prev.Alert != a.Alert || prev.Type != a.Type) {
				t.Fatalf("webhook-id %s sent for alert %d (%s) and alert %d (%s)", a.WebhookID, prev.Alert, prev.Type, a.Alert, a.Type)
			}
			if a.Alert != ev.Alert || a.Type != ev.Type {
				t.Fatalf("webhook-id %s: delivered alert %d %s, stored event is alert %d %s", a.WebhookID, a.Alert, a.Type, ev.Alert, ev.Type)
			}
			got[a.WebhookID] = a
			heights[a.Height] = true
		}
	}
	for h := start; h < end; h++ {
		if !heights[int64(h)] {
			t.Errorf("no alert delivered for block %d", h)
		}
	}
	if rec.BadSignatures() != 0 {
		t.Fatalf("%d deliveries failed verification", rec.BadSignatures())
	}
	t.Logf("%d events, %d deliveries (%d sent again with the same webhook-id); %d rounds found the node unavailable",
		len(events), len(rec.Arrivals()), len(rec.Arrivals())-len(got), down)
}

// runLive runs f and w as sleuth serve does (w woken by every
// AlertsStored of pl) until stop, which waits for both; the follower's
// error, if it stops by itself, comes on the channel.
func runLive(pl *pipeline.Pipeline, f *Follower, w *alert.Worker) (<-chan error, func()) {
	pl.Subscribe(func(e pipeline.Event) {
		if e.Kind == pipeline.AlertsStored {
			w.Wake()
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 1)
	wg.Add(2)
	go func() { defer wg.Done(); errc <- f.Run(ctx) }()
	go func() { defer wg.Done(); _ = w.Run(ctx) }()
	return errc, func() { cancel(); wg.Wait() }
}
