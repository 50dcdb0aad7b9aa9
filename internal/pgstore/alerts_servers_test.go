package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// The servers of these tests each have their own blocks directory and
// index store (the same simulated chain), their own watchlist (the same
// one) and their own connection pool to one PostgreSQL schema: several
// sleuth servers behind a load balancer.

var chainOnce struct {
	sync.Once
	recs [][]byte
}

// chainRecords returns the best chain of a small simulated chain (built
// once per test binary).
func chainRecords(t *testing.T) [][]byte {
	chainOnce.Do(func() { chainOnce.recs = simtest.BestRecords(t, simtest.Chain(t, 5, 0.1)) })
	if chainOnce.recs == nil {
		t.Fatal("the simulated chain could not be built")
	}
	return chainOnce.recs
}

type server struct {
	name   string
	blocks string
	db     *index.DB
	pl     *pipeline.Pipeline
	alerts *Alerts // nil: the embedded store
}

// newServer opens a server: alerts in PostgreSQL at dsn, or embedded
// when dsn is "".
func newServer(t *testing.T, name, dsn string) *server {
	s := &server{name: name, blocks: t.TempDir(), db: indextest.Open(t, t.TempDir())}
	var opts pipeline.Options
	if dsn != "" {
		s.alerts = open(t, dsn).Alerts()
		opts.Alerts = s.alerts
	}
	s.pl = pipeline.New(s.db, opts)
	return s
}

// ingest appends recs to the server's blocks and ingests through its
// pipeline (the index, clusters, exposure and the alert stage).
func (s *server) ingest(ctx context.Context, t *testing.T, recs ...[]byte) (pipeline.Result, error) {
	simtest.AppendRecords(t, s.blocks, recs...)
	return s.pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: s.blocks}})
}

// watch makes the server's watchlist: every address paid so far, any
// activity, both directions.
func (s *server) watch(ctx context.Context, t *testing.T) {
	var keys []address.Key
	for a := range s.db.Tip().NextAddr {
		k, err := s.db.AddrKey(a)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ws := watch.NewDB(s.db)
	r, _ := watch.ParseRule("any", watch.Both, alert.High)
	id, err := ws.Create(ctx, &watch.List{Name: "paid", Rules: []watch.Rule{r}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
}

func (s *server) worker() *alert.Worker {
	return &alert.Worker{Store: s.pl.AlertStore(), Shared: s.alerts != nil, AllowLoopback: true, Poll: 20 * time.Millisecond,
		Schedule: []time.Duration{50 * time.Millisecond, 50 * time.Millisecond, 50 * time.Millisecond}, Timeout: 5 * time.Second}
}

// keys returns the natural keys of alerts, sorted.
func keys(as []alert.Alert) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = fmt.Sprintf("%s %s %s %s %d", a.BlockHash, a.Rule, a.TxID, a.Address, a.Value)
	}
	slices.Sort(out)
	return out
}

// reference splits the test chain in two halves (the servers watch what
// the first paid and alert on the second) and returns them with the
// alerts one server with the embedded store raises over them: what the
// shared servers must store, once each.
func reference(ctx context.Context, t *testing.T) (first, second [][]byte, want []string) {
	recs := chainRecords(t)
	first, second = recs[:len(recs)/2], recs[len(recs)/2:]
	ref := newServer(t, "reference", "")
	if _, err := ref.ingest(ctx, t, first...); err != nil {
		t.Fatal(err)
	}
	ref.watch(ctx, t)
	if _, err := ref.ingest(ctx, t, second...); err != nil {
		t.Fatal(err)
	}
	want = keys(alerttest.All(t, ref.pl.AlertStore()))
	if len(want) == 0 {
		t.Fatal("the reference server raised no alert: the test would prove nothing")
	}
	return first, second, want
}

// prepare ingests first on each server and makes its watchlist, and
// adds a webhook receiver to the shared store.
func prepare(ctx context.Context, t *testing.T, first [][]byte, servers ...*server) *alerttest.Receiver {
	for _, s := range servers {
		if _, err := s.ingest(ctx, t, first...); err != nil {
			t.Fatal(err)
		}
		s.watch(ctx, t)
	}
	rec := alerttest.NewReceiver(t, alert.NewSecret())
	if _, err := servers[0].alerts.AddEndpoint(ctx, rec.URL, rec.Secret); err != nil {
		t.Fatal(err)
	}
	return rec
}

// checkArrivals: every event of st arrived exactly once, signed (count
// per webhook-id), and nothing else arrived.
func checkArrivals(t *testing.T, rec *alerttest.Receiver, st alert.Store) {
	t.Helper()
	var events int
	if err := st.Events(context.Background(), 0, func(*alert.Event) (bool, error) { events++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if !rec.Wait(events, 30*time.Second) {
		t.Fatalf("%d of %d events arrived", len(rec.Arrivals()), events)
	}
	perID := map[string]int{}
	for _, a := range rec.Arrivals() {
		perID[a.WebhookID]++
	}
	for id, n := range perID {
		if n != 1 {
			t.Errorf("webhook-id %s arrived %d times", id, n)
		}
	}
	if len(perID) != events || rec.BadSignatures() != 0 {
		t.Errorf("%d distinct webhook-ids for %d events, %d bad signatures", len(perID), events, rec.BadSignatures())
	}
}

// runWorkers runs each server's webhook worker until the returned stop
// is called.
func runWorkers(t *testing.T, servers ...*server) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, s := range servers {
		w := s.worker()
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := w.Run(ctx); !errors.Is(err, context.Canceled) {
				t.Errorf("worker of %s: %v", s.name, err)
			}
		}()
	}
	return func() { cancel(); wg.Wait() }
}

// TestTwoServersAlertOnce: two servers ingest the same blocks at the same
// time and both alert stages match them; PostgreSQL stores each alert
// once (the reference server's alerts, no more, no fewer), both servers
// answer the same alerts with the same ids, and their two webhook
// workers deliver every event exactly once.
func TestTwoServersAlertOnce(t *testing.T) {
	d := freshSchema(t)
	ctx := context.Background()
	first, second, want := reference(ctx, t)

	a, b := newServer(t, "A", d), newServer(t, "B", d)
	rec := prepare(ctx, t, first, a, b)
	stop := runWorkers(t, a, b)
	defer stop()
	var wg sync.WaitGroup
	results := make([]pipeline.Result, 2)
	for i, s := range []*server{a, b} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = s.ingest(ctx, t, second...); err != nil {
				t.Errorf("server %s: %v", s.name, err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	got := alerttest.All(t, a.alerts)
	if !slices.Equal(keys(got), want) {
		t.Fatalf("PostgreSQL holds %d alerts, the reference server raised %d (first differences: %v)", len(got), len(want), firstDiff(keys(got), want))
	}
	t.Logf("%d alerts: server A's stage created %d, B's %d", len(want), results[0].Alerts.Created, results[1].Alerts.Created)
	if n := results[0].Alerts.Created + results[1].Alerts.Created; n != len(want) {
		t.Errorf("the two alert stages created %d + %d alerts, want %d in all", results[0].Alerts.Created, results[1].Alerts.Created, len(want))
	}
	if types := alerttest.EventTypes(t, b.alerts, 0); len(types) != len(want) || slices.ContainsFunc(types, func(s string) bool { return s != alert.EventCreated }) {
		t.Errorf("%d events for %d alerts: %v", len(types), len(want), types[:min(len(types), 5)])
	}
	checkArrivals(t, rec, a.alerts)

	// Both servers' APIs answer the same alerts, ids and event stream.
	get := func(s *server, path string, hdr ...string) string {
		h := api.New(s.pl, api.Options{StreamPoll: time.Millisecond})
		req := httptest.NewRequest("GET", path, nil)
		rctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
		defer cancel()
		if len(hdr) == 2 {
			req.Header.Set(hdr[0], hdr[1])
		}
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, req.WithContext(rctx))
		if rw.Code != 200 {
			t.Fatalf("server %s: GET %s: %d %s", s.name, path, rw.Code, rw.Body)
		}
		return rw.Body.String()
	}
	// Alert ids are PostgreSQL's: unique and the same on every server,
	// with gaps where an insert met an alert another server had stored.
	if la, lb := get(a, "/v1/alerts?limit=1000"), get(b, "/v1/alerts?limit=1000"); la != lb || !strings.Contains(la, fmt.Sprintf(`"id":%d,`, got[1].ID)) {
		t.Errorf("the servers list different alerts:\nA %.300s\nB %.300s", la, lb)
	}
	sa, sb := get(a, "/v1/alerts/stream", "Last-Event-ID", "3"), get(b, "/v1/alerts/stream", "Last-Event-ID", "3")
	if sa != sb || !strings.Contains(sa, "\nid: 4\nevent: alert.created\n") || strings.Contains(sa, "\nid: 3\n") {
		t.Errorf("the servers stream different events:\nA %.300s\nB %.300s", sa, sb)
	}

	// A review on A and a webhook endpoint added on B are what the other
	// answers.
	post := func(s *server, path, body string) {
		rw := httptest.NewRecorder()
		api.New(s.pl, api.Options{LoopbackWebhooks: true}).ServeHTTP(rw, httptest.NewRequest("POST", path, strings.NewReader(body)))
		if rw.Code/100 != 2 {
			t.Fatalf("server %s: POST %s: %d %s", s.name, path, rw.Code, rw.Body)
		}
	}
	id := strconv.FormatUint(got[1].ID, 10)
	post(a, "/v1/alerts/"+id+"/review", `{"status":"escalated","note":"seen on A"}`)
	post(b, "/v1/webhooks", `{"url":"http://127.0.0.1:9/hook"}`)
	if g := get(b, "/v1/alerts/"+id); !strings.Contains(g, `"status":"escalated"`) || !strings.Contains(g, "seen on A") {
		t.Errorf("server B's alert %s after A's review: %.300s", id, g)
	}
	if g := get(a, "/v1/webhooks"); !strings.Contains(g, "127.0.0.1:9/hook") {
		t.Errorf("server A's webhooks after B added one: %.300s", g)
	}
}

func firstDiff(a, b []string) []string {
	var out []string
	for _, s := range a {
		if !slices.Contains(b, s) {
			out = append(out, "extra "+s)
		}
	}
	for _, s := range b {
		if !slices.Contains(a, s) {
			out = append(out, "missing "+s)
		}
	}
	return out[:min(len(out), 3)]
}

// TestTwoServersReorg: both servers disconnect a block (the stage's
// Disconnect and then its Connect again, as after a reorg that mines it
// again) at the same time: each alert gets one alert.invalidated and one
// alert.revalidated event in all (A4 across servers).
func TestTwoServersReorg(t *testing.T) {
	d := freshSchema(t)
	ctx := context.Background()
	st := open(t, d).Alerts()
	in := []alert.Alert{alerttest.Sample(1, 11), alerttest.Sample(2, 11)}
	splits := make([]alert.Split, 2)
	for i := range splits {
		splits[i] = alert.Split{Local: alert.NewDB(indextest.Open(t, t.TempDir())), Shared: open(t, d).Alerts()}
	}
	step := func(fn func(b *alert.BlockWriter) error) {
		var wg sync.WaitGroup
		for _, sp := range splits {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := sp.BeginBlocks(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				defer b.Close()
				if err := fn(b); err != nil {
					t.Error(err)
				} else if err := b.Commit(); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		if t.Failed() {
			t.FailNow()
		}
	}
	step(func(b *alert.BlockWriter) error {
		return b.Advance(alert.Progress{Height: 10, Hash: alerttest.Hash(10)}, func(int64) (btc.Hash, error) { return alerttest.Hash(9), nil })
	})
	step(func(b *alert.BlockWriter) error { return b.Connect(ctx, 11, alerttest.Hash(11), in) })
	step(func(b *alert.BlockWriter) error { return b.Disconnect(ctx) })
	step(func(b *alert.BlockWriter) error { return b.Connect(ctx, 11, alerttest.Hash(11), in) })
	want := []string{alert.EventCreated, alert.EventCreated, alert.EventInvalidated, alert.EventInvalidated, alert.EventRevalidated, alert.EventRevalidated}
	if types := alerttest.EventTypes(t, st, 0); !slices.Equal(types, want) {
		t.Fatalf("events %v, want %v", types, want)
	}
	if got := alerttest.All(t, st); len(got) != 2 || got[0].Invalidated || got[1].Invalidated {
		t.Fatalf("alerts %+v", got)
	}
}

// TestLeaseTakeover: a server that claimed deliveries and died before
// acknowledging them (its claims' leases run on) holds them only until
// the lease ends; then the other server delivers each once, with the
// webhook-id the first would have sent.
func TestLeaseTakeover(t *testing.T) {
	d := freshSchema(t)
	ctx := context.Background()
	a, b := open(t, d).Alerts(), open(t, d).Alerts()
	a.Lease = 2 * time.Second
	rec := alerttest.NewReceiver(t, alert.NewSecret())
	// Server A's worker hangs in its requests until it is killed (its
	// context cancelled): claimed, never acknowledged.
	var hold atomic.Bool
	hold.Store(true)
	hung := make(chan struct{}, 16)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			// Read the body first: the server notices the client going
			// (and cancels r's context) only once it has.
			_, _ = io.Copy(io.Discard, r.Body)
			hung <- struct{}{}
			<-r.Context().Done()
			return
		}
		proxyTo(w, r, rec.URL)
	}))
	defer front.Close()
	if _, err := a.AddEndpoint(ctx, front.URL, rec.Secret); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(ctx, []alert.Alert{alerttest.Sample(0, 1), alerttest.Sample(1, 1), alerttest.Sample(2, 1)}); err != nil {
		t.Fatal(err)
	}
	actx, kill := context.WithCancel(ctx)
	wa := &alert.Worker{Store: a, Shared: true, AllowLoopback: true, Concurrency: 4}
	done := make(chan error, 1)
	go func() { _, err := wa.RunOnce(actx); done <- err }()
	for range 3 {
		<-hung
	}
	kill()
	if err := <-done; err != nil {
		t.Fatalf("killed worker: %v", err)
	}
	hold.Store(false)
	wb := &alert.Worker{Store: b, Shared: true, AllowLoopback: true}
	if n, err := wb.RunOnce(ctx); err != nil || n != 0 {
		t.Fatalf("server B attempted %d deliveries (%v) while A's lease ran", n, err)
	}
	time.Sleep(a.Lease)
	if n, err := wb.RunOnce(ctx); err != nil || n != 3 {
		t.Fatalf("server B attempted %d deliveries after the lease (%v), want 3", n, err)
	}
	checkArrivals(t, rec, b)
	if pending := alerttest.CountDeliveries(t, b, alert.Pending); pending != 0 {
		t.Errorf("%d deliveries still pending", pending)
	}
	// A server whose lease ended cannot record over the taker's result.
	if err := a.Record(ctx, &alert.Delivery{Event: 1, Endpoint: 1, State: alert.Pending}); !errors.Is(err, ErrLeaseLost) {
		t.Errorf("record after the lease: %v", err)
	}
}

// proxyTo forwards r to url and copies the answer back.
func proxyTo(w http.ResponseWriter, r *http.Request, url string) {
	req, _ := http.NewRequestWithContext(r.Context(), r.Method, url, r.Body)
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// TestPostgresUnreachable: PostgreSQL goes away mid-run. The alert stage
// fails with a clear error and keeps its progress; the alert routes
// answer 503 problem+json with Retry-After; screening from the local
// index keeps answering; the worker reports the store unavailable. Once
// PostgreSQL is back, the next ingest catches up and the worker delivers:
// every alert of the reference run, each once.
func TestPostgresUnreachable(t *testing.T) {
	d := freshSchema(t)
	ctx := context.Background()
	first, second, want := reference(ctx, t)
	proxy := pgtest.NewProxy(t, d)
	viaProxy := proxy.Via(t, d)
	s := newServer(t, "A", viaProxy)
	rec := prepare(ctx, t, first, s)
	before, _, _ := s.pl.AlertProgress()

	proxy.Cut(true)
	_, err := s.ingest(ctx, t, second...)
	var se *pipeline.StageError
	if !errors.As(err, &se) || se.Stage != pipeline.StageAlerts || !errors.Is(err, alert.ErrUnavailable) {
		t.Fatalf("ingest with PostgreSQL down: %v; want the alert stage's failure, marked unavailable", err)
	}
	if p, _, _ := s.pl.AlertProgress(); p != before {
		t.Fatalf("the alert stage moved from %d to %d without storing its alerts", before.Height, p.Height)
	}
	if n := len(first) + len(second); s.db.Tip().Height != int64(n-1) {
		t.Fatalf("the index is at %d, want %d: the chain must not wait for PostgreSQL", s.db.Tip().Height, n-1)
	}
	h := api.New(s.pl, api.Options{})
	do := func(path string) *httptest.ResponseRecorder {
		rw := httptest.NewRecorder()
		h.ServeHTTP(rw, httptest.NewRequest("GET", path, nil))
		return rw
	}
	for _, path := range []string{"/v1/alerts", "/v1/alerts/1", "/v1/webhooks"} {
		rw := do(path)
		if rw.Code != 503 || rw.Header().Get("Retry-After") == "" || rw.Header().Get("Content-Type") != "application/problem+json" ||
			!strings.Contains(rw.Body.String(), "unavailable") {
			t.Errorf("GET %s with PostgreSQL down: %d %q %s", path, rw.Code, rw.Header(), rw.Body)
		}
	}
	addr, _, err := s.db.AddrString(0)
	if err != nil {
		t.Fatal(err)
	}
	if rw := do("/v1/screen/" + addr); rw.Code != 200 {
		t.Errorf("screening with PostgreSQL down: %d %s", rw.Code, rw.Body)
	}
	if _, err := s.worker().RunOnce(ctx); !errors.Is(err, alert.ErrUnavailable) {
		t.Errorf("worker with PostgreSQL down: %v", err)
	}

	proxy.Cut(false)
	stop := runWorkers(t, s)
	defer stop()
	// The first statement after the cut may meet a dead pooled
	// connection: retry as the server's follower does at its next round.
	var res pipeline.Result
	for try := 0; ; try++ {
		if res, err = s.pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: s.blocks}}); err == nil {
			break
		}
		if try == 5 || !errors.Is(err, alert.ErrUnavailable) {
			t.Fatalf("ingest after PostgreSQL came back (try %d): %v", try+1, err)
		}
	}
	t.Logf("caught up after the outage: %d alerts", len(want))
	if res.Alerts == nil || res.Alerts.Created != len(want) {
		t.Fatalf("catch-up after the outage: %+v, want %d alerts", res.Alerts, len(want))
	}
	if got := keys(alerttest.All(t, s.alerts)); !slices.Equal(got, want) {
		t.Fatalf("after the outage PostgreSQL holds %d alerts, want %d (%v)", len(got), len(want), firstDiff(got, want))
	}
	checkArrivals(t, rec, s.alerts)
}
