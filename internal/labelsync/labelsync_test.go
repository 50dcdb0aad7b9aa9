package labelsync_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/labelsync/labelsynctest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// blocks is a simulated chain's blocks directory.
func blocks(t *testing.T) string { return simtest.BestChainDir(t, 5, 0.1) }

func store(t *testing.T, dir string) *pipeline.Pipeline {
	return labelsynctest.Ingest(t, indextest.Open(t, t.TempDir()), dir)
}

func TestLocalConformance(t *testing.T) {
	dir := blocks(t)
	labelsynctest.Run(t, func(t *testing.T) labelsynctest.Store {
		pl := store(t, dir)
		return labelsynctest.Store{Editor: labelsync.NewLocal(pl), Pipeline: pl}
	})
}

// memLog is labelsync.Log in memory (the PostgreSQL one is pgstore's,
// tested there with the same suite); down makes it unreachable.
type memLog struct {
	mu      sync.Mutex
	entries []labelsync.Entry
	down    bool
	wake    chan struct{}
}

var errDown = errors.New("connection refused")

func newMemLog() *memLog { return &memLog{wake: make(chan struct{}, 1)} }

func (l *memLog) Append(_ context.Context, by string, edits []labelsync.Edit) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return 0, errDown
	}
	first := uint64(len(l.entries)) + 1
	for i, e := range edits {
		l.entries = append(l.entries, labelsync.Entry{Seq: first + uint64(i), At: time.Now(), By: by, Edit: e})
	}
	select {
	case l.wake <- struct{}{}:
	default:
	}
	return first, nil
}

func (l *memLog) After(_ context.Context, seq uint64, limit int) ([]labelsync.Entry, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return nil, errDown
	}
	es := l.entries[min(int(seq), len(l.entries)):]
	return append([]labelsync.Entry(nil), es[:min(limit, len(es))]...), nil
}

func (l *memLog) Last(context.Context) (uint64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return uint64(len(l.entries)), nil
}

func (l *memLog) Wait(ctx context.Context, d time.Duration) error {
	select {
	case <-l.wake:
	case <-time.After(d):
	case <-ctx.Done():
	}
	return nil
}

func (l *memLog) setDown(v bool) {
	l.mu.Lock()
	l.down = v
	l.mu.Unlock()
}

func shared(t *testing.T, pl *pipeline.Pipeline, log labelsync.Log) *labelsync.Shared {
	t.Helper()
	s, err := labelsync.NewShared(context.Background(), pl, log, labelsync.Options{Poll: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSharedConformance(t *testing.T) {
	dir := blocks(t)
	labelsynctest.Run(t, func(t *testing.T) labelsynctest.Store {
		pl := store(t, dir)
		return labelsynctest.Store{Editor: shared(t, pl, newMemLog()), Pipeline: pl}
	})
}

// TestSharedFailure: with the log unreachable an edit is refused with
// ErrUnavailable and stores nothing; another server's edits made before
// the outage apply once the log is back; a store with labels of its own
// and a store from another log are refused.
func TestSharedFailure(t *testing.T) {
	ctx := context.Background()
	dir := blocks(t)
	log := newMemLog()
	plA, plB := store(t, dir), store(t, dir)
	a, b := shared(t, plA, log), shared(t, plB, log)
	list := labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: "l.txt", Body: []byte("12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw\n"),
		Options: label.ImportOptions{Format: "address_list", Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}}
	if _, err := a.Do(ctx, "alice", list); err != nil {
		t.Fatal(err)
	}
	log.setDown(true)
	rm := labelsync.Edit{Kind: labelsync.KindRemoveSource, Source: label.OFACSource}
	if _, err := b.Do(ctx, "bob", rm); !errors.Is(err, labelsync.ErrUnavailable) {
		t.Fatalf("edit with the log down: %v, want ErrUnavailable", err)
	}
	if _, err := b.CatchUp(ctx); !errors.Is(err, labelsync.ErrUnavailable) {
		t.Fatalf("catch-up with the log down: %v", err)
	}
	if b.Position() != 0 {
		t.Fatalf("B applied %d entries of an unreachable log", b.Position())
	}
	log.setDown(false)
	if n, err := b.CatchUp(ctx); err != nil || n != 1 {
		t.Fatalf("catch-up after the outage: %d %v", n, err)
	}
	labelsynctest.Equal(t, "labels of A and B", labelsynctest.Dump(t, plA), labelsynctest.Dump(t, plB))
	if st := labelsynctest.Dump(t, plB).Stats; st.Labels != 1 {
		t.Fatalf("B holds %d labels, want the 1 A imported", st.Labels)
	}

	// A store with labels of its own cannot join; nor one that applied
	// more than the log holds.
	plC := store(t, dir)
	if _, err := labelsync.NewLocal(plC).Do(ctx, "carol", list); err != nil {
		t.Fatal(err)
	}
	if _, err := labelsync.NewShared(ctx, plC, log, labelsync.Options{}); err == nil {
		t.Error("a store with labels of its own joined a shared log")
	}
	if _, err := labelsync.NewShared(ctx, plB, newMemLog(), labelsync.Options{}); err == nil {
		t.Error("a store that applied 1 entry joined an empty log")
	}
	// The CLI's paths refuse a shared store.
	if _, err := labelsync.NewLocal(plB).Do(ctx, "dave", rm); !errors.Is(err, label.ErrShared) {
		t.Errorf("a local edit of a shared store: %v, want label.ErrShared", err)
	}
}

// TestRunAppliesOthersEdits: B's Run applies A's edit without B being
// asked, after a wake-up.
func TestRunAppliesOthersEdits(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	dir := blocks(t)
	log := newMemLog()
	plA, plB := store(t, dir), store(t, dir)
	a, b := shared(t, plA, log), shared(t, plB, log)
	done := make(chan struct{})
	go func() { b.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	list := labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: "l.txt", Body: []byte("12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw\n"),
		Options: label.ImportOptions{Format: "address_list", Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}}
	if _, err := a.Do(ctx, "alice", list); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for b.Position() < 1 {
		if time.Now().After(deadline) {
			t.Fatal("B did not apply A's edit within 5 s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	labelsynctest.Equal(t, "labels of A and B", labelsynctest.Dump(t, plA), labelsynctest.Dump(t, plB))
}
