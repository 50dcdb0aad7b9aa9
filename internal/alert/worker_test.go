package alert_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
)

// receiver is a webhook endpoint that verifies every request with Verify
// and counts deliveries per webhook-id. Its behaviour for each request is
// decided by respond.
type receiver struct {
	t       *testing.T
	key     []byte
	mu      sync.Mutex
	n       int            // requests
	byID    map[string]int // requests per webhook-id
	stamps  map[string][]string
	bad     int // requests that failed verification
	respond func(n int, r *http.Request) int
	srv     *httptest.Server
}

func newReceiver(t *testing.T, respond func(n int, r *http.Request) int) *receiver {
	rc := &receiver{t: t, byID: map[string]int{}, stamps: map[string][]string{}, respond: respond}
	rc.key, _ = alert.ParseSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.n++
		n := rc.n
		if err != nil || alert.Verify(rc.key, r.Header, body, time.Now(), alert.DefaultTolerance) != nil {
			rc.bad++
		}
		id := r.Header.Get(alert.HeaderID)
		rc.byID[id]++
		rc.stamps[id] = append(rc.stamps[id], r.Header.Get(alert.HeaderTimestamp))
		rc.mu.Unlock()
		w.WriteHeader(rc.respond(n, r))
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) counts() (n, bad int, byID map[string]int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	m := map[string]int{}
	for k, v := range rc.byID {
		m[k] = v
	}
	return rc.n, rc.bad, m
}

// setup returns a store with rc as its one endpoint and k alerts created.
func setup(t *testing.T, rc *receiver, k int) *alert.DB {
	t.Helper()
	s := alert.NewDB(indextest.Open(t, t.TempDir()))
	ctx := context.Background()
	if _, err := s.AddEndpoint(ctx, rc.srv.URL+"/hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"); err != nil {
		t.Fatal(err)
	}
	var in []alert.Alert
	for i := range k {
		in = append(in, alerttest.Sample(i, 1))
	}
	if _, err := s.Create(ctx, in); err != nil {
		t.Fatal(err)
	}
	return s
}

// drain runs the worker until no delivery is pending (or 10 s pass, which
// fails the test: that bound is a hang guard, not a timing assertion).
func drain(t *testing.T, w *alert.Worker, s *alert.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for alerttest.CountDeliveries(t, s, alert.Pending) > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("deliveries still pending after 10 s")
		}
		if _, err := w.RunOnce(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Millisecond)
	}
}

func fastSchedule(n int) []time.Duration {
	s := make([]time.Duration, n)
	for i := range s {
		s[i] = time.Millisecond
	}
	return s
}

func onlyDelivery(t *testing.T, s *alert.DB) alert.Delivery {
	t.Helper()
	var out []alert.Delivery
	_ = s.Deliveries(context.Background(), func(d *alert.Delivery) (bool, error) { out = append(out, *d); return true, nil })
	if len(out) != 1 {
		t.Fatalf("%d deliveries, want 1", len(out))
	}
	return out[0]
}

func TestWorkerRetriesUntilDelivered(t *testing.T) {
	for _, fails := range []int{0, 1, 4} {
		rc := newReceiver(t, func(n int, _ *http.Request) int {
			if n <= fails {
				return http.StatusServiceUnavailable
			}
			return http.StatusNoContent
		})
		s := setup(t, rc, 1)
		w := &alert.Worker{Store: s, AllowLoopback: true, Schedule: fastSchedule(5)}
		drain(t, w, s)
		n, bad, byID := rc.counts()
		if n != fails+1 || bad != 0 || byID["evt_1"] != fails+1 {
			t.Fatalf("fails=%d: %d requests (%d unverified), by id %v; want %d all evt_1", fails, n, bad, byID, fails+1)
		}
		d := onlyDelivery(t, s)
		if d.State != alert.Delivered || d.Attempts != uint32(fails+1) || len(d.Log) != fails+1 {
			t.Fatalf("fails=%d: delivery %+v", fails, d)
		}
		for i, a := range d.Log {
			if a.Time.IsZero() || (i < fails) != (a.Status == http.StatusServiceUnavailable) {
				t.Fatalf("attempt %d: %+v", i, a)
			}
		}
	}
}

func TestWorkerGivesUp(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusInternalServerError })
	s := setup(t, rc, 1)
	drain(t, &alert.Worker{Store: s, AllowLoopback: true, Schedule: fastSchedule(2)}, s)
	if d := onlyDelivery(t, s); d.State != alert.Failed || d.Attempts != 3 {
		t.Fatalf("delivery %+v, want Failed after 3 attempts", d)
	}
	if n, _, _ := rc.counts(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	// The default schedule retries for at least 24 hours.
	var total time.Duration
	for _, d := range alert.DefaultSchedule {
		total += d
	}
	if total < 24*time.Hour {
		t.Fatalf("DefaultSchedule spans %s", total)
	}
}

func TestWorkerGoneDisables(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusGone })
	s := setup(t, rc, 3)
	w := &alert.Worker{Store: s, AllowLoopback: true, Schedule: fastSchedule(5), Concurrency: 1}
	drain(t, w, s)
	eps, _ := s.Endpoints(context.Background())
	if len(eps) != 1 || !strings.Contains(eps[0].Disabled, "410") {
		t.Fatalf("endpoints %+v, want the one disabled by 410", eps)
	}
	if n := alerttest.CountDeliveries(t, s, alert.Disabled); n != 3 {
		t.Fatalf("%d disabled deliveries, want 3", n)
	}
	// The first 410 disables the endpoint; later events do not reach it.
	if _, err := s.Create(context.Background(), []alert.Alert{alerttest.Sample(9, 2)}); err != nil {
		t.Fatal(err)
	}
	drain(t, w, s)
	if n, _, _ := rc.counts(); n < 1 || n > 3 {
		t.Fatalf("%d requests to a gone endpoint", n)
	}
	if alerttest.CountDeliveries(t, s, alert.Disabled) != 3 {
		t.Fatal("a disabled endpoint was given a new delivery")
	}
}

func TestWorkerSlowReceiverTimesOut(t *testing.T) {
	var slow sync.Mutex
	slowNow := true
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		slow.Lock()
		s := slowNow
		slow.Unlock()
		if s {
			<-r.Context().Done() // answers only after the client gave up
		}
		return http.StatusOK
	})
	s := setup(t, rc, 1)
	w := &alert.Worker{Store: s, AllowLoopback: true, Timeout: 50 * time.Millisecond, Schedule: fastSchedule(5)}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := onlyDelivery(t, s)
	if d.State != alert.Pending || d.Attempts != 1 || d.Log[0].Status != 0 || d.Log[0].Error == "" {
		t.Fatalf("after a timeout: %+v", d)
	}
	slow.Lock()
	slowNow = false
	slow.Unlock()
	drain(t, w, s)
	if d := onlyDelivery(t, s); d.State != alert.Delivered || d.Attempts != 2 {
		t.Fatalf("after recovery: %+v", d)
	}
	if _, bad, byID := rc.counts(); bad != 0 || byID["evt_1"] != 2 {
		t.Fatalf("by id %v, %d unverified", byID, bad)
	}
}

// A worker stopped while a request is in flight records nothing for it; a
// new worker sends it again with the same webhook-id, and every event is
// delivered.
func TestWorkerCrashRedelivers(t *testing.T) {
	inFlight := make(chan struct{}, 16)
	var mu sync.Mutex
	hang := true
	rc := newReceiver(t, func(_ int, r *http.Request) int {
		mu.Lock()
		h := hang
		mu.Unlock()
		if h {
			inFlight <- struct{}{}
			<-r.Context().Done()
		}
		return http.StatusOK
	})
	s := setup(t, rc, 5)
	ctx, cancel := context.WithCancel(context.Background())
	w1 := &alert.Worker{Store: s, AllowLoopback: true, Concurrency: 2, Poll: time.Millisecond}
	done := make(chan error, 1)
	go func() { done <- w1.Run(ctx) }()
	<-inFlight
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v", err)
	}
	if n := alerttest.CountDeliveries(t, s, alert.Pending); n != 5 {
		t.Fatalf("%d pending after the crash, want all 5", n)
	}
	mu.Lock()
	hang = false
	mu.Unlock()
	drain(t, &alert.Worker{Store: s, AllowLoopback: true, Concurrency: 2}, s)
	_, bad, byID := rc.counts()
	if bad != 0 || len(byID) != 5 {
		t.Fatalf("ids %v (%d unverified), want 5 distinct", byID, bad)
	}
	redelivered := 0
	for id, n := range byID {
		if n == 2 {
			redelivered++
		} else if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
	if redelivered == 0 {
		t.Fatal("no event was sent twice: the crash did not interrupt a delivery")
	}
	if n := alerttest.CountDeliveries(t, s, alert.Delivered); n != 5 {
		t.Fatalf("%d delivered, want 5", n)
	}
}

func TestWorkerRefusesLoopbackByDefault(t *testing.T) {
	rc := newReceiver(t, func(int, *http.Request) int { return http.StatusOK })
	s := setup(t, rc, 1)
	w := &alert.Worker{Store: s, Schedule: fastSchedule(1)}
	if _, err := w.RunOnce(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := onlyDelivery(t, s)
	if len(d.Log) != 1 || !strings.Contains(d.Log[0].Error, "loopback") {
		t.Fatalf("delivery %+v, want a refused loopback attempt", d)
	}
	if n, _, _ := rc.counts(); n != 0 {
		t.Fatalf("receiver got %d requests", n)
	}
}

func TestCheckDestination(t *testing.T) {
	for _, tc := range []struct {
		addr     string
		loopback bool
		ok       bool
	}{
		{"127.0.0.1:80", false, false},
		{"127.0.0.1:80", true, true},
		{"[::1]:443", false, false},
		{"[::1]:443", true, true},
		{"10.1.2.3:443", true, false},
		{"192.168.0.1:443", true, false},
		{"172.16.5.5:443", true, false},
		{"169.254.169.254:80", true, false}, // cloud metadata
		{"100.64.0.1:80", true, false},
		{"0.0.0.0:80", true, false},
		{"[::ffff:10.0.0.1]:80", true, false},
		{"[fe80::1]:80", true, false},
		{"93.184.216.34:443", false, true},
		{"[2606:2800:220:1:248:1893:25c8:1946]:443", false, true},
		{"example.com:443", false, false},
	} {
		err := alert.CheckDestination(tc.addr, tc.loopback)
		if (err == nil) != tc.ok {
			t.Errorf("CheckDestination(%s, loopback=%v) = %v, want ok=%v", tc.addr, tc.loopback, err, tc.ok)
		}
	}
}
