// Package alerttest holds a webhook receiver for tests and benchmarks of
// alert delivery: it verifies every request's Standard Webhooks signature
// with alert.Verify and records what arrived and when.
//
// # Owns
//
// Test helpers only; no package may import it outside _test.go files
// (internal/lint checks).
//
// # Does not touch
//
// Anything but package alert's exported API.
package alerttest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
)

// Arrival is one verified delivery.
type Arrival struct {
	WebhookID string
	Type      string
	Alert     uint64 // the alert's id (data.ID)
	Height    int64  // the alert's block height (data.Height)
	At        time.Time
}

// Receiver is a loopback webhook endpoint. While down (SetDown) it answers
// 503 without recording; while lossy (SetLossy) it records a verified
// delivery and then answers 500, as a receiver that processed a request
// but whose answer was lost, so the sender sends it again. A request whose
// signature does not verify is answered 400 and counted in BadSignatures.
type Receiver struct {
	URL    string
	Secret string

	mu       sync.Mutex
	key      []byte
	arrivals []Arrival
	bad      int
	down     bool
	lossy    bool
	notify   chan struct{}
}

// NewReceiver starts a receiver with secret (a whsec_ secret), closed when
// the test ends.
func NewReceiver(t testing.TB, secret string) *Receiver {
	t.Helper()
	key, err := alert.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	r := &Receiver{Secret: secret, key: key, notify: make(chan struct{}, 1)}
	srv := httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(srv.Close)
	r.URL = srv.URL
	return r
}

func (r *Receiver) serve(w http.ResponseWriter, req *http.Request) {
	at := time.Now()
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if err := alert.Verify(r.key, req.Header, body, at, 5*time.Minute); err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var p struct {
		Type string `json:"type"`
		Data struct {
			ID     uint64 `json:"id"`
			Height int64  `json:"block_height"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		r.bad++
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	r.arrivals = append(r.arrivals, Arrival{WebhookID: req.Header.Get(alert.HeaderID), Type: p.Type, Alert: p.Data.ID, Height: p.Data.Height, At: at})
	select {
	case r.notify <- struct{}{}:
	default:
	}
	if r.lossy {
		http.Error(w, "processed, but the answer is lost", http.StatusInternalServerError)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// SetLossy makes the receiver record deliveries and answer 500 (true), or
// answer 204 again (false).
func (r *Receiver) SetLossy(lossy bool) {
	r.mu.Lock()
	r.lossy = lossy
	r.mu.Unlock()
}

// SetDown makes the receiver answer 503 (true) or accept again (false).
func (r *Receiver) SetDown(down bool) {
	r.mu.Lock()
	r.down = down
	r.mu.Unlock()
}

// Arrivals returns a copy of the verified deliveries so far, in arrival
// order.
func (r *Receiver) Arrivals() []Arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Arrival(nil), r.arrivals...)
}

// BadSignatures counts requests that failed verification.
func (r *Receiver) BadSignatures() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.bad
}

// Wait returns when at least n deliveries arrived (true) or after timeout
// (false).
func (r *Receiver) Wait(n int, timeout time.Duration) bool {
	return r.until(timeout, func(as []Arrival) bool { return len(as) >= n })
}

// First returns the first delivery for which match is true, waiting up to
// timeout for it (false when none came).
func (r *Receiver) First(match func(*Arrival) bool, timeout time.Duration) (Arrival, bool) {
	var found Arrival
	ok := r.until(timeout, func(as []Arrival) bool {
		for i := range as {
			if match(&as[i]) {
				found = as[i]
				return true
			}
		}
		return false
	})
	return found, ok
}

// until waits for done to hold of the arrivals (checked under the lock).
func (r *Receiver) until(timeout time.Duration, done func([]Arrival) bool) bool {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		ok := done(r.arrivals)
		r.mu.Unlock()
		if ok {
			return true
		}
		select {
		case <-r.notify:
		case <-deadline.C:
			return false
		}
	}
}
