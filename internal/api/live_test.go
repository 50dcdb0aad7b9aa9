package api

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// startRun runs Run with opts in the background and returns the server's
// URL and a stop function that waits for Run to return its error.
func startRun(t *testing.T, pl *pipeline.Pipeline, db *index.DB, opts RunOptions) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	urlc := make(chan string, 1)
	done := make(chan error, 1)
	opts.Listen, opts.Ready = "127.0.0.1:0", func(u string) { urlc <- u }
	go func() { done <- Run(ctx, pl, db, opts) }()
	select {
	case u := <-urlc:
		return u, func() error { cancel(); return <-done }
	case err := <-done:
		cancel()
		t.Fatal(err)
	}
	return "", nil
}

func httpGet(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// metric returns the value of the first sample of /metrics matching
// name{labels} (labels as printed, "" for none), or -1.
func metric(t *testing.T, base, sample string) float64 {
	t.Helper()
	_, body := httpGet(t, base+"/metrics")
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(sample) + ` (\S+)$`).FindStringSubmatch(body)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// TestServeAlerts follows a growing blocks directory with a watchlist
// that the new blocks hit and a webhook endpoint: every alert the alert
// stage stores reaches the receiver once, signed (alert.Verify), with its
// own webhook-id; /metrics counts the alerts and deliveries and shows no
// lag; /readyz is 200 once caught up.
func TestServeAlerts(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t, 20)
	// Watch every address already on chain: the held blocks spend and pay
	// some of them.
	var keys []address.Key
	for a := range w.db.Tip().NextAddr {
		k, err := w.db.AddrKey(a)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k)
	}
	ws := watch.NewDB(w.db)
	r, _ := watch.ParseRule("any", watch.Both, alert.Medium)
	id, err := ws.Create(ctx, &watch.List{Name: "all", Rules: []watch.Rule{r}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ws.AddAddresses(ctx, id, keys); err != nil {
		t.Fatal(err)
	}
	rec := alerttest.NewReceiver(t, alert.NewSecret())
	if _, err := w.pl.AlertStore().AddEndpoint(ctx, rec.URL, rec.Secret); err != nil {
		t.Fatal(err)
	}
	base, stop := startRun(t, w.pl, w.db, RunOptions{
		Follow:   &follow.Config{BlocksDir: w.blocksDir, Poll: 20 * time.Millisecond},
		Webhooks: &alert.Worker{AllowLoopback: true}})
	final := w.db.Tip().Height + int64(len(w.held))
	for i := 0; i < len(w.held); i += 5 {
		simtest.AppendRecords(t, w.blocksDir, w.held[i:min(len(w.held), i+5)]...)
		time.Sleep(30 * time.Millisecond)
	}
	deadline := time.Now().Add(time.Minute)
	for metric(t, base, "sleuth_stage_height{stage=\"alerts\"}") != float64(final) {
		if time.Now().After(deadline) {
			t.Fatalf("alert stage not at %d", final)
		}
		time.Sleep(20 * time.Millisecond)
	}
	n := 0
	if err := w.pl.AlertStore().Events(ctx, 0, func(*alert.Event) (bool, error) { n++; return true, nil }); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the held blocks raised no alert: the test proves little")
	}
	if !rec.Wait(n, 30*time.Second) {
		t.Fatalf("%d of %d alerts delivered", len(rec.Arrivals()), n)
	}
	ids := map[string]bool{}
	for _, a := range rec.Arrivals() {
		if ids[a.WebhookID] || a.Type != alert.EventCreated || a.Height <= final-int64(len(w.held)) {
			t.Fatalf("delivery %+v: duplicate, or not a new block's alert.created", a)
		}
		ids[a.WebhookID] = true
	}
	if rec.BadSignatures() != 0 {
		t.Fatalf("%d deliveries failed verification", rec.BadSignatures())
	}
	if code, body := httpGet(t, base+"/readyz"); code != 200 {
		t.Fatalf("/readyz %d %s after catching up", code, body)
	}
	// The receiver answers before the worker records the delivery.
	for metric(t, base, `sleuth_webhook_attempts_total{state="delivered"}`) < float64(n) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	for sample, want := range map[string]float64{
		`sleuth_alerts_total{event="created"}`:             float64(n),
		`sleuth_webhook_attempts_total{state="delivered"}`: float64(n),
		`sleuth_follow_lag_blocks`:                         0,
	} {
		if got := metric(t, base, sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
	// A following server paces its ingest for its requests (pace).
	if got := metric(t, base, "sleuth_ingest_rested_seconds_total"); got < 0 {
		t.Error("a following server exports no sleuth_ingest_rested_seconds_total: its ingest is not paced")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d alerts over %d blocks, all delivered and verified", n, len(w.held))
}

// TestServeNodeDown: a node that does not answer keeps /readyz at 503 and
// counts the failed rounds; the server keeps serving and stops cleanly.
func TestServeNodeDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close() // nothing listens there now
	db := indextest.Open(t, t.TempDir())
	pl := pipeline.New(db, pipeline.Options{})
	rpc, err := follow.NewRPC(follow.RPCConfig{URL: "http://" + dead, User: "u", Pass: "p"})
	if err != nil {
		t.Fatal(err)
	}
	base, stop := startRun(t, pl, db, RunOptions{Follow: &follow.Config{RPC: rpc, SpoolDir: t.TempDir(), Poll: 10 * time.Millisecond, MaxBackoff: 20 * time.Millisecond}})
	deadline := time.Now().Add(30 * time.Second)
	for metric(t, base, "sleuth_follow_unavailable_total") < 2 {
		if time.Now().After(deadline) {
			t.Fatal("no failed round counted")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if code, body := httpGet(t, base+"/readyz"); code != http.StatusServiceUnavailable {
		t.Fatalf("/readyz %d %s with the node down", code, body)
	}
	if code, _ := httpGet(t, base+"/v1/status"); code != 200 {
		t.Fatalf("/v1/status %d with the node down", code)
	}
	if err := stop(); err != nil {
		t.Fatal(fmt.Errorf("stop: %w", err))
	}
}
