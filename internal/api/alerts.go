package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// The /v1/alerts routes: list with filters and cursor paging, one alert,
// review (status and note, signed with the API key's name) and the
// server-sent-events stream of alert events.

func (s *Server) handleAlerts() {
	s.handle("GET", "/v1/alerts", s.listAlerts)
	s.handle("GET", "/v1/alerts/stream", s.streamAlerts)
	s.handle("GET", "/v1/alerts/{id}", s.getAlert)
	s.handle("POST", "/v1/alerts/{id}/review", s.reviewAlert)
}

const defaultAlertLimit = 100

// streamPattern is the alert stream's route: open for hours and mostly
// idle, it is not foreground work for Options.Pace.
const streamPattern = "GET /v1/alerts/stream"

// alertFilter reads GET /v1/alerts's filters: status, level (that level
// and above), watchlist (id or name), min_height, max_height.
func (s *Server) alertFilter(r *http.Request, db *index.DB) (alert.Filter, error) {
	var f alert.Filter
	q := r.URL.Query()
	var err error
	if v := q.Get("status"); v != "" {
		if f.Status, err = alert.ParseStatus(v); err != nil {
			return f, badInput("query:status", err)
		}
	}
	if v := q.Get("level"); v != "" {
		if f.MinLevel, err = alert.ParseLevel(v); err != nil {
			return f, badInput("query:level", err)
		}
	}
	for _, h := range []struct {
		name string
		to   *int64
	}{{"min_height", &f.MinHeight}, {"max_height", &f.MaxHeight}} {
		if v := q.Get(h.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return f, badInputf("query:"+h.name, "want a block height (an integer ≥ 0), got %q", truncate(v, 100))
			}
			*h.to = n
		}
	}
	if f.MaxHeight != 0 && f.MinHeight > f.MaxHeight {
		return f, badInputf("query:min_height", "min_height %d is above max_height %d", f.MinHeight, f.MaxHeight)
	}
	if v := q.Get("watchlist"); v != "" {
		name := v
		if id, err := strconv.ParseUint(v, 10, 32); err == nil {
			l, err := watchlist(r.Context(), s.watchStore(db), uint32(id))
			if errors.Is(err, watch.ErrNotFound) {
				return f, badInputf("query:watchlist", "no watchlist %d (give a removed list's name to see its alerts)", id)
			} else if err != nil {
				return f, err
			}
			name = l.Name
		}
		f.RulePrefix = "watch:" + name + "/"
	}
	if c := q.Get("cursor"); c != "" {
		if _, err := strconv.ParseUint(c, 10, 64); err != nil {
			return f, badInputf("query:cursor", "not a cursor this server gave out: %q", truncate(c, 100))
		}
	}
	return f, nil
}

func (s *Server) listAlerts(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r, defaultAlertLimit)
	if err != nil {
		return err
	}
	var f alert.Filter
	if err := s.read(func(db *index.DB) (err error) { f, err = s.alertFilter(r, db); return err }); err != nil {
		return err
	}
	p, err := s.pl.AlertStore().List(r.Context(), f, r.URL.Query().Get("cursor"), limit)
	if err != nil {
		return err
	}
	out := Page[alert.Alert]{Items: p.Alerts, NextCursor: p.Next}
	if out.Items == nil {
		out.Items = []alert.Alert{}
	}
	return writeJSON(w, out)
}

// alertID parses the {id} path parameter.
func alertID(r *http.Request) (uint64, error) { return idParam(r, "an alert", 64) }

func (s *Server) getAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	a, err := s.pl.AlertStore().Get(r.Context(), id)
	if err != nil {
		return err
	}
	return writeJSON(w, &a)
}

// Review is the body of POST /v1/alerts/{id}/review: a new status (open,
// acknowledged, dismissed, escalated), a note, or both.
type Review struct {
	Status string `json:"status,omitempty"`
	Note   string `json:"note,omitempty"`
}

// maxNote bounds a review note (the alert store keeps up to 64 KiB).
const maxNote = 16 << 10

func (s *Server) reviewAlert(w http.ResponseWriter, r *http.Request) error {
	id, err := alertID(r)
	if err != nil {
		return err
	}
	var in Review
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	var to alert.Status
	if in.Status != "" {
		if to, err = alert.ParseStatus(in.Status); err != nil {
			return badInput("body.status", err)
		}
	}
	if to == 0 && in.Note == "" {
		return badInputf("body", "nothing to change: give a status, a note or both")
	}
	if len(in.Note) > maxNote {
		return badInputf("body.note", "%d bytes, at most %d", len(in.Note), maxNote)
	}
	by := ""
	if k, ok := requestKey(r); ok {
		by = k.Name
	}
	var a alert.Alert
	err = s.alertWrite(func(st alert.Store) (err error) {
		a, err = st.ReviewBy(r.Context(), id, to, in.Note, by)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, &a)
}

// alertWrite runs fn on the alert store: inside the pipeline's writer
// guard for the embedded store (its writes go to the index's store), and
// directly for a shared one, so that a slow or unreachable PostgreSQL
// never holds the chain's writers up.
func (s *Server) alertWrite(fn func(st alert.Store) error) error {
	if s.pl.SharedAlerts() {
		return fn(s.pl.AlertStore())
	}
	return s.pl.Write(func(*index.DB) error { return fn(s.pl.AlertStore()) })
}

// streams counts the open alert streams of each API key and ends them all
// when the server shuts down.
type streams struct {
	mu   sync.Mutex
	open map[uint32]int
	done chan struct{}
	once sync.Once
}

// errTooManyStreams is a 429.
type errTooManyStreams struct {
	key uint32
	max int
}

func (e *errTooManyStreams) Error() string {
	return fmt.Sprintf("key %d already has %d open alert streams (the most a key may hold): close one first", e.key, e.max)
}

// acquire opens a stream of key, or refuses past max; release closes it.
func (st *streams) acquire(key uint32, max int) (release func(), err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.open[key] >= max {
		return nil, &errTooManyStreams{key, max}
	}
	st.open[key]++
	return func() {
		st.mu.Lock()
		defer st.mu.Unlock()
		if st.open[key]--; st.open[key] == 0 {
			delete(st.open, key)
		}
	}, nil
}

// CloseStreams ends every open GET /v1/alerts/stream (and refuses new
// ones), so that http.Server.Shutdown does not wait on them: Run registers
// it with RegisterOnShutdown.
func (s *Server) CloseStreams() { s.streams.once.Do(func() { close(s.streams.done) }) }

// eventReader reads the alert events from the alert store in batches, so
// that a slow client never holds a read open while it writes.
type eventReader struct{ s *Server }

const eventBatch = 256

func (e eventReader) Events(ctx context.Context, after uint64, fn func(*alert.Event) (bool, error)) error {
	for {
		batch := make([]alert.Event, 0, eventBatch)
		err := e.s.pl.AlertStore().Events(ctx, after, func(ev *alert.Event) (bool, error) {
			batch = append(batch, *ev)
			return len(batch) < eventBatch, nil
		})
		if err != nil {
			return err
		}
		for i := range batch {
			if ok, err := fn(&batch[i]); err != nil || !ok {
				return err
			}
			after = batch[i].Seq
		}
		if len(batch) < eventBatch {
			return nil
		}
	}
}

// streamAlerts is GET /v1/alerts/stream: every alert event after the
// client's Last-Event-ID, then new ones as they are stored, with a comment
// line when nothing happened for Options.Heartbeat. It ends when the
// client goes, when a write stalls past the heartbeat and 30 s, or when
// the server shuts down (CloseStreams).
func (s *Server) streamAlerts(w http.ResponseWriter, r *http.Request) error {
	after, err := alert.ParseLastEventID(r.Header.Get("Last-Event-ID"))
	if err != nil {
		return badInput("header:Last-Event-ID", err)
	}
	select {
	case <-s.streams.done:
		return fmt.Errorf("alert stream: %w (the server is shutting down)", errUnavailable)
	default:
	}
	var key uint32
	if k, ok := requestKey(r); ok {
		key = k.ID
	}
	release, err := s.streams.acquire(key, s.opts.MaxStreams)
	if err != nil {
		w.Header().Set("Retry-After", "10")
		return err
	}
	defer release()
	rc := http.NewResponseController(w)
	deadline := func() { _ = rc.SetWriteDeadline(time.Now().Add(s.opts.Heartbeat + 30*time.Second)) }
	deadline()
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodHead {
		return nil
	}
	if _, err := io.WriteString(w, "retry: 2000\n\n"); err != nil {
		return nil
	}
	_ = rc.Flush()
	err = alert.StreamWith(r.Context(), w, func() { _ = rc.Flush() }, eventReader{s}, after, alert.StreamOptions{
		Poll: s.opts.StreamPoll, Heartbeat: s.opts.Heartbeat, Done: s.streams.done, BeforeWrite: deadline})
	switch {
	case err == nil, errors.Is(err, context.Canceled), errors.Is(err, alert.ErrStreamDone):
	default:
		// The client is gone or the store failed mid-stream: the status is
		// sent, so log it.
		s.log.WarnContext(r.Context(), "alert stream ended", "request_id", requestID(r), "err", err)
	}
	return nil
}
