package query

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// TraceRequest is one trace as `sleuth trace`'s flags and POST /v1/trace's
// body state it. Zero numbers mean the trace package's defaults.
type TraceRequest struct {
	// Sources are traced together as one result: TXID:VOUT, a txid (all
	// its outputs), an address (all it received) or an entity id.
	Sources []string `json:"sources,omitempty"`
	// Incidents are incident ids or names (sleuth incident list): each
	// adds its transaction's marked output, or all its outputs; a name
	// adds every incident of that name.
	Incidents []string `json:"incidents,omitempty"`
	Direction string   `json:"direction,omitempty"` // forward (default) or backward
	Policy    string   `json:"policy,omitempty"`    // fifo (default), haircut, poison, lifo, tiho
	Hops      int      `json:"hops,omitempty"`
	MinSats   int64    `json:"min_sats,omitempty"`
	Paths     int      `json:"paths,omitempty"`
	// Detail: how many entities get address strings and example paths
	// (-1: all).
	Detail int `json:"detail,omitempty"`
	// After, Before bound the window by block time (RFC 3339 or
	// YYYY-MM-DD); FromHeight, ToHeight (inclusive) by height, turned into
	// the block times of those heights. Both may be given: the narrower
	// bound holds.
	After      string `json:"after,omitempty"`
	Before     string `json:"before,omitempty"`
	FromHeight *int64 `json:"from_height,omitempty"`
	ToHeight   *int64 `json:"to_height,omitempty"`
	// Perpetrators are entities followed even when labelled as services.
	Perpetrators    []uint64 `json:"perpetrators,omitempty"`
	FollowCoinJoins bool     `json:"follow_coinjoins,omitempty"`
	// MaxTxs bounds the transactions read (0: trace.DefaultMaxTxs);
	// taint still pending then counts as truncated.
	MaxTxs int `json:"max_txs,omitempty"`
	// Graph builds the result's graph (nodes and edges).
	Graph bool `json:"graph,omitempty"`

	// lines are a source file's lines (WithSourceFile), after Sources.
	file  string
	lines []trace.SourceLine
}

// WithSourceFile adds the lines of a source list read from file (named in
// errors) after r.Sources.
func (r *TraceRequest) WithSourceFile(file string, lines []trace.SourceLine) {
	r.file, r.lines = file, lines
}

// FieldError is a trace request's bad field: Field names it as the JSON
// body does (sources[2], hops), Err says what is wrong.
type FieldError struct {
	Field string
	Err   error
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{field, fmt.Errorf(format, args...)}
}

// ParseTime reads a time as RFC 3339 or YYYY-MM-DD (midnight UTC); ""
// is the zero time.
func ParseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, fmt.Errorf("bad time %q: want RFC 3339 or YYYY-MM-DD", s)
	}
	return t, nil
}

// Options checks the request's parameters (not its sources) and returns
// the trace options they ask for, without the store's cash-out points
// (Trace sets Stop) and without the height window (Trace reads it).
func (r *TraceRequest) Options() (trace.Options, error) {
	var opts trace.Options
	var err error
	if r.Policy != "" {
		if opts.Policy, err = trace.ParsePolicy(r.Policy); err != nil {
			return opts, &FieldError{"policy", err}
		}
	}
	switch r.Direction {
	case "", "forward":
	case "backward":
		opts.Direction = trace.Backward
	default:
		return opts, fieldErr("direction", "%q: want forward or backward", r.Direction)
	}
	switch {
	case r.Hops < 0:
		return opts, fieldErr("hops", "%d: must be positive", r.Hops)
	case r.MinSats < 0:
		return opts, fieldErr("min_sats", "%d: must be positive", r.MinSats)
	case r.Paths < 0:
		return opts, fieldErr("paths", "%d: must not be negative", r.Paths)
	case r.Detail < -1:
		return opts, fieldErr("detail", "%d: must be positive, or -1 for all", r.Detail)
	case r.MaxTxs < 0:
		return opts, fieldErr("max_txs", "%d: must be positive", r.MaxTxs)
	}
	opts.MaxHops, opts.MinSats, opts.Paths, opts.Detail, opts.MaxTxs = r.Hops, btc.Amount(r.MinSats), r.Paths, r.Detail, r.MaxTxs
	opts.Graph, opts.FollowCoinJoins, opts.Perpetrators = r.Graph, r.FollowCoinJoins, r.Perpetrators
	if opts.After, err = ParseTime(r.After); err != nil {
		return opts, &FieldError{"after", err}
	}
	if opts.Before, err = ParseTime(r.Before); err != nil {
		return opts, &FieldError{"before", err}
	}
	for _, h := range []struct {
		name string
		v    *int64
	}{{"from_height", r.FromHeight}, {"to_height", r.ToHeight}} {
		if h.v != nil && (*h.v < 0 || *h.v > 1<<31-1) {
			return opts, fieldErr(h.name, "%d: want a height 0..%d", *h.v, 1<<31-1)
		}
	}
	if r.FromHeight != nil && r.ToHeight != nil && *r.FromHeight > *r.ToHeight {
		return opts, fieldErr("to_height", "%d is below from_height %d", *r.ToHeight, *r.FromHeight)
	}
	if len(r.Sources)+len(r.Incidents)+len(r.lines) == 0 {
		return opts, fieldErr("sources", "no sources: give TXID:VOUT, txids, addresses, entity ids or incidents")
	}
	return *opts.EnsureDefaults(), nil
}

// TraceView is a trace's answer: the result `sleuth trace --json` prints,
// with its graph when the request asked for it.
type TraceView struct {
	*trace.Result
	Graph *trace.Graph `json:"graph,omitempty"`
	// Services is how many labelled services (cash-out points) the store
	// knows; with none, nothing counts as a cash-out.
	Services int `json:"services"`
}

// Trace resolves the request's sources in order (an error names the
// source: a FieldError for a malformed one or one naming nothing,
// wrapping index.ErrNotFound for one not in the index) and traces them
// together from the store's labelled services. limit bounds the outputs
// the sources may resolve to (0: none); more is a FieldError on sources.
func Trace(ctx context.Context, db *index.DB, req *TraceRequest, limit int) (*TraceView, error) {
	opts, err := req.Options()
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := heightWindow(db, req, &opts); err != nil {
		return nil, err
	}
	src, err := traceSources(ctx, db, req, limit)
	if err != nil {
		return nil, err
	}
	svc, err := label.Services(ctx, db, nil)
	if err != nil {
		return nil, err
	}
	opts.Stop = trace.StopAt(svc)
	res, err := trace.Trace(ctx, db, src, opts)
	if err != nil {
		return nil, err
	}
	v := &TraceView{Result: res, Services: len(svc)}
	if req.Graph {
		v.Graph = &res.Graph
	}
	return v, nil
}

// heightWindow narrows opts' window to the block times of the request's
// heights: from the time of block FromHeight, before the time of block
// ToHeight+1 (unbounded when it is past the tip).
func heightWindow(db *index.DB, req *TraceRequest, opts *trace.Options) error {
	blockTime := func(field string, h int64) (time.Time, bool, error) {
		b, err := db.Block(strconv.FormatInt(h, 10))
		if errors.Is(err, index.ErrNotFound) {
			return time.Time{}, false, nil
		}
		if err != nil {
			return time.Time{}, false, fmt.Errorf("%s %d: %w", field, h, err)
		}
		t, err := time.Parse(time.RFC3339, b.Time)
		return t, true, err
	}
	if req.FromHeight != nil {
		t, ok, err := blockTime("from_height", *req.FromHeight)
		if err != nil {
			return err
		}
		if !ok {
			return &FieldError{"from_height", fmt.Errorf("block %d: %w", *req.FromHeight, index.ErrNotFound)}
		}
		if t.After(opts.After) {
			opts.After = t
		}
	}
	if req.ToHeight != nil {
		t, ok, err := blockTime("to_height", *req.ToHeight+1)
		if err != nil {
			return err
		}
		if ok && (opts.Before.IsZero() || t.Before(opts.Before)) {
			opts.Before = t
		}
	}
	return nil
}

// sourceErr wraps a source's resolve error: a FieldError when the source
// is malformed or names nothing (ErrSource, a bad address, not found),
// a plain wrap for a store fault.
func sourceErr(field, what string, err error) error {
	if what != "" {
		err = fmt.Errorf("%s: %w", what, err)
	}
	if errors.Is(err, trace.ErrSource) || errors.Is(err, index.ErrNotFound) || badAddress(err) {
		return &FieldError{field, err}
	}
	return err
}

func badAddress(err error) bool {
	return errors.Is(err, address.ErrChecksum) || errors.Is(err, address.ErrWrongNetwork) ||
		errors.Is(err, address.ErrLength) || errors.Is(err, address.ErrFormat)
}

// traceSources reads the outputs of every source, in order, into one
// list: traced together, they are one result.
func traceSources(ctx context.Context, db *index.DB, req *TraceRequest, limit int) ([]trace.Taint, error) {
	var src []trace.Taint
	add := func(field string, s []trace.Taint) error {
		src = append(src, s...)
		if limit > 0 && len(src) > limit {
			return &FieldError{field, fmt.Errorf("%w: the sources hold more than %d outputs, the most one trace takes", ErrTooManyOutputs, limit)}
		}
		return nil
	}
	for i, f := range req.Sources {
		field := fmt.Sprintf("sources[%d]", i)
		s, err := trace.ParseSource(ctx, db, f)
		if err != nil {
			return nil, sourceErr(field, f, err)
		}
		if err := add(field, s); err != nil {
			return nil, err
		}
	}
	for _, l := range req.lines {
		field := fmt.Sprintf("%s: line %d (%s)", req.file, l.Line, l.Text)
		s, err := l.Resolve(ctx, db)
		if err != nil {
			return nil, sourceErr(field, "", err)
		}
		if err := add(field, s); err != nil {
			return nil, err
		}
	}
	if len(req.Incidents) == 0 {
		return src, nil
	}
	ins, err := label.Incidents(ctx, db)
	if err != nil {
		return nil, err
	}
	for i, name := range req.Incidents {
		field := fmt.Sprintf("incidents[%d]", i)
		found, err := findIncidents(ins, name)
		if err != nil {
			return nil, &FieldError{field, err}
		}
		for _, in := range found {
			spec := in.TxID
			if in.Vout != label.AllOutputs {
				spec += ":" + strconv.FormatInt(in.Vout, 10)
			}
			s, err := trace.ParseSource(ctx, db, spec)
			if err != nil {
				return nil, sourceErr(field, fmt.Sprintf("incident %d (%s)", in.ID, spec), err)
			}
			if err := add(field, s); err != nil {
				return nil, err
			}
		}
	}
	return src, nil
}

// ErrTooManyOutputs is returned (in a FieldError) when a trace's sources
// resolve to more outputs than the caller's limit.
var ErrTooManyOutputs = errors.New("too many source outputs")

// ErrNoIncident is returned for an incident id or name that names none.
var ErrNoIncident = errors.New("no such incident")

// findIncidents returns the incident with id s, or every incident named
// s (case-insensitive): an incident of several transactions is one name.
func findIncidents(ins []label.Incident, s string) ([]label.Incident, error) {
	s = strings.TrimSpace(s)
	if id, err := strconv.ParseUint(s, 10, 32); err == nil {
		for _, in := range ins {
			if uint64(in.ID) == id {
				return []label.Incident{in}, nil
			}
		}
	}
	var found []label.Incident
	for _, in := range ins {
		if in.Name != "" && strings.EqualFold(in.Name, s) {
			found = append(found, in)
		}
	}
	if len(found) == 0 {
		return nil, fmt.Errorf("%w %q (sleuth incident list names them)", ErrNoIncident, s)
	}
	return found, nil
}
