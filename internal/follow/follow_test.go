package follow

import (
	"context"
	"encoding/binary"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-zeromq/zmq4"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// simChain is a simulated chain: best-chain records by height and one
// stale branch (records in order) leaving it after height fork.
type simChain struct {
	best  [][]byte
	stale [][]byte
	fork  int
}

func newSimChain(t testing.TB) simChain {
	t.Helper()
	var c simChain
	var staleOf map[btc.Hash][]byte
	c.best, staleOf = simBlocks(t, 0.5)
	for h, r := range c.best {
		if s := staleOf[recordHash(r)]; s != nil && h+1 < len(c.best) {
			c.fork = h
			for ; s != nil; s = staleOf[recordHash(s)] {
				c.stale = append(c.stale, s)
			}
			break
		}
	}
	if c.stale == nil {
		t.Fatal("the simulated chain has no stale branch")
	}
	return c
}

// simBlocks simulates a chain (seed 11) and returns its best-chain records
// by height and its stale records by parent hash.
func simBlocks(t testing.TB, scale float64) (best [][]byte, staleOf map[btc.Hash][]byte) {
	t.Helper()
	staleOf = map[btc.Hash][]byte{}
	for _, b := range simtest.Blocks(t, simtest.Chain(t, 11, scale)) {
		if !b.Stale {
			for len(best) <= b.Height {
				best = append(best, nil)
			}
			best[b.Height] = b.Record
			continue
		}
		hdr, err := blockfile.ParseHeader(b.Record[blockfile.FrameSize:][:blockfile.HeaderSize])
		if err != nil {
			t.Fatal(err)
		}
		staleOf[hdr.Prev] = b.Record
	}
	return best, staleOf
}

func recordHash(r []byte) btc.Hash {
	return blockfile.HeaderHash(r[blockfile.FrameSize:][:blockfile.HeaderSize])
}

// branch is the best chain to fork, then the stale branch.
func (c simChain) branch() [][]byte {
	return append(append([][]byte(nil), c.best[:c.fork+1]...), c.stale...)
}

// eventLog collects a follower's events for the test to wait on.
type eventLog struct {
	mu     sync.Mutex
	events []Event
	ch     chan struct{}
}

func newEventLog() *eventLog { return &eventLog{ch: make(chan struct{}, 1)} }

func (l *eventLog) add(e Event) {
	l.mu.Lock()
	l.events = append(l.events, e)
	l.mu.Unlock()
	select {
	case l.ch <- struct{}{}:
	default:
	}
}

// connected reports whether l holds the connection of h.
func (l *eventLog) connected(h btc.Hash) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Kind == BlockConnected && e.Hash == h {
			return true
		}
	}
	return false
}

func (l *eventLog) take() []Event {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.events
	l.events = nil
	return e
}

// waitTip waits until the follower has emitted the connection of want,
// failing after a generous deadline (a hang guard, not a timing
// assertion). Events stay in l for take. The store is not read meanwhile:
// index.DB is not safe for reads during an ingest.
func waitTip(t testing.TB, want btc.Hash, l *eventLog, errc <-chan error) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if l.connected(want) {
			return
		}
		select {
		case <-l.ch:
		case <-time.After(20 * time.Millisecond):
		case err := <-errc:
			t.Fatalf("follower stopped: %v", err)
		case <-deadline:
			t.Fatalf("block %s not connected", want)
		}
	}
}

type testFollower struct {
	*Follower
	store *IndexStore
	db    *index.DB
	log   *eventLog
	logs  *logCapture
	errc  chan error
}

// startFollower runs a follower of n into a fresh store until the test ends.
func startFollower(t testing.TB, cfg Config, rpc RPCConfig) *testFollower {
	t.Helper()
	dir := t.TempDir()
	db := indextest.Open(t, filepath.Join(dir, "db"))
	c, err := NewRPC(rpc)
	if err != nil {
		t.Fatal(err)
	}
	tf := &testFollower{store: &IndexStore{DB: db}, db: db, log: newEventLog(), logs: &logCapture{}, errc: make(chan error, 1)}
	cfg.RPC, cfg.SpoolDir, cfg.Network, cfg.Store, cfg.OnEvent = c, filepath.Join(dir, "spool"), btc.Mainnet, tf.store, tf.log.add
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t, tf.logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	f, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	tf.Follower = f
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(ctx); err != nil {
			tf.errc <- err
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		f.Close()
	})
	return tf
}

// testWriter sends log lines to t and, if set, to a capture.
type testWriter struct {
	t   testing.TB
	cap *logCapture
}

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(string(b[:len(b)-1]))
	if w.cap != nil {
		w.cap.mu.Lock()
		w.cap.l = append(w.cap.l, string(b))
		w.cap.mu.Unlock()
	}
	return len(b), nil
}

// logCapture keeps log lines for a test to look for.
type logCapture struct {
	mu sync.Mutex
	l  []string
}

func (c *logCapture) has(s string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, l := range c.l {
		if strings.Contains(l, s) {
			return true
		}
	}
	return false
}

func (c *logCapture) lines() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.l...)
}

// freshDigest ingests records into a new store and returns its digest of
// the chain (not of how files were read) and stats.
func freshDigest(t *testing.T, records [][]byte) ([32]byte, index.StatsView) {
	t.Helper()
	dir := t.TempDir()
	simtest.AppendRecords(t, dir, records...)
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{BlocksDir: dir})
	return chainDigest(t, db), db.Stats()
}

func chainDigest(t *testing.T, db *index.DB) [32]byte {
	t.Helper()
	d, err := db.Digest(context.Background(), index.ReadKeyspaces...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// publisher is a real ZMQ PUB socket on loopback sending bitcoind's
// sequence and hashblock messages.
type publisher struct {
	sock zmq4.Socket
	seq  map[string]uint32
}

func newPublisher(t testing.TB) (*publisher, string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	sock := zmq4.NewPub(ctx)
	if err := sock.Listen("tcp://127.0.0.1:0"); err != nil {
		cancel()
		t.Fatalf("zmq listen: %v", err)
	}
	t.Cleanup(func() { sock.Close(); cancel() })
	return &publisher{sock: sock, seq: map[string]uint32{}}, "tcp://" + sock.Addr().String()
}

// block announces hash as connected, as bitcoind does on both topics.
func (p *publisher) block(t testing.TB, hash btc.Hash) {
	t.Helper()
	var rev [32]byte
	for i := range rev {
		rev[i] = hash[31-i]
	}
	for _, m := range [][2][]byte{{[]byte("sequence"), append(rev[:], 'C')}, {[]byte("hashblock"), rev[:]}} {
		topic := string(m[0])
		seq := binary.LittleEndian.AppendUint32(nil, p.seq[topic])
		p.seq[topic]++
		if err := p.sock.Send(zmq4.NewMsgFrom(m[0], m[1], seq)); err != nil {
			t.Fatalf("zmq send: %v", err)
		}
	}
}

// TestFollowNode: the follower catches up with a node, ingests a block
// the node announces over ZMQ at the endpoint getzmqnotifications names
// (with polling set to an hour, only the ZMQ wake-up can bring it), follows a reorg to a longer branch (emitting the
// disconnected blocks), and ends equal to a fresh ingest of the node's
// best chain.
func TestFollowNode(t *testing.T) {
	c := newSimChain(t)
	node := newFakeNode(t, "main")
	pub, endpoint := newPublisher(t)
	branch := c.branch()
	if len(branch) < 3 || len(c.best) < len(branch)+1 {
		t.Fatalf("simulated chain too small: %d best blocks, branch of %d", len(c.best), len(branch))
	}
	node.setChain(branch[:len(branch)-1])
	// The node names its ZMQ endpoint with a wildcard host, as bitcoind
	// does for -zmqpubsequence=tcp://0.0.0.0:PORT.
	node.setZMQ(strings.Replace(endpoint, "127.0.0.1", "0.0.0.0", 1))
	f := startFollower(t, Config{ZMQ: "auto", Poll: time.Hour, BatchBlocks: 7}, RPCConfig{URL: node.url(), REST: true})
	waitTip(t, node.tip(), f.log, f.errc)

	// The node mines the stale branch's last block and announces it.
	node.setChain(branch)
	stop := make(chan struct{})
	go func() { // ZMQ is lossy at subscription time: repeat until seen
		for {
			pub.block(t, node.tip())
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	waitTip(t, node.tip(), f.log, f.errc)
	close(stop)
	f.log.take()

	// The best chain overtakes the stale branch: a reorg.
	longer := c.best[:len(branch)+1]
	node.setChain(longer)
	f.Wake()
	waitTip(t, node.tip(), f.log, f.errc)
	var disc, conn int
	for _, e := range f.log.take() {
		switch e.Kind {
		case BlockDisconnected:
			disc++
		case BlockConnected:
			conn++
		}
	}
	if disc != len(c.stale) || conn != len(longer)-1-c.fork {
		t.Fatalf("reorg events: %d disconnected, %d connected; want %d, %d", disc, conn, len(c.stale), len(longer)-1-c.fork)
	}
	want, wantStats := freshDigest(t, longer)
	if chainDigest(t, f.db) != want || f.db.Stats() != wantStats {
		t.Fatalf("store after the reorg differs from a fresh ingest of the new best chain: %+v vs %+v", f.db.Stats(), wantStats)
	}
}

// TestZMQGap: a gap in a topic's sequence numbers (messages the PUB socket
// dropped) is logged and wakes the follower; a message that is not a
// notification is logged and ignored.
func TestZMQGap(t *testing.T) {
	c := newSimChain(t)
	node := newFakeNode(t, "main")
	node.setChain(c.best[:3])
	pub, endpoint := newPublisher(t)
	f := startFollower(t, Config{ZMQ: endpoint, Poll: time.Hour}, RPCConfig{URL: node.url()})
	logs := f.logs
	waitTip(t, node.tip(), f.log, f.errc)
	node.setChain(c.best[:4])
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		for {
			// Only hashblock, with the sequence jumping by 5 each time.
			seq := binary.LittleEndian.AppendUint32(nil, pub.seq["hashblock"])
			pub.seq["hashblock"] += 5
			var rev [32]byte
			pub.sock.Send(zmq4.NewMsgFrom([]byte("hashblock"), rev[:], seq))
			pub.sock.Send(zmq4.NewMsgFrom([]byte("hashblock"), []byte("short"), seq))
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	}()
	waitTip(t, node.tip(), f.log, f.errc)
	deadline := time.After(30 * time.Second)
	for !logs.has("zmq: notifications lost") || !logs.has("zmq: ignoring message") {
		select {
		case <-deadline:
			t.Fatalf("gap or malformed message not logged: %v", logs.lines())
		case <-time.After(20 * time.Millisecond):
		}
	}
}
