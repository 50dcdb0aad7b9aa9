package api

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/pace"
)

// TestRequestsArePaced: with Options.Pace every routed request counts as
// foreground work while it runs (an unmatched path is answered before),
// and none is left in flight after, whatever its answer; an alert stream
// is not counted.
func TestRequestsArePaced(t *testing.T) {
	w := newWorld(t, 0)
	p := pace.New(0, 0)
	s := New(w.pl, Options{Pace: p})
	for _, path := range []string{"/v1/status", "/v1/screen/" + w.addr, "/v1/screen/not-an-address", "/v1/nonsense", "/healthz"} {
		s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", path, nil))
	}
	// An alert stream is open for hours and mostly idle: not counted
	// (its client has gone already, so it returns at once).
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/v1/alerts/stream", nil).WithContext(ctx))
	if st := p.Stats(); st.Entered != 4 || st.Active != 0 {
		t.Fatalf("pacer %+v after 4 routed requests, an unmatched one and a stream", st)
	}
}
