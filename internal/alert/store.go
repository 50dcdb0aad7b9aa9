package alert

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Keyspace: the alert half of index.StageAlert (0x60–0x67); package watch
// owns 0x68–0x6F. docs/format/index.md draws each record.
const (
	pState    = index.StageAlert + 0 // counters
	pAlert    = index.StageAlert + 1 // <id BE64> → alert
	pEndpoint = index.StageAlert + 2 // <id BE32> → endpoint
	pEvent    = index.StageAlert + 3 // <seq BE64> → event
	pDelivery = index.StageAlert + 4 // <seq BE64><endpoint BE32> → delivery (the outbox)
	pByBlock  = index.StageAlert + 5 // <block hash 32B><id BE64> → empty
)

// Event types.
const (
	EventCreated     = "alert.created"
	EventUpdated     = "alert.updated"
	EventInvalidated = "alert.invalidated"
	EventRevalidated = "alert.revalidated"
)

// ErrNotFound is returned for an unknown alert or endpoint.
var ErrNotFound = errors.New("not found")

// ErrUnavailable marks a failure to reach a shared alert store
// (PostgreSQL down or restarting): the server answers 503 with
// Retry-After, and the alert stage and the worker retry.
var ErrUnavailable = errors.New("alert store unavailable")

// ErrNotesFull is Review's refusal of a note past the most an alert keeps.
var ErrNotesFull = errors.New("no room for more notes")

// Event is one change to an alert, as delivered to webhooks and the SSE
// stream. Body is the exact JSON that is signed and sent.
type Event struct {
	Seq   uint64
	Type  string
	Alert uint64
	Time  time.Time
	Body  []byte
}

// WebhookID is the event's stable webhook-id: the same on every attempt
// and every endpoint, so receivers can dedupe.
func (e *Event) WebhookID() string { return "evt_" + strconv.FormatUint(e.Seq, 10) }

// Endpoint is a webhook destination.
type Endpoint struct {
	ID       uint32    `json:"id"`
	URL      string    `json:"url"`
	Secret   string    `json:"-"`                  // "whsec_…"
	Disabled string    `json:"disabled,omitempty"` // why it was disabled ("" when enabled)
	Created  time.Time `json:"created"`
}

// DeliveryState is where one event stands for one endpoint.
type DeliveryState uint8

const (
	Pending DeliveryState = iota + 1
	Delivered
	Failed   // retries exhausted
	Disabled // the endpoint was disabled or removed
)

var deliveryNames = [...]string{"", "pending", "delivered", "failed", "disabled"}

func (s DeliveryState) String() string {
	if int(s) < len(deliveryNames) && s > 0 {
		return deliveryNames[s]
	}
	return fmt.Sprintf("delivery(%d)", s)
}

// Attempt is one POST of an event to an endpoint.
type Attempt struct {
	Time   time.Time // also the attempt's webhook-timestamp
	Status int       // HTTP status, 0 when no response
	Error  string
}

const maxLog = 32 // attempts kept per delivery (the newest)

// Delivery is an outbox entry: one event for one endpoint.
type Delivery struct {
	Event    uint64
	Endpoint uint32
	State    DeliveryState
	NextAt   time.Time // when the next attempt is due (Pending)
	Attempts uint32
	Log      []Attempt
}

// Filter selects alerts for List. Zero fields match everything.
type Filter struct {
	Status   Status
	MinLevel Level
	Since    time.Time // created at or after
	// RulePrefix keeps alerts whose Rule starts with it (a watchlist's
	// alerts: "watch:NAME/").
	RulePrefix string
	// MinHeight and MaxHeight bound the block height (MaxHeight 0: no
	// upper bound).
	MinHeight, MaxHeight int64
}

// Match reports whether a passes f.
func (f *Filter) Match(a *Alert) bool {
	return (f.Status == 0 || a.Status == f.Status) && a.Level >= f.MinLevel && !a.Created.Before(f.Since) &&
		strings.HasPrefix(a.Rule, f.RulePrefix) && a.Height >= f.MinHeight && (f.MaxHeight == 0 || a.Height <= f.MaxHeight)
}

// Page is one page of List: Next is "" on the last page.
type Page struct {
	Alerts []Alert
	Next   string
}

// Store keeps alerts, webhook endpoints, events and the outbox. DB is the
// Pebble implementation (in the index's store); pgstore.Alerts is the
// PostgreSQL one that several servers share (issue 16). Both pass
// alerttest.RunStore.
//
// Due is the worker's claim: a shared store leases what it returns to
// the caller (other workers skip it until Record or the lease's end), so
// each delivery is attempted by one server at a time.
type Store interface {
	Create(ctx context.Context, alerts []Alert) ([]Alert, error)
	Get(ctx context.Context, id uint64) (Alert, error)
	List(ctx context.Context, f Filter, cursor string, limit int) (Page, error)
	Review(ctx context.Context, id uint64, to Status, note string) (Alert, error)
	ReviewBy(ctx context.Context, id uint64, to Status, note, by string) (Alert, error)
	Invalidate(ctx context.Context, block btc.Hash) (int, error)
	Revalidate(ctx context.Context, block btc.Hash) (int, error)

	AddEndpoint(ctx context.Context, rawURL, secret string) (Endpoint, error)
	Endpoints(ctx context.Context) ([]Endpoint, error)
	RemoveEndpoint(ctx context.Context, id uint32) error
	DisableEndpoint(ctx context.Context, id uint32, reason string) error

	Events(ctx context.Context, after uint64, fn func(*Event) (bool, error)) error
	Event(ctx context.Context, seq uint64) (Event, error)
	Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	Deliveries(ctx context.Context, fn func(*Delivery) (bool, error)) error
	Record(ctx context.Context, d *Delivery) error
}

// DB is the Store in the index's Pebble store. Its methods are safe for
// concurrent use; writes are serialized by one mutex.
type DB struct {
	db  *index.DB
	mu  sync.Mutex
	Now func() time.Time // the clock (time.Now when nil)
}

var _ Store = (*DB)(nil)

// NewDB returns the alert store kept in db.
func NewDB(db *index.DB) *DB { return &DB{db: db} }

func (s *DB) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

type counters struct{ alert, event, endpoint uint64 }

func (s *DB) counters() (counters, error) {
	v, err := s.db.StageGet([]byte{pState})
	if err != nil || v == nil {
		return counters{1, 1, 1}, err
	}
	d := encoding.Decbuf{B: v}
	c := counters{d.Uvarint(), d.Uvarint(), d.Uvarint()}
	if d.E != nil || d.Len() != 0 {
		return c, fmt.Errorf("%w: alert counters %x", ErrCorrupt, v)
	}
	return c, nil
}

func putCounters(b *index.StageBatch, c counters) {
	var e encoding.Encbuf
	e.PutUvarint(c.alert)
	e.PutUvarint(c.event)
	e.PutUvarint(c.endpoint)
	b.Set([]byte{pState}, e.B)
}

func key64(p byte, x uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, x) }

// writer is one atomic change: a batch, the counters, and the enabled
// endpoints that new events fan out to.
type writer struct {
	s   *DB
	b   *index.StageBatch
	c   counters
	eps []Endpoint
	now time.Time
}

func (s *DB) begin(ctx context.Context) (*writer, error) {
	c, err := s.counters()
	if err != nil {
		return nil, err
	}
	eps, err := s.Endpoints(ctx)
	if err != nil {
		return nil, err
	}
	w := &writer{s: s, b: s.db.NewStageBatch(), c: c, now: s.now()}
	for _, ep := range eps {
		if ep.Disabled == "" {
			w.eps = append(w.eps, ep)
		}
	}
	return w, nil
}

func (w *writer) commit() error {
	putCounters(w.b, w.c)
	return w.b.Commit()
}

func (w *writer) putAlert(a *Alert) {
	var e encoding.Encbuf
	a.encode(&e)
	w.b.Set(key64(pAlert, a.ID), e.B)
}

// emit stores an event for a and queues it for every enabled endpoint, in
// the writer's batch: the outbox commits with the change or not at all.
func (w *writer) emit(typ string, a *Alert) error {
	ev := Event{Seq: w.c.event, Type: typ, Alert: a.ID, Time: w.now}
	w.c.event++
	body, err := EventBody(typ, w.now, a)
	if err != nil {
		return err
	}
	ev.Body = body
	var e encoding.Encbuf
	ev.encode(&e)
	w.b.Set(key64(pEvent, ev.Seq), e.B)
	for _, ep := range w.eps {
		d := Delivery{Event: ev.Seq, Endpoint: ep.ID, State: Pending, NextAt: w.now}
		e.Reset()
		d.encode(&e)
		w.b.Set(deliveryKey(d.Event, d.Endpoint), e.B)
	}
	return nil
}

type payload struct {
	Type      string `json:"type"`
	Timestamp string `json:"timestamp"`
	Data      *Alert `json:"data"`
}

// EventBody is the JSON of an event of type typ about a at time at: what
// webhooks sign and send and the SSE stream's data (every store writes
// the same).
func EventBody(typ string, at time.Time, a *Alert) ([]byte, error) {
	return json.Marshal(payload{Type: typ, Timestamp: at.Format(time.RFC3339Nano), Data: a})
}

// CheckNew refuses a batch of new alerts with a level outside
// low..critical or an exposure share above 100%, naming the alert.
func CheckNew(alerts []Alert) error {
	for i := range alerts {
		a := &alerts[i]
		if a.Level < Low || a.Level > Critical {
			return fmt.Errorf("alert %d of %d (tx %s): level %d is not low..critical", i+1, len(alerts), a.TxID, a.Level)
		}
		if a.Exposure.SharePPM > 1_000_000 {
			return fmt.Errorf("alert %d of %d (tx %s): exposure share %d ppm is above 100%%", i+1, len(alerts), a.TxID, a.Exposure.SharePPM)
		}
	}
	return nil
}

// CheckReview refuses a review of alert id that changes nothing, sets a
// status that is not one, or whose note or reviewer is too long.
func CheckReview(id uint64, to Status, note, by string) error {
	switch {
	case len(by) > maxText:
		return fmt.Errorf("alert %d: reviewer name of %d bytes is longer than %d", id, len(by), maxText)
	case to > Escalated:
		return fmt.Errorf("alert %d: status %d is not a review status", id, to)
	case to == 0 && note == "":
		return fmt.Errorf("alert %d: nothing to change: give a status or a note", id)
	case len(note) > maxText:
		return fmt.Errorf("alert %d: note of %d bytes is longer than %d", id, len(note), maxText)
	}
	return nil
}

// AddNote applies a review to a at time now: the status (unless 0) and
// the note, or ErrNotesFull when a keeps as many notes as it may.
func (a *Alert) AddNote(now time.Time, to Status, note, by string) error {
	if len(a.Notes) >= maxNotes {
		return fmt.Errorf("alert %d: already has %d notes: %w", a.ID, len(a.Notes), ErrNotesFull)
	}
	if to != 0 {
		a.Status = to
	}
	a.Notes = append(a.Notes, Note{Time: now, Status: to, Text: note, By: by})
	a.Updated = now
	return nil
}

// CheckEndpoint checks a new endpoint's URL (http or https, with a host)
// and secret ("" makes a new one), and returns them as stored.
func CheckEndpoint(rawURL, secret string) (string, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "", "", fmt.Errorf("webhook URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", "", fmt.Errorf("webhook URL %q: want http:// or https:// and a host", rawURL)
	}
	if secret == "" {
		secret = NewSecret()
	}
	if _, err := ParseSecret(secret); err != nil {
		return "", "", fmt.Errorf("webhook %s: %w", rawURL, err)
	}
	return u.String(), secret, nil
}

// ParseCursor parses a List cursor ("" is the first page).
func ParseCursor(cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	after, err := strconv.ParseUint(cursor, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("cursor %q: not a cursor this server gave out", cursor)
	}
	return after, nil
}

// TrimLog keeps the newest attempts a delivery's log holds.
func (d *Delivery) TrimLog() {
	if len(d.Log) > maxLog {
		d.Log = d.Log[len(d.Log)-maxLog:]
	}
}

func deliveryKey(seq uint64, ep uint32) []byte {
	return binary.BigEndian.AppendUint32(key64(pDelivery, seq), ep)
}

// Create stores new alerts (their ID, Status, Created and Updated are set
// here) with an alert.created event each and its outbox entries, in one
// atomic batch.
func (s *DB) Create(ctx context.Context, alerts []Alert) ([]Alert, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.begin(ctx)
	if err != nil {
		return nil, err
	}
	defer w.b.Close()
	out, err := w.create(alerts)
	if err != nil {
		return nil, err
	}
	if err := w.commit(); err != nil {
		return nil, fmt.Errorf("store %d alerts: %w", len(alerts), err)
	}
	return out, nil
}

// create adds alerts, their alert.created events and outbox entries to
// the writer's batch.
func (w *writer) create(alerts []Alert) ([]Alert, error) {
	if err := CheckNew(alerts); err != nil {
		return nil, err
	}
	out := make([]Alert, len(alerts))
	for i := range alerts {
		a := alerts[i]
		a.ID, a.Status, a.Created, a.Updated, a.Invalidated = w.c.alert, Open, w.now, w.now, false
		w.c.alert++
		w.putAlert(&a)
		w.b.Set(binary.BigEndian.AppendUint64(append([]byte{pByBlock}, a.BlockHash[:]...), a.ID), nil)
		if err := w.emit(EventCreated, &a); err != nil {
			return nil, err
		}
		out[i] = a
	}
	return out, nil
}

// Get returns alert id.
func (s *DB) Get(ctx context.Context, id uint64) (Alert, error) {
	v, err := s.db.StageGet(key64(pAlert, id))
	if err != nil {
		return Alert{}, fmt.Errorf("alert %d: %w", id, err)
	}
	if v == nil {
		return Alert{}, fmt.Errorf("alert %d: %w", id, ErrNotFound)
	}
	var a Alert
	if err := a.decode(v); err != nil {
		return Alert{}, fmt.Errorf("alert %d: %w", id, err)
	}
	return a, nil
}

// MaxPage is the largest page List returns.
const MaxPage = 1000

// List returns up to limit alerts matching f in id order, after cursor (""
// for the first page; Page.Next for the following ones).
func (s *DB) List(ctx context.Context, f Filter, cursor string, limit int) (Page, error) {
	if limit <= 0 || limit > MaxPage {
		return Page{}, fmt.Errorf("page size %d: want 1 to %d", limit, MaxPage)
	}
	after, err := ParseCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	var p Page
	err = s.db.StageScan(ctx, key64(pAlert, after+1), []byte{pAlert + 1}, func(k, v []byte) (bool, error) {
		var a Alert
		if err := a.decode(v); err != nil {
			return false, fmt.Errorf("alert key %x: %w", k, err)
		}
		if !f.Match(&a) {
			return true, nil
		}
		if len(p.Alerts) == limit {
			p.Next = strconv.FormatUint(p.Alerts[limit-1].ID, 10)
			return false, nil
		}
		p.Alerts = append(p.Alerts, a)
		return true, nil
	})
	return p, err
}

// Review moves alert id to status to (Open, Acknowledged, Dismissed,
// Escalated), or only adds a note when to is 0, and emits alert.updated.
func (s *DB) Review(ctx context.Context, id uint64, to Status, note string) (Alert, error) {
	return s.ReviewBy(ctx, id, to, note, "")
}

// ReviewBy is Review with the reviewer's name kept in the note (the API
// passes its key's name).
func (s *DB) ReviewBy(ctx context.Context, id uint64, to Status, note, by string) (Alert, error) {
	if err := CheckReview(id, to, note, by); err != nil {
		return Alert{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, err := s.Get(ctx, id)
	if err != nil {
		return Alert{}, err
	}
	w, err := s.begin(ctx)
	if err != nil {
		return Alert{}, err
	}
	defer w.b.Close()
	if err := a.AddNote(w.now, to, note, by); err != nil {
		return Alert{}, err
	}
	w.putAlert(&a)
	if err := w.emit(EventUpdated, &a); err != nil {
		return Alert{}, err
	}
	return a, w.commit()
}

// Invalidate marks every alert raised in block as invalidated (the
// follower calls it when the block is disconnected) and emits
// alert.invalidated for each; it returns how many changed.
func (s *DB) Invalidate(ctx context.Context, block btc.Hash) (int, error) {
	return s.setInvalidated(ctx, block, true, EventInvalidated)
}

// Revalidate undoes Invalidate when block is connected again, emitting
// alert.revalidated.
func (s *DB) Revalidate(ctx context.Context, block btc.Hash) (int, error) {
	return s.setInvalidated(ctx, block, false, EventRevalidated)
}

func (s *DB) setInvalidated(ctx context.Context, block btc.Hash, inv bool, typ string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w, err := s.begin(ctx)
	if err != nil {
		return 0, err
	}
	defer w.b.Close()
	n, err := w.setInvalidated(ctx, block, inv, typ)
	if err != nil || n == 0 {
		return 0, err
	}
	return n, w.commit()
}

// blockAlerts returns the ids of the alerts raised in block.
func (s *DB) blockAlerts(ctx context.Context, block btc.Hash) ([]uint64, error) {
	var ids []uint64
	lo := append([]byte{pByBlock}, block[:]...)
	hi := append([]byte{pByBlock}, block[:]...)
	hi = append(hi, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)
	if err := s.db.StageScan(ctx, lo, hi, func(k, _ []byte) (bool, error) {
		ids = append(ids, binary.BigEndian.Uint64(k[33:]))
		return true, nil
	}); err != nil {
		return nil, fmt.Errorf("alerts of block %s: %w", block, err)
	}
	return ids, nil
}

// setInvalidated sets the Invalidated flag of block's alerts to inv in the
// writer's batch, with a typ event for each alert whose flag changes (A4),
// and returns how many changed.
func (w *writer) setInvalidated(ctx context.Context, block btc.Hash, inv bool, typ string) (int, error) {
	ids, err := w.s.blockAlerts(ctx, block)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		a, err := w.s.Get(ctx, id)
		if err != nil {
			return 0, err
		}
		if a.Invalidated == inv {
			continue
		}
		a.Invalidated, a.Updated = inv, w.now
		w.putAlert(&a)
		if err := w.emit(typ, &a); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}

// AddEndpoint adds a webhook endpoint; secret "" makes a new one. The URL
// must be http or https; where it may point is the worker's decision
// (Worker.AllowLoopback).
func (s *DB) AddEndpoint(ctx context.Context, rawURL, secret string) (Endpoint, error) {
	u, secret, err := CheckEndpoint(rawURL, secret)
	if err != nil {
		return Endpoint{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, err := s.counters()
	if err != nil {
		return Endpoint{}, err
	}
	if c.endpoint > 1<<32-1 {
		return Endpoint{}, fmt.Errorf("webhook %s: no endpoint ids left", rawURL)
	}
	ep := Endpoint{ID: uint32(c.endpoint), URL: u, Secret: secret, Created: s.now()}
	c.endpoint++
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(binary.BigEndian.AppendUint32([]byte{pEndpoint}, ep.ID), ep.encode(nil))
	putCounters(b, c)
	return ep, b.Commit()
}

// Endpoints returns every endpoint, by id.
func (s *DB) Endpoints(ctx context.Context) ([]Endpoint, error) {
	var out []Endpoint
	err := s.db.StageScan(ctx, []byte{pEndpoint}, []byte{pEndpoint + 1}, func(k, v []byte) (bool, error) {
		var ep Endpoint
		if len(k) != 5 {
			return false, fmt.Errorf("%w: endpoint key %x", ErrCorrupt, k)
		}
		if err := ep.decode(v); err != nil {
			return false, fmt.Errorf("endpoint key %x: %w", k, err)
		}
		ep.ID = binary.BigEndian.Uint32(k[1:])
		out = append(out, ep)
		return true, nil
	})
	return out, err
}

func (s *DB) endpoint(id uint32) (Endpoint, error) {
	v, err := s.db.StageGet(binary.BigEndian.AppendUint32([]byte{pEndpoint}, id))
	if err != nil {
		return Endpoint{}, err
	}
	if v == nil {
		return Endpoint{}, fmt.Errorf("webhook endpoint %d: %w", id, ErrNotFound)
	}
	ep := Endpoint{ID: id}
	return ep, ep.decode(v)
}

// RemoveEndpoint deletes an endpoint; its pending deliveries end as
// Disabled when the worker meets them.
func (s *DB) RemoveEndpoint(ctx context.Context, id uint32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.endpoint(id); err != nil {
		return err
	}
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Delete(binary.BigEndian.AppendUint32([]byte{pEndpoint}, id))
	return b.Commit()
}

// DisableEndpoint stops deliveries to an endpoint (a 410 Gone does this).
func (s *DB) DisableEndpoint(ctx context.Context, id uint32, reason string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	ep, err := s.endpoint(id)
	if err != nil {
		return err
	}
	if reason == "" {
		reason = "disabled"
	}
	ep.Disabled = reason
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(binary.BigEndian.AppendUint32([]byte{pEndpoint}, id), ep.encode(nil))
	return b.Commit()
}

// Events calls fn for every event with a sequence number above after, in
// order, until fn returns false (the SSE stream resumes with it).
func (s *DB) Events(ctx context.Context, after uint64, fn func(*Event) (bool, error)) error {
	return s.db.StageScan(ctx, key64(pEvent, after+1), []byte{pEvent + 1}, func(k, v []byte) (bool, error) {
		var ev Event
		if err := ev.decode(v); err != nil {
			return false, fmt.Errorf("event key %x: %w", k, err)
		}
		ev.Seq = binary.BigEndian.Uint64(k[1:])
		return fn(&ev)
	})
}

// Event returns event seq.
func (s *DB) Event(ctx context.Context, seq uint64) (Event, error) {
	v, err := s.db.StageGet(key64(pEvent, seq))
	if err != nil {
		return Event{}, err
	}
	if v == nil {
		return Event{}, fmt.Errorf("event %d: %w", seq, ErrNotFound)
	}
	ev := Event{Seq: seq}
	return ev, ev.decode(v)
}

// Deliveries calls fn for every outbox entry in (event, endpoint) order.
func (s *DB) Deliveries(ctx context.Context, fn func(*Delivery) (bool, error)) error {
	return s.db.StageScan(ctx, []byte{pDelivery}, []byte{pDelivery + 1}, func(k, v []byte) (bool, error) {
		if len(k) != 13 {
			return false, fmt.Errorf("%w: delivery key %x", ErrCorrupt, k)
		}
		var d Delivery
		if err := d.decode(v); err != nil {
			return false, fmt.Errorf("delivery key %x: %w", k, err)
		}
		d.Event, d.Endpoint = binary.BigEndian.Uint64(k[1:]), binary.BigEndian.Uint32(k[9:])
		return fn(&d)
	})
}

// Due returns up to limit pending deliveries whose NextAt is not after now.
// It scans the whole outbox; delivered entries could move to a log
// keyspace when that becomes the cost.
func (s *DB) Due(ctx context.Context, now time.Time, limit int) ([]Delivery, error) {
	var out []Delivery
	err := s.Deliveries(ctx, func(d *Delivery) (bool, error) {
		if d.State == Pending && !d.NextAt.After(now) {
			out = append(out, *d)
		}
		return len(out) < limit, nil
	})
	return out, err
}

// Record stores a delivery's new state.
func (s *DB) Record(ctx context.Context, d *Delivery) error {
	d.TrimLog()
	var e encoding.Encbuf
	d.encode(&e)
	b := s.db.NewStageBatch()
	defer b.Close()
	b.Set(deliveryKey(d.Event, d.Endpoint), e.B)
	if err := b.Commit(); err != nil {
		return fmt.Errorf("record delivery of event %d to endpoint %d: %w", d.Event, d.Endpoint, err)
	}
	return nil
}
