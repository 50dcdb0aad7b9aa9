// Package pgtest gives tests a PostgreSQL schema of their own on the
// throwaway server scripts/postgres.sh starts (TEST_PG_DSN), or skips
// them with a message when there is none. Test support: only _test.go
// files may import it (internal/lint).
package pgtest

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"sync/atomic"
	"testing"

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
	return d
}

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
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
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
