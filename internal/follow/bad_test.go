package follow

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestCookieRotation: bitcoind writes a new cookie at every start. The
// client rereads the file when the node answers 401, so a rotated cookie
// costs one retried request; until the new file is there the error is
// ErrAuth, which the follower treats as transient.
func TestCookieRotation(t *testing.T) {
	c := newSimChain(t)
	node := newFakeNode(t, "main")
	node.setChain(c.best[:3])
	cookie := filepath.Join(t.TempDir(), ".cookie")
	node.useCookie(cookie)
	rpc, err := NewRPC(RPCConfig{URL: node.url(), CookieFile: cookie})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := rpc.BestBlockHash(ctx); err != nil {
		t.Fatalf("with the first cookie: %v", err)
	}
	node.useCookie(cookie) // restart: new secret, new file
	if h, err := rpc.BestBlockHash(ctx); err != nil || h != node.tip() {
		t.Fatalf("after rotation: %v, %v", h, err)
	}
	// The node restarts and the client asks before the new file is read:
	// simulate by rotating the secret, then putting the old file back.
	old := readFile(t, cookie)
	node.useCookie(cookie)
	newer := readFile(t, cookie)
	writeFile(t, cookie, old)
	_, err = rpc.BestBlockHash(ctx)
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("stale cookie: %v, want ErrAuth", err)
	}
	f := &Follower{cfg: Config{RPC: rpc}}
	if !f.Transient(err) {
		t.Fatal("a cookie mismatch must be retried: the node may be restarting")
	}
	writeFile(t, cookie, newer)
	if _, err := rpc.BestBlockHash(ctx); err != nil {
		t.Fatalf("after the new cookie appeared: %v", err)
	}
}

// TestBadConditions: wrong network, wrong password and a reorg deeper than
// allowed stop the follower with a clear error; a node that goes down and
// comes back is waited for.
func TestBadConditions(t *testing.T) {
	c := newSimChain(t)
	t.Run("wrong network", func(t *testing.T) {
		node := newFakeNode(t, "test")
		node.setChain(c.best[:2])
		f := startFollower(t, Config{Poll: 10 * time.Millisecond}, RPCConfig{URL: node.url()})
		err := waitErr(t, f.errc)
		if !errors.Is(err, ErrWrongNetwork) {
			t.Fatalf("got %v, want ErrWrongNetwork", err)
		}
		if h, _ := f.store.Tip(); h != -1 {
			t.Fatalf("ingested up to %d from a node on another network", h)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		node := newFakeNode(t, "main")
		node.setChain(c.best[:2])
		node.setAuth("alice", "right")
		f := startFollower(t, Config{Poll: 10 * time.Millisecond}, RPCConfig{URL: node.url(), User: "alice", Pass: "wrong"})
		if err := waitErr(t, f.errc); !errors.Is(err, ErrAuth) {
			t.Fatalf("got %v, want ErrAuth", err)
		}
	})
	t.Run("reorg too deep", func(t *testing.T) {
		node := newFakeNode(t, "main")
		node.setChain(c.best[:c.fork+4])
		f := startFollower(t, Config{Poll: 10 * time.Millisecond, ReorgDepth: 2}, RPCConfig{URL: node.url()})
		waitTip(t, node.tip(), f.log, f.errc)
		node.setChain(c.branch()) // leaves the indexed chain 3 blocks below its tip
		if err := waitErr(t, f.errc); !errors.Is(err, ErrReorgTooDeep) {
			t.Fatalf("got %v, want ErrReorgTooDeep", err)
		}
	})
	t.Run("node warming up", func(t *testing.T) {
		node := newFakeNode(t, "main")
		node.setChain(c.best[:4])
		node.setWarmup(true)
		rpc, _ := NewRPC(RPCConfig{URL: node.url()})
		if _, err := rpc.ChainInfo(context.Background()); !errors.Is(err, ErrWarmingUp) {
			t.Fatalf("starting node: %v, want ErrWarmingUp", err)
		}
		f := startFollower(t, Config{Poll: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}, RPCConfig{URL: node.url()})
		time.Sleep(50 * time.Millisecond) // let it meet the warm-up answers
		node.setWarmup(false)
		waitTip(t, node.tip(), f.log, f.errc)
	})
	t.Run("node down then up", func(t *testing.T) {
		node := newFakeNode(t, "main")
		node.setChain(c.best[:5])
		f := startFollower(t, Config{Poll: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond}, RPCConfig{URL: node.url()})
		waitTip(t, node.tip(), f.log, f.errc)
		node.stop()
		rpc, _ := NewRPC(RPCConfig{URL: node.url(), Timeout: time.Second})
		if _, err := rpc.ChainInfo(context.Background()); !errors.Is(err, ErrUnreachable) {
			t.Fatalf("down node: %v, want ErrUnreachable", err)
		}
		node.setChain(c.best[:9])
		time.Sleep(100 * time.Millisecond) // let the follower meet the closed port
		node.start()
		waitTip(t, node.tip(), f.log, f.errc)
	})
}

func waitErr(t *testing.T, errc <-chan error) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(60 * time.Second):
		t.Fatal("the follower did not stop")
		return nil
	}
}

// TestChainMovedIsTransient: a node in the middle of a reorg can answer a
// height or block the round read a moment ago as gone (btcd: "Block number
// out of range"); the follower retries from the node's new tip instead of
// stopping. Other RPC errors of those calls, and of other calls, are not
// taken for it.
func TestChainMovedIsTransient(t *testing.T) {
	f := &Follower{}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{&RPCError{Method: "getblockhash", Code: -1, Message: "Block number out of range"}, true},
		{&RPCError{Method: "getblockhash", Code: -8, Message: "Block height out of range"}, true},
		{&RPCError{Method: "getblock", Code: -5, Message: "Block not found"}, true},
		{&RPCError{Method: "getblockheader", Code: -5, Message: "Block not found"}, true},
		{&RPCError{Method: "getblock", Code: -1, Message: "Block not available (pruned data)"}, false},
		{&RPCError{Method: "getblockchaininfo", Code: -8, Message: "out of range"}, false},
		{errors.New("getblockhash: out of range"), false},
	} {
		if got := f.Transient(tc.err); got != tc.want {
			t.Errorf("Transient(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
