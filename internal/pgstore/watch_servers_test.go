package pgstore

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/apikey/apikeytest"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// sharedServer is one sleuth server of the test: its own chain index,
// the shared stores through the proxy, key set and watchlist copy
// following them as sleuth serve --shared does.
type sharedServer struct {
	db    *index.DB
	pl    *pipeline.Pipeline
	h     http.Handler
	pg    *DB
	keys  *apikey.Set
	lists *watch.Snapshot
	dir   string
}

func newSharedServer(t *testing.T, dsn string, recs [][]byte) *sharedServer {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	s := &sharedServer{dir: t.TempDir(), pg: open(t, dsn)}
	simtest.AppendRecords(t, s.dir, recs...)
	s.db = indextest.Open(t, t.TempDir())
	var err error
	if s.lists, err = watch.NewSnapshot(ctx, s.pg.Watch()); err != nil {
		t.Fatal(err)
	}
	if s.keys, err = apikey.Load(ctx, s.pg.APIKeys(), 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); s.keys.Follow(ctx, s.pg.APIKeys(), 50*time.Millisecond, nil) }()
	go func() { defer wg.Done(); s.lists.Follow(ctx, 50*time.Millisecond, nil) }()
	t.Cleanup(func() { stop(); wg.Wait() })
	s.pl = pipeline.New(s.db, pipeline.Options{Watchlists: s.lists})
	s.h = api.New(s.pl, api.Options{Keys: s.keys, Watchlists: s.pg.Watch(), Cases: s.pg.Cases()})
	s.ingest(t)
	return s
}

func (s *sharedServer) ingest(t *testing.T, more ...[]byte) pipeline.Result {
	t.Helper()
	simtest.AppendRecords(t, s.dir, more...)
	res, err := s.pl.Ingest(context.Background(), pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: s.dir}})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (s *sharedServer) do(method, path, key, body string) (*httptest.ResponseRecorder, map[string]any) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if key != "" {
		req.Header.Set("X-API-Key", key)
	}
	rec := httptest.NewRecorder()
	s.h.ServeHTTP(rec, req)
	var v map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &v)
	return rec, v
}

// TestTwoServersShareKeysAndWatchlists: two servers, each with its own
// index of the same simulated chain, on one PostgreSQL. A key created on
// A authenticates on B within a second and stops there within a second of
// its revocation on A; a watchlist created and extended on A is B's at
// once, and B's alert stage matches its addresses in the next blocks.
// Then PostgreSQL goes away: keys keep working from the last loaded set,
// watchlist writes answer 503 with Retry-After, B's matching keeps the
// last copy; once it is back, a retried write lands and nothing is lost.
func TestTwoServersShareKeysAndWatchlists(t *testing.T) {
	base := freshSchema(t)
	proxy := pgtest.NewProxy(t, base)
	d := proxy.Via(t, base)
	ctx := context.Background()

	out := simtest.Chain(t, 5, 0.1)
	recs := simtest.BestRecords(t, out)
	if len(recs) < 12 {
		t.Fatalf("%d blocks: too few for the test", len(recs))
	}
	n := len(recs)
	first, part1, part2 := recs[:n-10], recs[n-10:n-5], recs[n-5:]
	// Addresses first paid in part1 and in part2, from a scratch index.
	scratch := indextest.Open(t, t.TempDir())
	sdir := t.TempDir()
	newAddr := func(recs [][]byte) string {
		simtest.AppendRecords(t, sdir, recs...)
		next := scratch.Tip().NextAddr
		indextest.Ingest(t, scratch, index.IngestOptions{BlocksDir: sdir})
		if scratch.Tip().NextAddr == next {
			t.Fatal("no new address in the blocks")
		}
		a, _, err := scratch.AddrString(btc.AddrID(next))
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	newAddr(first)
	x, y := newAddr(part1), newAddr(part2)

	a, b := newSharedServer(t, d, first), newSharedServer(t, d, first)

	// A key created on A authenticates on B within a second.
	k, secret, err := apikey.Create(ctx, a.pg.APIKeys(), "analyst", apikey.Write)
	if err != nil {
		t.Fatal(err)
	}
	// (Without keys a server is open, so the key must work and a request
	// without it must not.)
	apikeytest.Within(t, time.Second, "B authenticates A's new key", func() bool {
		with, _ := b.do("GET", "/v1/watchlists", secret, "")
		without, _ := b.do("GET", "/v1/watchlists", "", "")
		return with.Code == 200 && without.Code == 401
	})

	// A watchlist created and extended on A.
	rec, v := a.do("POST", "/v1/watchlists", secret, `{"name":"deposits","addresses":["`+x+`"]}`)
	if rec.Code != 201 {
		t.Fatalf("create on A: %d %s", rec.Code, rec.Body)
	}
	id := uint32(v["id"].(float64))
	if rec, v = b.do("GET", "/v1/watchlists", secret, ""); rec.Code != 200 || len(v["items"].([]any)) != 1 {
		t.Fatalf("B's watchlists: %d %v", rec.Code, v)
	}
	if rec, _ = a.do("POST", "/v1/watchlists/"+itoa(id)+"/items", secret, `{"addresses":["`+y+`"]}`); rec.Code != 200 {
		t.Fatalf("extend on A: %d %s", rec.Code, rec.Body)
	}
	ky, err := address.Decode(y, btc.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	apikeytest.Within(t, time.Second, "B's alert stage holds A's added address", func() bool {
		ok, _ := b.lists.Has(id, ky)
		return ok
	})
	// B's matching picks A's addresses in the blocks it connects next.
	if res := b.ingest(t, part1...); res.Alerts == nil || res.Alerts.Hits == 0 {
		t.Fatalf("B matched no watched address in part 1: %+v", res.Alerts)
	}
	alertsOf := func(s *sharedServer) map[string]bool {
		t.Helper()
		rec, v := s.do("GET", "/v1/alerts?limit=1000", secret, "")
		if rec.Code != 200 {
			t.Fatalf("alerts: %d %s", rec.Code, rec.Body)
		}
		got := map[string]bool{}
		for _, it := range v["items"].([]any) {
			got[it.(map[string]any)["address"].(string)] = true
		}
		return got
	}
	if got := alertsOf(b); !got[x] {
		t.Fatalf("B's alerts %v: none for %s, watched on A", got, x)
	}

	// PostgreSQL goes away.
	_, otherSecret, err := apikey.Create(ctx, a.pg.APIKeys(), "second", apikey.Read)
	if err != nil {
		t.Fatal(err)
	}
	apikeytest.Within(t, time.Second, "B authenticates the second key", func() bool {
		_, err := b.keys.Authenticate(otherSecret)
		return err == nil
	})
	proxy.Cut(true)
	if rec, _ := b.do("GET", "/v1/status", otherSecret, ""); rec.Code != 200 {
		t.Errorf("a valid key refused while PostgreSQL is down: %d", rec.Code)
	}
	z, _, err := scratch.AddrString(btc.AddrID(1))
	if err != nil {
		t.Fatal(err)
	}
	rec, v = a.do("POST", "/v1/watchlists/"+itoa(id)+"/items", secret, `{"addresses":["`+z+`"]}`)
	if rec.Code != 503 || rec.Header().Get("Retry-After") == "" || rec.Header().Get("Content-Type") != "application/problem+json" {
		t.Errorf("a watchlist write while PostgreSQL is down: %d %q %q %v", rec.Code, rec.Header().Get("Retry-After"), rec.Header().Get("Content-Type"), v)
	}
	// B's alert stage keeps its copy: part 2 pays y, added before.
	if res := b.ingest(t, part2...); res.Alerts == nil || res.Alerts.Hits == 0 {
		t.Fatalf("B matched nothing in part 2 while PostgreSQL was down: %+v", res.Alerts)
	}
	proxy.Cut(false)
	if !alertsOf(b)[y] {
		t.Errorf("no alert on B for %s, watched before the outage", y)
	}
	// Back: the retried write lands, nothing before it was lost.
	apikeytest.Within(t, 10*time.Second, "the retried write lands", func() bool {
		rec, _ := a.do("POST", "/v1/watchlists/"+itoa(id)+"/items", secret, `{"addresses":["`+z+`"]}`)
		return rec.Code == 200
	})
	// B's pool still holds connections the outage cut: its very first
	// read answers all the same, on a fresh connection (G10).
	if rec, v = b.do("GET", "/v1/watchlists/"+itoa(id), secret, ""); rec.Code != 200 || v["address_count"] != 3.0 {
		t.Errorf("B's list after the outage: %d %v (want x, y and z)", rec.Code, v)
	}
	// A key revoked on A stops on B within a second.
	if err := a.pg.APIKeys().Revoke(ctx, k.ID); err != nil {
		t.Fatal(err)
	}
	apikeytest.Within(t, time.Second, "B refuses the revoked key", func() bool {
		rec, _ := b.do("GET", "/v1/watchlists", secret, "")
		return rec.Code == 401
	})
	if rec, _ := b.do("GET", "/v1/status", otherSecret, ""); rec.Code != 200 {
		t.Errorf("the other key after a revocation: %d", rec.Code)
	}
}

func itoa(id uint32) string { b, _ := json.Marshal(id); return string(b) }
