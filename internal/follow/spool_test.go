package follow

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestSpool: records roll over to a new file at the size limit, and a
// record cut by a crash is truncated on reopen so appends go on after the
// last whole record; the index reads the spool as a blocks directory.
func TestSpool(t *testing.T) {
	c := newSimChain(t)
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "spool")
	s, err := OpenSpool(ctx, dir, btc.Mainnet.Magic, 1024)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.best[:20] {
		if err := s.Append(r[blockfile.FrameSize:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Append(make([]byte, 10)); err == nil {
		t.Fatal("a 10-byte block was appended")
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	s.Close()
	files, _ := blockfile.ListFiles(dir)
	if len(files) < 2 {
		t.Fatalf("%d spool files after 20 blocks with a 1 KiB limit, want a roll-over", len(files))
	}
	// A crash in the middle of an append.
	last := files[len(files)-1]
	f, err := os.OpenFile(last, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	half := c.best[20][:len(c.best[20])/2]
	f.Write(half)
	f.Close()
	s, err = OpenSpool(ctx, dir, btc.Mainnet.Magic, 1024)
	if err != nil {
		t.Fatalf("reopen after a torn append: %v", err)
	}
	for _, r := range c.best[20:30] {
		if err := s.Append(r[blockfile.FrameSize:]); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync()
	s.Close()
	var got bytes.Buffer
	files, _ = blockfile.ListFiles(dir)
	for _, p := range files {
		b, _ := os.ReadFile(p)
		got.Write(b)
	}
	if !bytes.Equal(got.Bytes(), bytes.Join(c.best[:30], nil)) {
		t.Fatal("spool files do not hold exactly the appended records")
	}
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	if h := db.Stats().Height; h != 29 {
		t.Fatalf("index of the spool at height %d, want 29", h)
	}
}

// TestFollowBlocksDir: following a node's own blocks directory, a record
// still being written is waited for, then connected with an event.
func TestFollowBlocksDir(t *testing.T) {
	c := newSimChain(t)
	ctx := context.Background()
	dir := t.TempDir()
	simtest.AppendRecords(t, dir, c.best[:10]...)
	rec := c.best[10]
	simtest.AppendRecords(t, dir, rec[:len(rec)/3])
	db := indextest.Open(t, t.TempDir())
	var events []Event
	lag := int64(-1)
	f, err := New(ctx, Config{BlocksDir: dir, Network: btc.Mainnet, Store: &IndexStore{DB: db}, OnEvent: func(e Event) {
		if e.Kind == Lag {
			lag = e.Lag // a directory's rounds end caught up with it
			return
		}
		events = append(events, e)
	}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.SyncAll(ctx); err != nil {
		t.Fatalf("half-written record: %v", err)
	}
	if h := db.Stats().Height; h != 9 || len(events) != 10 || lag != 0 {
		t.Fatalf("height %d, %d events, lag %d; want 9, 10, 0", h, len(events), lag)
	}
	simtest.AppendRecords(t, dir, rec[len(rec)/3:])
	events = nil
	if err := f.SyncAll(ctx); err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 || events[0].Kind != BlockConnected || events[0].Height != 10 || events[0].Hash != recordHash(rec) {
		t.Fatalf("events after the record completed: %+v", events)
	}
	// Another network's files are refused, naming the file.
	other := t.TempDir()
	bad := append([]byte(nil), c.best[0]...)
	binary.LittleEndian.PutUint32(bad[:4], 0x0709110b)
	simtest.AppendRecords(t, other, bad)
	g, _ := New(ctx, Config{BlocksDir: other, Network: btc.Mainnet, Store: &IndexStore{DB: indextest.Open(t, t.TempDir())}})
	if err := g.SyncAll(ctx); err == nil || !bytes.Contains([]byte(err.Error()), []byte("blk00000.dat")) {
		t.Fatalf("another network's blocks: %v", err)
	}
}

// TestForeignStore: a store built from one blocks directory is not fed
// another (a spool, or another node's files): the index keeps file numbers
// and offsets, not the directory, and would read the wrong files.
func TestForeignStore(t *testing.T) {
	c := newSimChain(t)
	ctx := context.Background()
	dir := t.TempDir()
	simtest.AppendRecords(t, dir, c.best[:5]...)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	rpc, err := NewRPC(RPCConfig{URL: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	simtest.AppendRecords(t, other, c.best[:3]...)
	cases := []struct {
		name string
		cfg  Config
		err  error
	}{
		{"spool", Config{RPC: rpc, SpoolDir: filepath.Join(t.TempDir(), "spool")}, ErrForeignStore},
		{"other blocks directory", Config{BlocksDir: other}, ErrForeignStore},
		{"its own directory", Config{BlocksDir: dir}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Network, tc.cfg.Store = btc.Mainnet, &IndexStore{DB: db}
			f, err := New(ctx, tc.cfg)
			if !errors.Is(err, tc.err) {
				t.Fatalf("New: %v, want %v", err, tc.err)
			}
			if f != nil {
				f.Close()
			}
		})
	}
}

// TestRestart: a follower stopped after appending to the spool but before
// ingesting (a crash between the two) resumes with the same store and
// spool, and the store ends equal to a fresh ingest of the node's chain.
func TestRestart(t *testing.T) {
	c := newSimChain(t)
	ctx := context.Background()
	node := newFakeNode(t, "main")
	node.setChain(c.best[:20])
	dir := t.TempDir()
	db := indextest.Open(t, filepath.Join(dir, "db"))
	rpc, err := NewRPC(RPCConfig{URL: node.url()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{RPC: rpc, SpoolDir: filepath.Join(dir, "spool"), Network: btc.Mainnet, Logger: slog.New(slog.DiscardHandler)}
	run := func() {
		t.Helper()
		cfg.Store = &IndexStore{DB: db}
		f, err := New(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := f.SyncAll(ctx); err != nil {
			t.Fatal(err)
		}
	}
	run()
	// The crash: blocks 20-24 reached the spool, the index never read them.
	s, err := OpenSpool(ctx, cfg.SpoolDir, btc.Mainnet.Magic, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range c.best[20:25] {
		if err := s.Append(r[blockfile.FrameSize:]); err != nil {
			t.Fatal(err)
		}
	}
	s.Sync()
	s.Close()
	node.setChain(c.best[:30])
	run()
	r, err := db.Check(ctx)
	if err != nil || !r.OK() {
		t.Fatalf("check after restart: %v %v", err, r)
	}
	want, wantStats := freshDigest(t, c.best[:30])
	if chainDigest(t, db) != want || db.Stats() != wantStats {
		t.Fatalf("store after the restart differs from a fresh ingest: %+v vs %+v", db.Stats(), wantStats)
	}
}
