// Package pgtest gives tests a PostgreSQL schema of their own on the
// throwaway server scripts/postgres.sh starts (TEST_PG_DSN), or skips
// them with a message when there is none; a TCP proxy that cuts
// PostgreSQL away (Proxy); and a restart of that very server (Restart,
// on the directory TEST_PG_DIR names), which waits until no test of any
// package is using the server. Test support: only _test.go
// files may import it (internal/lint).
package pgtest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// DSN returns the test server's DSN (scripts/postgres.sh run sets
// TEST_PG_DSN; make test does), or skips.
func DSN(t testing.TB) string {
	t.Helper()
	d := os.Getenv("TEST_PG_DSN")
	if d == "" {
		t.Skip("TEST_PG_DSN is not set: run under scripts/postgres.sh run (make test does)")
	}
	if dir := os.Getenv("TEST_PG_DIR"); dir != "" && !restarting.Load() {
		// Held to the test's end: a test that restarts the server waits
		// for it (RestartDir).
		release, err := lockFile(filepath.Join(dir, lockName), false)
		if err != nil {
			t.Fatalf("lock the test server for this test: %v", err)
		}
		shared.Add(1)
		t.Cleanup(func() { release(); shared.Add(-1) })
	}
	return d
}

// lockName is the file in the server's directory (TEST_PG_DIR) whose
// flock makes a restart wait for the tests using the server, in every
// package's test binary: each test holds it shared from its first DSN to
// its end, a test that restarts the server holds it exclusively.
const lockName = "tests.lock"

var (
	// restarting: this process's test holds lockName exclusively.
	restarting atomic.Bool
	// shared counts this process's shared holds of lockName.
	shared atomic.Int64
)

var schemaSeq atomic.Int64

// FreshSchema creates an empty schema, dropped when the test ends, and
// returns a DSN whose connections use it, so that each test sees an empty
// database.
func FreshSchema(t testing.TB) string {
	t.Helper()
	base := DSN(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

// Proxy forwards TCP connections to PostgreSQL until cut: then it drops
// every open connection and refuses new ones, as an unreachable or
// restarting server does, until restored. Tests of what servers do while
// PostgreSQL is away point their DSN at it (Via).
type Proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  []net.Conn
	// cutOn, when set, cuts the connection whose client sends it next
	// (CutOn); forward says whether that message reaches PostgreSQL.
	cutOn   []byte
	forward bool
}

// NewProxy starts a proxy to the server of DSN d, closed when the test
// ends.
func NewProxy(t testing.TB, d string) *Proxy {
	t.Helper()
	u, err := url.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, target: u.Host}
	t.Cleanup(func() { ln.Close(); p.Cut(true) })
	go p.serve()
	return p
}

func (p *Proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			p.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { p.toServer(c, up); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// toServer copies what client c sends to PostgreSQL (up), cutting the
// connection at the message CutOn armed the proxy for.
func (p *Proxy) toServer(c, up net.Conn) {
	buf := make([]byte, 32<<10)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			p.mu.Lock()
			cut := p.cutOn != nil && bytes.Contains(buf[:n], p.cutOn)
			forward := p.forward
			if cut {
				p.cutOn = nil
			}
			p.mu.Unlock()
			if cut {
				// The client never hears back: its connection closes
				// first. PostgreSQL gets the message (and then an end of
				// connection) or only the end of connection.
				c.Close()
				if forward {
					_, _ = up.Write(buf[:n])
					time.Sleep(200 * time.Millisecond) // PostgreSQL acts on it before the connection ends
				}
				return
			}
			if _, werr := up.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// CutOn arms the proxy to cut the next connection whose client sends a
// chunk containing pattern (for example "commit\x00", a COMMIT in either
// of PostgreSQL's query protocols): the client's side closes before any
// answer reaches it, and the chunk reaches PostgreSQL first when forward
// is true, so that the client cannot know whether it took effect. It
// fires once.
func (p *Proxy) CutOn(pattern string, forward bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cutOn, p.forward = []byte(pattern), forward
}

// Cut makes PostgreSQL unreachable through the proxy (down) or reachable
// again.
func (p *Proxy) Cut(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for _, c := range p.conns {
			c.Close()
		}
		p.conns = nil
	}
}

// Via returns DSN d with its host and port replaced by the proxy's, and a
// 2 s connect timeout.
func (p *Proxy) Via(t testing.TB, d string) string {
	t.Helper()
	u, err := url.Parse(d)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = p.ln.Addr().String()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String()
}

// RestartDir returns the directory of the test server, which
// scripts/postgres.sh run names in TEST_PG_DIR so that a test may restart
// the very server it runs on, or skips. It makes the test the server's
// only user until it ends (waiting for the tests of other packages to
// finish theirs), so it must come before the test's first DSN or
// FreshSchema.
func RestartDir(t testing.TB) string {
	t.Helper()
	if os.Getenv("TEST_PG_DSN") == "" {
		DSN(t) // skips
	}
	d := os.Getenv("TEST_PG_DIR")
	if d == "" {
		t.Skip("TEST_PG_DIR is not set: run under scripts/postgres.sh run, which names the server's directory so a test can restart it")
	}
	if restarting.Load() {
		return d
	}
	if shared.Load() > 0 {
		t.Fatal("pgtest: call RestartDir before DSN or FreshSchema: this test holds the server shared and would wait for itself")
	}
	// Tests of other packages may be using the server at this moment (go
	// test runs packages side by side): wait until none is, and keep new
	// ones waiting until this test ends.
	release, err := lockFile(filepath.Join(d, lockName), true)
	if err != nil {
		t.Fatalf("lock the test server to restart it: %v", err)
	}
	restarting.Store(true)
	t.Cleanup(func() { restarting.Store(false); release() })
	return d
}

// Restarting tells a test where a restart (Restart) is: each channel is
// closed once the server has got there.
type Restarting struct {
	// Down: the server has stopped (every session ended).
	Down <-chan struct{}
	// Starting: the pause is over and the server is being started; it
	// may accept connections from now on. Between Down and Starting it
	// surely accepts none.
	Starting <-chan struct{}
	// Up: the server accepts connections again.
	Up <-chan struct{}
}

// Restart restarts the test server (scripts/postgres.sh restart): it
// stops it by its PID, which ends every session as a real restart does,
// keeps it down for pause, and starts it again on the same data directory
// and port. It returns at once; the test waits for the restart to end
// before it ends.
func Restart(t testing.TB, pause time.Duration) Restarting {
	t.Helper()
	dir := RestartDir(t)
	script, err := findScript()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(script, "restart", dir, strconv.FormatFloat(pause.Seconds(), 'f', 3, 64))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("restart PostgreSQL: %v", err)
	}
	marks := map[string]chan struct{}{"down": make(chan struct{}), "starting": make(chan struct{}), "up": make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if c, ok := marks[sc.Text()]; ok {
				close(c)
				delete(marks, sc.Text())
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Errorf("scripts/postgres.sh restart %s: %v", dir, err)
		}
	}()
	t.Cleanup(func() { <-done })
	return Restarting{Down: marks["down"], Starting: marks["starting"], Up: marks["up"]}
}

// findScript finds scripts/postgres.sh in the repository holding the
// working directory (a test runs in its package's directory).
func findScript() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "scripts", "postgres.sh")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("scripts/postgres.sh not found above the working directory")
		}
		dir = parent
	}
}
