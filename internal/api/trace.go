package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// TraceLimits bound the work of one POST /v1/trace, so that a hostile or
// careless trace cannot take the server down: a request past a limit is
// a 422 naming it, a trace running past Timeout is a 422, and more than
// Concurrent traces at once get 503 with Retry-After.
type TraceLimits struct {
	// MaxSources bounds sources plus incidents. Default 100.
	MaxSources int
	// MaxOutputs bounds the outputs the sources resolve to (an entity or
	// an address can hold many). Default 100,000.
	MaxOutputs int
	// MaxHops bounds hops. Default 200.
	MaxHops int
	// MaxTxs bounds the transactions one trace reads (max_txs defaults
	// to it); taint pending then counts as truncated. Default 1,000,000.
	MaxTxs int
	// Timeout bounds one trace's time. A trace reads inside
	// pipeline.Read, so this is also how long it can hold off the
	// ingest. Default 20 s.
	Timeout time.Duration
	// Concurrent bounds the traces running at once. Default 2 (a core
	// each on the 2-core machines we measure on).
	Concurrent int
}

func (l *TraceLimits) ensureDefaults() {
	if l.MaxSources <= 0 {
		l.MaxSources = 100
	}
	if l.MaxOutputs <= 0 {
		l.MaxOutputs = 100_000
	}
	if l.MaxHops <= 0 {
		l.MaxHops = 200
	}
	if l.MaxTxs <= 0 {
		l.MaxTxs = 1_000_000
	}
	if l.Timeout <= 0 {
		l.Timeout = 20 * time.Second
	}
	if l.Concurrent <= 0 {
		l.Concurrent = 2
	}
}

// errLimit is a 422: a request within the syntax but past a work limit.
type errLimit struct {
	field string
	msg   string
}

func (e errLimit) Error() string { return e.msg }

// errBusy is a 503 with Retry-After: the server is at its limit of
// concurrent work of this kind.
var errBusy = errors.New("server busy")

func (s *Server) postTrace(w http.ResponseWriter, r *http.Request) error {
	req := &query.TraceRequest{Graph: true} // the graph unless the body says "graph": false
	if err := decodeJSON(r, req, "a JSON object (see TraceRequest in /openapi.json)", true); err != nil {
		return err
	}
	v, _, err := s.runTrace(w, r, req)
	if err != nil {
		return err
	}
	return writeJSON(w, v)
}

// runTrace checks req against the limits (A7) and traces it in the read
// guard; it returns the result and the tip height it was traced at.
func (s *Server) runTrace(w http.ResponseWriter, r *http.Request, req *query.TraceRequest) (*query.TraceView, int64, error) {
	if _, err := req.Options(); err != nil {
		return nil, 0, err
	}
	lim := s.opts.Trace
	switch {
	case len(req.Sources)+len(req.Incidents) > lim.MaxSources:
		return nil, 0, errLimit{"body.sources", fmt.Sprintf("%d sources and incidents; at most %d in one trace", len(req.Sources)+len(req.Incidents), lim.MaxSources)}
	case req.Hops > lim.MaxHops:
		return nil, 0, errLimit{"body.hops", fmt.Sprintf("hops %d; at most %d", req.Hops, lim.MaxHops)}
	case req.MaxTxs > lim.MaxTxs:
		return nil, 0, errLimit{"body.max_txs", fmt.Sprintf("max_txs %d; at most %d", req.MaxTxs, lim.MaxTxs)}
	case req.MaxTxs == 0:
		req.MaxTxs = lim.MaxTxs
	}
	select {
	case s.traces <- struct{}{}:
		defer func() { <-s.traces }()
	default:
		w.Header().Set("Retry-After", strconv.Itoa(max(1, int(lim.Timeout/time.Second)/4)))
		return nil, 0, fmt.Errorf("%w: %d traces are running, the most this server runs at once; retry later", errBusy, lim.Concurrent)
	}
	ctx, cancel := context.WithTimeout(r.Context(), lim.Timeout)
	defer cancel()
	var v *query.TraceView
	var height int64
	err := s.read(func(db *index.DB) (err error) {
		height = db.Tip().Height
		v, err = query.Trace(ctx, db, req, lim.MaxOutputs)
		return err
	})
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil {
			return nil, 0, errLimit{"body", fmt.Sprintf("the trace did not finish within %s: narrow it (fewer hops or sources, a time window, a higher min_sats or a lower max_txs)", lim.Timeout)}
		}
		return nil, 0, err
	}
	return v, height, nil
}
