package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pace"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// Options configure a Server.
type Options struct {
	// Logger receives access logs and failures. Default: discard.
	Logger *slog.Logger
	// Pace, when set, counts every request but an alert stream as
	// foreground work, for which the work paced by it (the follower's
	// ingest: Run sets it) stands aside. Nil: requests are not counted.
	Pace *pace.Pacer
	// MaxBody bounds a request body. Default 2 MiB (10,000 addresses).
	MaxBody int64
	// MaxBatch bounds the addresses of one POST /v1/screen or TRM
	// screening. Default 10,000.
	MaxBatch int
	// Keys, when it holds any key, is required of every request but the
	// health checks and the API description (X-API-Key or Authorization:
	// Bearer), each route by its scope, and rate-limits each key (429 with
	// Retry-After). Nil or empty: no keys, and Run listens on loopback only.
	Keys *apikey.Set
	// Cases, when set, is the shared cases store (sleuth serve --shared:
	// PostgreSQL); nil: the embedded one in the store's keyspace.
	Cases casefile.Store
	// Labels, when set, applies the label routes' edits (sleuth serve
	// --shared: labelsync.Shared, through PostgreSQL's log); nil: the
	// embedded store's (labelsync.Local).
	Labels labelsync.Editor
	// Watchlists, when set, is the shared watchlist store (sleuth serve
	// --shared: PostgreSQL); nil: the embedded one in the store's keyspace.
	Watchlists watch.Store
	// LoopbackWebhooks lets webhook endpoints point at loopback (Run sets
	// it when the server listens on loopback only). Private and link-local
	// destinations are always refused.
	LoopbackWebhooks bool
	// WatchlistsChanged, when set, is called after every watchlist change
	// the API commits (outside the pipeline's guard), so that the alert
	// stage recompiles its watch.Set before the next block.
	WatchlistsChanged func()
	// MaxStreams bounds the open GET /v1/alerts/stream connections of one
	// API key (all clients count as one without keys). Default 4.
	MaxStreams int
	// StreamPoll is how often a stream looks for new events (default 1 s);
	// Heartbeat how long it stays silent before a comment line (default
	// 15 s).
	StreamPoll, Heartbeat time.Duration
	// Trace bounds POST /v1/trace (TraceLimits states the defaults).
	Trace TraceLimits
	// MaxImportBody bounds a POST /v1/labels/import body, and what a
	// gzipped one unpacks to. Default 64 MiB (SDN.CSV is about 5 MiB).
	MaxImportBody int64
}

func (o *Options) ensureDefaults() {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.MaxBody <= 0 {
		o.MaxBody = 2 << 20
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 10_000
	}
	if o.MaxStreams <= 0 {
		o.MaxStreams = 4
	}
	if o.StreamPoll <= 0 {
		o.StreamPoll = time.Second
	}
	if o.Heartbeat <= 0 {
		o.Heartbeat = 15 * time.Second
	}
	o.Trace.ensureDefaults()
	if o.MaxImportBody <= 0 {
		o.MaxImportBody = 64 << 20
	}
}

// Server answers the API's routes from a pipeline's store.
type Server struct {
	pl      *pipeline.Pipeline
	opts    Options
	log     *slog.Logger
	mux     *http.ServeMux
	routes  []route
	metrics *metrics
	ready   atomic.Bool
	// screeners pools risk.Screeners (not safe for concurrent use) of one
	// store state: a screener reads through the view it was made on and
	// caches labels, so a writer's update retires the pool's older ones
	// (see cached).
	screeners sync.Pool
	status    struct {
		sync.Mutex
		key stateKey
		v   *query.StatusView
	}
	reqSeq  atomic.Uint64
	reqBase string
	streams streams
	// traces holds a token per running trace (Options.Trace.Concurrent).
	traces chan struct{}
}

type pooledScreener struct {
	key stateKey
	sc  *risk.Screener
}

// stateKey names the store state a cached read result was computed from:
// the reader's view (immutable, so never stale while it is the one read)
// and the pipeline's generation (which tells states apart when readers
// share the store itself, pipeline.Options.LockedReads). Holding db keeps
// its address from being reused by a later view.
type stateKey struct {
	db  *index.DB
	gen uint64
}

// stateOf returns the key of the state a reader of db sees (call it
// inside read).
func (s *Server) stateOf(db *index.DB) stateKey { return stateKey{db, s.pl.Generation()} }

// route is one registered pattern.
type route struct {
	method, path string
}

// New returns a Server over pl's store; it subscribes to pl's events for
// its metrics, so call it before pl's first writer.
func New(pl *pipeline.Pipeline, opts Options) *Server {
	opts.ensureDefaults()
	if opts.Labels == nil {
		opts.Labels = labelsync.NewLocal(pl)
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	s := &Server{pl: pl, opts: opts, log: opts.Logger, mux: http.NewServeMux(), reqBase: hex.EncodeToString(b[:]),
		streams: streams{open: map[uint32]int{}, done: make(chan struct{})}}
	s.metrics = newMetrics(pl, opts.Pace)
	s.traces = make(chan struct{}, opts.Trace.Concurrent)
	s.ready.Store(true)
	s.handle("GET", "/v1/status", s.getStatus)
	s.handle("GET", "/v1/addresses/{address}", s.getAddress)
	s.handle("GET", "/v1/addresses/{address}/transactions", s.getAddressTxs)
	s.handle("GET", "/v1/transactions/{txid}", s.getTx)
	s.handle("GET", "/v1/blocks/{ref}", s.getBlock)
	s.handle("GET", "/v1/entities/{id}", s.getEntity)
	s.handle("GET", "/v1/entities/{id}/addresses", s.getEntityAddresses)
	s.handle("GET", "/v1/entities/{id}/explain", s.getEntityExplain)
	s.handle("GET", "/v1/labels/{ref}", s.getLabels)
	s.handle("GET", "/v1/screen/{address}", s.getScreen)
	s.handle("POST", "/v1/screen", s.postScreen)
	s.handle("GET", "/v1/exposure/{ref}", s.getExposure)
	s.handle("GET", "/v1/search", s.getSearch)
	s.handle("POST", "/v1/trace", s.postTrace)
	s.handle("POST", "/v1/labels", s.postLabels)
	s.handle("DELETE", "/v1/labels/{ref}", s.deleteLabel)
	s.handle("POST", "/v1/labels/import", s.importLabels)
	s.handle("GET", "/api/v1/address/{address}", s.chainalysisAddress)
	s.handle("POST", "/public/v1/sanctions/screening", s.trmScreening)
	s.handle("GET", "/openapi.json", s.getOpenAPI)
	s.handle("GET", "/healthz", s.getHealthz)
	s.handle("GET", "/readyz", s.getReadyz)
	s.handleWatchlists()
	s.handleAlerts()
	s.handleWebhooks()
	s.routes = append(s.routes, route{"GET", "/metrics"})
	s.mux.Handle("GET /metrics", s.metrics.handler())
	s.routeCases()
	s.mountUI()
	return s
}

// SetReady says whether the server has caught up (Run clears it until its
// first ingest is done); /readyz answers 503 while it is false.
func (s *Server) SetReady(ok bool) { s.ready.Store(ok) }

func (s *Server) handle(method, path string, h func(w http.ResponseWriter, r *http.Request) error) {
	s.routes = append(s.routes, route{method, path})
	s.mux.HandleFunc(method+" "+path, func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err, "")
		}
	})
}

type ctxKey struct{}

// actor names who makes a request, for audit logs and review notes: the
// API key's name and id, or "local" when the server has no keys (it then
// listens on loopback only, A5).
func actor(r *http.Request) string {
	if k, ok := requestKey(r); ok {
		return fmt.Sprintf("%s (key %d)", k.Name, k.ID)
	}
	return "local"
}

// requestID returns the request's id (set by the middleware).
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(ctxKey{}).(string)
	return id
}

// saneID reports whether a client's X-Request-Id can be echoed.
func saneID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (streams
// flush and clear the write deadline).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// discardWriter captures what the mux's own 404 and 405 handlers set.
type discardWriter struct {
	h      http.Header
	status int
}

func (d *discardWriter) Header() http.Header         { return d.h }
func (d *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d *discardWriter) WriteHeader(code int)        { d.status = code }

// ServeHTTP gives every request an id, the body limit, metrics, an access
// log line and recovery; unmatched paths and methods answer as problems.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := r.Header.Get("X-Request-Id")
	if !saneID(id) {
		id = s.reqBase + "-" + strconv.FormatUint(s.reqSeq.Add(1), 10)
	}
	r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, id))
	w.Header().Set("X-Request-Id", id)
	sw := &statusWriter{ResponseWriter: w}
	h, pattern := s.mux.Handler(r)
	route := pattern
	defer func() {
		if v := recover(); v != nil {
			s.log.ErrorContext(r.Context(), "handler panic", "request_id", id, "path", r.URL.Path, "panic", v)
			if sw.status == 0 {
				s.writeProblem(sw, r, Problem{Status: http.StatusInternalServerError, Detail: "internal error (logged with this request id)"})
			}
		}
		if route == "" {
			route = "unmatched"
		}
		d := time.Since(start)
		s.metrics.observe(route, sw.status, d)
		s.log.InfoContext(r.Context(), "request", "request_id", id, "method", r.Method, "path", r.URL.Path,
			"route", route, "status", sw.status, "bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "remote", r.RemoteAddr)
	}()
	if pattern == "" {
		// The mux's 404 or 405 (with its Allow header) as a problem.
		d := &discardWriter{h: http.Header{}}
		h.ServeHTTP(d, r)
		if allow := d.h.Get("Allow"); allow != "" {
			sw.Header().Set("Allow", allow)
		}
		if d.status == 0 {
			d.status = http.StatusNotFound
		}
		detail := "no such route: see /openapi.json"
		if d.status == http.StatusMethodNotAllowed {
			detail = r.Method + " is not allowed here (allowed: " + d.h.Get("Allow") + ")"
		}
		s.writeProblem(sw, r, Problem{Status: d.status, Detail: detail})
		return
	}
	r, ok := s.authorize(sw, r, pattern)
	if !ok {
		return
	}
	if r.Body != nil {
		limit := s.opts.MaxBody
		if pattern == importPattern {
			limit = s.opts.MaxImportBody
		}
		r.Body = http.MaxBytesReader(sw, r.Body, limit)
	}
	if pattern != streamPattern { // a stream is open for hours and mostly idle
		s.opts.Pace.Enter()
		defer s.opts.Pace.Leave()
	}
	s.mux.ServeHTTP(sw, r) // (not h: the mux sets the path values)
}

// need is what each route asks of an API key; routes absent here are open
// (health checks, the API description).
var need = map[string]apikey.Need{
	"GET /v1/screen/{address}":                 apikey.NeedScreen,
	"POST /v1/screen":                          apikey.NeedScreen,
	"GET /api/v1/address/{address}":            apikey.NeedScreen,
	"POST /public/v1/sanctions/screening":      apikey.NeedScreen,
	"GET /v1/status":                           apikey.NeedAny, // the basis screening answers cite
	"GET /v1/addresses/{address}":              apikey.NeedRead,
	"GET /v1/addresses/{address}/transactions": apikey.NeedRead,
	"GET /v1/transactions/{txid}":              apikey.NeedRead,
	"GET /v1/blocks/{ref}":                     apikey.NeedRead,
	"GET /v1/entities/{id}":                    apikey.NeedRead,
	"GET /v1/entities/{id}/addresses":          apikey.NeedRead,
	"GET /v1/entities/{id}/explain":            apikey.NeedRead,
	"GET /v1/labels/{ref}":                     apikey.NeedRead,
	"GET /v1/exposure/{ref}":                   apikey.NeedRead,
	"GET /v1/search":                           apikey.NeedRead,
	"GET /v1/cases":                            apikey.NeedRead,
	"GET /v1/cases/{id}":                       apikey.NeedRead,
	"GET /v1/cases/{id}/audit":                 apikey.NeedRead,
	"GET /v1/cases/{id}/report":                apikey.NeedRead,
	"POST /v1/cases":                           apikey.NeedWrite,
	"POST /v1/cases/{id}/sources":              apikey.NeedWrite,
	"POST /v1/cases/{id}/notes":                apikey.NeedWrite,
	"POST /v1/cases/{id}/labels":               apikey.NeedWrite,
	"POST /v1/cases/{id}/status":               apikey.NeedWrite,
	"POST /v1/cases/{id}/traces":               apikey.NeedWrite,
	"POST /v1/trace":                           apikey.NeedRead,
	"POST /v1/labels":                          apikey.NeedWrite,
	"DELETE /v1/labels/{ref}":                  apikey.NeedWrite,
	importPattern:                              apikey.NeedWrite,
	"GET /metrics":                             apikey.NeedRead,
	"GET /v1/watchlists":                       apikey.NeedRead,
	"POST /v1/watchlists":                      apikey.NeedWrite,
	"GET /v1/watchlists/{id}":                  apikey.NeedRead,
	"DELETE /v1/watchlists/{id}":               apikey.NeedWrite,
	"GET /v1/watchlists/{id}/addresses":        apikey.NeedRead,
	"POST /v1/watchlists/{id}/items":           apikey.NeedWrite,
	"DELETE /v1/watchlists/{id}/items":         apikey.NeedWrite,
	"GET /v1/alerts":                           apikey.NeedRead,
	"GET /v1/alerts/stream":                    apikey.NeedRead,
	"GET /v1/alerts/{id}":                      apikey.NeedRead,
	"POST /v1/alerts/{id}/review":              apikey.NeedWrite,
	"GET /v1/webhooks":                         apikey.NeedWrite, // URLs can carry credentials
	"POST /v1/webhooks":                        apikey.NeedWrite,
	"DELETE /v1/webhooks/{id}":                 apikey.NeedWrite,
	"GET /v1/webhooks/{id}/deliveries":         apikey.NeedRead,
}

// keyCtx is the context key of the request's API key.
type keyCtx struct{}

// requestKey returns the API key a request was authorized with (false
// when the server runs without keys or the route is open).
func requestKey(r *http.Request) (apikey.Key, bool) {
	k, ok := r.Context().Value(keyCtx{}).(apikey.Key)
	return k, ok
}

// authorize applies the API keys to a request of route pattern: 401
// without a valid key, 403 when its scope does not allow the route, 429
// when its rate is spent. It reports whether the request may go on, and
// returns it with the key in its context (requestKey).
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, pattern string) (*http.Request, bool) {
	keys := s.opts.Keys
	if keys == nil || keys.Len() == 0 {
		return r, true
	}
	n, guarded := need[pattern]
	if !guarded {
		return r, true
	}
	secret := r.Header.Get("X-API-Key")
	if secret == "" {
		if b, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			secret = strings.TrimSpace(b)
		}
	}
	if secret == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sleuth"`)
		s.writeProblem(w, r, Problem{Status: http.StatusUnauthorized, Field: "header:X-API-Key", Detail: "an API key is required (X-API-Key or Authorization: Bearer)"})
		return r, false
	}
	k, err := keys.Authenticate(secret)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="sleuth", error="invalid_token"`)
		s.writeProblem(w, r, Problem{Status: http.StatusUnauthorized, Field: "header:X-API-Key", Detail: "unknown or revoked API key"})
		return r, false
	}
	if !k.Scope.Allows(n) {
		s.writeProblem(w, r, Problem{Status: http.StatusForbidden, Detail: fmt.Sprintf("key %d (%s) has scope %s, which does not allow %s", k.ID, k.Name, k.Scope, pattern)})
		return r, false
	}
	if ok, wait := keys.Allow(k.ID); !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait/time.Second)+1))
		s.writeProblem(w, r, Problem{Status: http.StatusTooManyRequests, Detail: fmt.Sprintf("key %d is over its rate limit", k.ID)})
		return r, false
	}
	return r.WithContext(context.WithValue(r.Context(), keyCtx{}, k)), true
}

// read runs fn on the pipeline's current view of the store (A3).
func (s *Server) read(fn func(db *index.DB) error) error { return s.pl.Read(fn) }

// writeJSON answers v with status 200.
func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// screener returns a pooled screener of the current generation; call it
// inside read. put returns it.
func (s *Server) screener(db *index.DB) (*pooledScreener, error) {
	key := s.stateOf(db)
	if p, ok := s.screeners.Get().(*pooledScreener); ok && p.key == key {
		return p, nil
	}
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		return nil, err
	}
	return &pooledScreener{key: key, sc: sc}, nil
}

func (s *Server) putScreener(p *pooledScreener) { s.screeners.Put(p) }
