//go:build unix

package follow

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// TestBtcdRegtest follows a real btcd v0.25.0 in regtest on loopback
// (scripts/btcd-regtest.sh install builds it into gen/bin): the follower
// ingests blocks mined with generate, then a reorg made with
// invalidateblock and a longer branch.
func TestBtcdRegtest(t *testing.T) {
	rpc, dir := startBtcd(t)
	ctx := context.Background()
	generate := func(n int) []string {
		t.Helper()
		var hashes []string
		if err := rpc.Call(ctx, "generate", &hashes, n); err != nil {
			t.Fatalf("generate %d: %v", n, err)
		}
		return hashes
	}
	mined := generate(5)

	db := openRegtest(t, filepath.Join(dir, "db"))
	l := newEventLog()
	_, errc, _ := followBtcd(t, rpc, db, Config{SpoolDir: filepath.Join(dir, "spool"), OnEvent: l.add})
	waitTip(t, mustHash(t, mined[4]), l, errc)
	l.take()

	// Reorg: invalidate block 4, mine a longer branch from block 3.
	if err := rpc.Call(ctx, "invalidateblock", nil, mined[3]); err != nil {
		t.Fatalf("invalidateblock: %v", err)
	}
	branch := generate(3)
	waitTip(t, mustHash(t, branch[2]), l, errc)
	var disc, conn int
	for _, e := range l.take() {
		switch e.Kind {
		case BlockDisconnected:
			disc++
		case BlockConnected:
			conn++
		}
	}
	if disc != 2 || conn != 3 {
		t.Fatalf("reorg: %d disconnected, %d connected; want 2, 3", disc, conn)
	}
}

// startBtcd starts btcd v0.25.0 in regtest on a free loopback port (the
// test skips when scripts/btcd-regtest.sh install has not built it, or
// with -short), waits until its RPC answers and stops it when the test
// ends. It returns the RPC client and the node's directory.
func startBtcd(t *testing.T) (*RPC, string) {
	t.Helper()
	root, _ := filepath.Abs("../..")
	bin := filepath.Join(root, "gen", "bin", "btcd")
	if _, err := os.Stat(bin); err != nil {
		t.Skipf("no btcd at %s: run scripts/btcd-regtest.sh install", bin)
	}
	if testing.Short() {
		t.Skip("starts a btcd node")
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := lis.Addr().(*net.TCPAddr).Port
	lis.Close()
	dir := t.TempDir()
	script := filepath.Join(root, "scripts", "btcd-regtest.sh")
	cmd := exec.Command(script, "start", dir)
	cmd.Env = append(os.Environ(), "BTCD_RPC_PORT="+strconv.Itoa(port))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("start btcd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command(script, "stop", dir).CombinedOutput(); err != nil {
			t.Errorf("stop btcd: %v: %s", err, out)
		}
	})
	rpc, err := NewRPC(RPCConfig{URL: "http://127.0.0.1:" + strconv.Itoa(port), User: "sleuth", Pass: "sleuth", Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for {
		_, err := rpc.ChainInfo(ctx)
		if err == nil {
			break
		}
		exited := false
		if pid, perr := os.ReadFile(filepath.Join(dir, "btcd.pid")); perr == nil {
			n, _ := strconv.Atoi(strings.TrimSpace(string(pid)))
			exited = n <= 0 || syscall.Kill(n, 0) != nil
		}
		if exited || time.Now().After(deadline) || !(errors.Is(err, ErrUnreachable) || errors.Is(err, ErrWarmingUp)) {
			out, _ := os.ReadFile(filepath.Join(dir, "btcd.out"))
			t.Fatalf("btcd did not come up: %v\n%s", err, out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return rpc, dir
}

// openRegtest opens (creating) a regtest store in dir, closed when the
// test ends.
func openRegtest(t *testing.T, dir string) *index.DB {
	t.Helper()
	db, err := index.Open(dir, &index.Options{Network: btc.Regtest, CacheSize: 16 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// followBtcd runs a follower of rpc into db with cfg's SpoolDir, OnEvent
// (called from the follower's goroutine after each ingest), ZMQ, Poll
// (default 50 ms) and Store (default an IndexStore of db). Run's error
// arrives on errc; stop ends the follower and may be called again (the
// test's cleanup does).
func followBtcd(t *testing.T, rpc *RPC, db *index.DB, cfg Config) (f *Follower, errc <-chan error, stop func()) {
	t.Helper()
	ctx := context.Background()
	if cfg.Poll == 0 {
		cfg.Poll = 50 * time.Millisecond
	}
	if cfg.Store == nil {
		cfg.Store = &IndexStore{DB: db}
	}
	cfg.RPC, cfg.Network = rpc, btc.Regtest
	cfg.Logger = slog.New(slog.NewTextHandler(testWriter{t, nil}, nil))
	f, err := New(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	ec, done := make(chan error, 1), make(chan struct{})
	go func() {
		defer close(done)
		if err := f.Run(runCtx); err != nil {
			ec <- err
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done; f.Close() }) }
	t.Cleanup(stop)
	return f, ec, stop
}

func mustHash(t *testing.T, s string) btc.Hash {
	t.Helper()
	h, err := btc.ParseHash(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
