package casefile

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Status of a case.
const (
	Open   = "open"
	Closed = "closed"
)

// Bounds on what one case holds (C3).
const (
	MaxName    = 200
	MaxText    = 10_000
	MaxSources = 1000
	MaxNotes   = 1000
	MaxTraces  = 1000
	MaxLabels  = 10_000
)

// Note is an investigator's note.
type Note struct {
	At   time.Time `json:"at"`
	By   string    `json:"by"`
	Text string    `json:"text"`
}

// LabelRef names a label added for the case (package label holds it).
type LabelRef struct {
	At       time.Time `json:"at"`
	By       string    `json:"by"`
	Ref      string    `json:"ref"` // address or entity id
	Label    string    `json:"label"`
	Category string    `json:"category"`
}

// Trace is a trace run for the case: its parameters, and the summary the
// server computed at the chain tip it names.
type Trace struct {
	At      time.Time       `json:"at"`
	By      string          `json:"by"`
	Params  json.RawMessage `json:"params"`
	Height  int64           `json:"height"`
	Summary json.RawMessage `json:"summary,omitempty"`
}

// Case is one investigation.
type Case struct {
	ID          uint64     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Status      string     `json:"status"`
	Created     time.Time  `json:"created"`
	CreatedBy   string     `json:"created_by"`
	Updated     time.Time  `json:"updated"`
	Sources     []string   `json:"sources"`
	Notes       []Note     `json:"notes"`
	Labels      []LabelRef `json:"labels"`
	Traces      []Trace    `json:"traces"`
}

// Event is one entry of a case's audit log.
type Event struct {
	Seq    uint64    `json:"seq"`
	Case   uint64    `json:"case"`
	At     time.Time `json:"at"`
	By     string    `json:"by"`
	Action string    `json:"action"`
	Detail string    `json:"detail"`
}

// Summary is a case without its contents, for lists.
type Summary struct {
	ID        uint64    `json:"id"`
	Name      string    `json:"name"`
	Status    string    `json:"status"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by"`
	Updated   time.Time `json:"updated"`
	Sources   int       `json:"sources"`
	Notes     int       `json:"notes"`
	Traces    int       `json:"traces"`
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

// ErrNotFound: no such case.
var ErrNotFound = errors.New("no such case")

// ErrUnavailable marks a failure to reach a shared case store
// (PostgreSQL down or restarting): nothing was changed, or, for an edit
// whose commit was cut, the case says whether it was; the caller tries
// again later (the API answers 503 with Retry-After).
var ErrUnavailable = errors.New("case store unavailable")

// ErrInvalid marks an edit refused for its input (C3); the error names
// the field.
var ErrInvalid = errors.New("invalid")

// InvalidError says which field of an edit is wrong.
type InvalidError struct {
	Field string
	Err   error
}

func (e *InvalidError) Error() string { return e.Field + ": " + e.Err.Error() }
func (e *InvalidError) Unwrap() error { return ErrInvalid }

func invalid(field, format string, args ...any) error {
	return &InvalidError{field, fmt.Errorf(format, args...)}
}

// Store is the shared state of cases (issue 16 adds PostgreSQL).
type Store interface {
	// Create stores a new open case.
	Create(ctx context.Context, by, name, description string, sources []string) (Case, error)
	Get(ctx context.Context, id uint64) (Case, error)
	// List returns cases by id, from cursor (an opaque string from a
	// previous page), at most limit.
	List(ctx context.Context, cursor string, limit int) (Page[Summary], error)
	// Edit applies fn to case id and logs action and the detail fn returns,
	// atomically (C1). fn returning an error changes nothing. When fn
	// runs, c.Updated is the edit's time.
	Edit(ctx context.Context, id uint64, by, action string, fn func(c *Case) (detail string, err error)) (Case, error)
	// Audit returns case id's events after seq, at most limit.
	Audit(ctx context.Context, id uint64, after uint64, limit int) (Page[Event], error)
}

// checkText bounds a text field.
func checkText(field, s string, max int, required bool) error {
	switch {
	case required && strings.TrimSpace(s) == "":
		return invalid(field, "required")
	case len(s) > max:
		return invalid(field, "%d bytes, at most %d", len(s), max)
	case !utf8.ValidString(s):
		return invalid(field, "not UTF-8")
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' && r != '\r' {
			return invalid(field, "control character %U", r)
		}
	}
	return nil
}

// checkSources: each source is a txid, TXID:VOUT, an address or an
// entity id, as the trace takes them; the trace checks them against the
// chain, here they are only bounded.
func checkSources(field string, srcs []string) error {
	if len(srcs) > MaxSources {
		return invalid(field, "%d sources, at most %d", len(srcs), MaxSources)
	}
	for i, s := range srcs {
		if s == "" || len(s) > 100 || strings.ContainsAny(s, " \t\r\n") || !utf8.ValidString(s) {
			return invalid(fmt.Sprintf("%s[%d]", field, i), "%q is not a txid, TXID:VOUT, address or entity id", s)
		}
	}
	return nil
}

// Embedded keyspace (docs in doc.go).
const (
	pCase  = index.StageCases     // 72
	pAudit = index.StageCases + 1 // 73
	vCase  = 1
)

var counterKey = []byte{pCase, 0}

func caseKey(id uint64) []byte { return binary.BigEndian.AppendUint64([]byte{pCase, 1}, id) }
func auditKey(id, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{pAudit}, id), seq)
}

// DB is the embedded Store over the index's store. Its writers must be
// serialised with the store's other writers (the server runs them in
// pipeline.Write).
type DB struct {
	db *index.DB
}

// NewDB returns the embedded Store.
func NewDB(db *index.DB) *DB { return &DB{db: db} }

type counters struct{ Case, Seq uint64 }

func (s *DB) counters() (counters, error) {
	var c counters
	v, err := s.db.StageGet(counterKey)
	if err != nil || v == nil {
		return c, err
	}
	if len(v) != 16 {
		return c, fmt.Errorf("casefile: counters record of %d bytes", len(v))
	}
	return counters{binary.BigEndian.Uint64(v), binary.BigEndian.Uint64(v[8:])}, nil
}

func encode(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append([]byte{vCase}, b...), nil
}

func decode(v []byte, into any, what string) error {
	if len(v) == 0 || v[0] != vCase {
		return fmt.Errorf("casefile: %s record of unknown version", what)
	}
	if err := json.Unmarshal(v[1:], into); err != nil {
		return fmt.Errorf("casefile: %s record: %w", what, err)
	}
	return nil
}

// write commits c and its audit event in one batch (C1).
func (s *DB) write(ctx context.Context, c *Case, cn counters, ev Event) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	cv, err := encode(c)
	if err != nil {
		return err
	}
	ev.Seq = cn.Seq
	ev.Case = c.ID
	evv, err := encode(ev)
	if err != nil {
		return err
	}
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(caseKey(c.ID), cv)
	b.Set(auditKey(c.ID, ev.Seq), evv)
	b.Set(counterKey, binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64(nil, cn.Case), cn.Seq))
	return b.Commit()
}

// Now is the time edits are stamped with: UTC, to the microsecond (what
// PostgreSQL keeps), so every Store answers the same times.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// New checks a new case's fields (C3) and returns it, open, without an id,
// with the detail of its audit event: what every Store's Create stores.
func New(by, name, description string, sources []string) (Case, string, error) {
	if err := checkText("name", name, MaxName, true); err != nil {
		return Case{}, "", err
	}
	if err := checkText("description", description, MaxText, false); err != nil {
		return Case{}, "", err
	}
	if err := checkSources("sources", sources); err != nil {
		return Case{}, "", err
	}
	now := Now()
	c := Case{Name: strings.TrimSpace(name), Description: description, Status: Open, Created: now, CreatedBy: by, Updated: now,
		Sources: append([]string{}, sources...), Notes: []Note{}, Labels: []LabelRef{}, Traces: []Trace{}}
	return c, fmt.Sprintf("created %q with %d sources", c.Name, len(sources)), nil
}

// SummaryOf is c as lists show it.
func SummaryOf(c *Case) Summary {
	return Summary{ID: c.ID, Name: c.Name, Status: c.Status, Created: c.Created, CreatedBy: c.CreatedBy,
		Updated: c.Updated, Sources: len(c.Sources), Notes: len(c.Notes), Traces: len(c.Traces)}
}

func (s *DB) Create(ctx context.Context, by, name, description string, sources []string) (Case, error) {
	c, detail, err := New(by, name, description, sources)
	if err != nil {
		return Case{}, err
	}
	cn, err := s.counters()
	if err != nil {
		return Case{}, err
	}
	cn.Case++
	cn.Seq++
	c.ID = cn.Case
	if err := s.write(ctx, &c, cn, Event{At: c.Created, By: by, Action: "create", Detail: detail}); err != nil {
		return Case{}, err
	}
	return c, nil
}

func (s *DB) Get(ctx context.Context, id uint64) (Case, error) {
	var c Case
	if err := ctx.Err(); err != nil {
		return c, err
	}
	v, err := s.db.StageGet(caseKey(id))
	if err != nil {
		return c, err
	}
	if v == nil {
		return c, fmt.Errorf("case %d: %w", id, ErrNotFound)
	}
	err = decode(v, &c, "case "+strconv.FormatUint(id, 10))
	return c, err
}

// ParseCursor reads a list's cursor (empty: from the start); every Store
// gives ids as cursors. A malformed one is an InvalidError on "cursor".
func ParseCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return 0, invalid("cursor", "%q is not a cursor this list gave", cursor)
	}
	return n, nil
}

func (s *DB) List(ctx context.Context, cursor string, limit int) (Page[Summary], error) {
	p := Page[Summary]{Items: []Summary{}}
	from, err := ParseCursor(cursor)
	if err != nil {
		return p, err
	}
	err = s.db.StageScan(ctx, caseKey(from+1), []byte{pCase, 2}, func(k, v []byte) (bool, error) {
		if len(p.Items) == limit {
			p.NextCursor = strconv.FormatUint(p.Items[len(p.Items)-1].ID, 10)
			return false, nil
		}
		var c Case
		if err := decode(v, &c, "case"); err != nil {
			return false, err
		}
		p.Items = append(p.Items, SummaryOf(&c))
		return true, nil
	})
	return p, err
}

func (s *DB) Edit(ctx context.Context, id uint64, by, action string, fn func(c *Case) (string, error)) (Case, error) {
	c, err := s.Get(ctx, id)
	if err != nil {
		return Case{}, err
	}
	now := Now()
	c.Updated = now // fn stamps what it adds with it
	detail, err := fn(&c)
	if err != nil {
		return Case{}, err
	}
	cn, err := s.counters()
	if err != nil {
		return Case{}, err
	}
	cn.Seq++
	if err := s.write(ctx, &c, cn, Event{At: now, By: by, Action: action, Detail: detail}); err != nil {
		return Case{}, err
	}
	return c, nil
}

func (s *DB) Audit(ctx context.Context, id uint64, after uint64, limit int) (Page[Event], error) {
	p := Page[Event]{Items: []Event{}}
	if _, err := s.Get(ctx, id); err != nil {
		return p, err
	}
	lo := auditKey(id, after+1)
	hi := binary.BigEndian.AppendUint64([]byte{pAudit}, id+1)
	if id == ^uint64(0) {
		hi = []byte{pAudit + 1}
	}
	err := s.db.StageScan(ctx, lo, hi, func(k, v []byte) (bool, error) {
		if len(p.Items) == limit {
			p.NextCursor = strconv.FormatUint(p.Items[len(p.Items)-1].Seq, 10)
			return false, nil
		}
		var ev Event
		if err := decode(v, &ev, "audit"); err != nil {
			return false, err
		}
		p.Items = append(p.Items, ev)
		return true, nil
	})
	return p, err
}
