package pgstore

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Alerts is alert.Store in PostgreSQL, shared by every server on the
// database, and the alert stage's shared side (alert.SharedBlocks): the
// alerts with their review status and notes, the webhook endpoints, the
// event log and the outbox (G6–G9 in doc.go).
type Alerts struct {
	db *DB
	// Owner names this server in the outbox's claims (claimed_by).
	// Default: host name, process id and a random suffix.
	Owner string
	// Lease is how long a claim from Due lasts: a server that dies
	// mid-delivery leaves its claims to another server after it. It must
	// exceed the worker's request timeout (alert.Worker.Timeout, 20 s by
	// default). Default 1 minute.
	Lease time.Duration
	// Now is the clock of the rows' times (time.Now when nil); times are
	// kept to the microsecond, as PostgreSQL does.
	Now func() time.Time
}

// Alerts returns the alert store, with a new Owner and the default Lease.
func (db *DB) Alerts() *Alerts {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &Alerts{db: db, Owner: fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(r[:])), Lease: time.Minute}
}

var _ alert.SharedStore = (*Alerts)(nil)

func (s *Alerts) now() time.Time {
	t := time.Now()
	if s.Now != nil {
		t = s.Now()
	}
	return t.UTC().Truncate(time.Microsecond)
}

// eventLock is the advisory lock (transaction scoped) every transaction
// that writes alert events holds from before its first write until it
// commits ("alert" in ASCII), so event sequence numbers commit in order
// (G7).
const eventLock = 0x616c657274

// unavailable reports whether err means PostgreSQL could not be reached
// or stopped answering (down, restarting, out of connections), as
// opposed to a refused statement.
func unavailable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "53300"
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		pgconn.SafeToRetry(err) || pgconn.Timeout(err) || strings.Contains(err.Error(), "conn closed")
}

// fail wraps err with what was being done, and with alert.ErrUnavailable
// when PostgreSQL could not be reached (the API answers 503 and the
// stage and worker retry).
func fail(what string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, alert.ErrNotFound), errors.Is(err, alert.ErrNotesFull):
		return err
	case unavailable(err):
		return fmt.Errorf("pgstore: %s: %w: %w", what, alert.ErrUnavailable, err)
	}
	return fmt.Errorf("pgstore: %s: %w", what, err)
}

// write runs fn in a transaction holding eventLock.
func (s *Alerts) write(ctx context.Context, what string, fn func(tx pgx.Tx) error) error {
	return fail(what, s.db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventLock)); err != nil {
			return err
		}
		return fn(tx)
	}))
}

const alertCols = `id, block_hash, rule, txid, address, level, value, height, exposure, status, invalidated, notes, created, updated`

// noteRow is a note as the notes column holds it (alert.Note's JSON
// leaves the status out).
type noteRow struct {
	Time   time.Time    `json:"time"`
	Status alert.Status `json:"status,omitempty"`
	Text   string       `json:"text"`
	By     string       `json:"by,omitempty"`
}

func notesJSON(ns []alert.Note) ([]byte, error) {
	rows := make([]noteRow, len(ns))
	for i, n := range ns {
		rows[i] = noteRow{n.Time, n.Status, n.Text, n.By}
	}
	return json.Marshal(rows)
}

func scanAlert(row pgx.Row) (alert.Alert, error) {
	var a alert.Alert
	var id, value int64
	var block, txid, exp, notes []byte
	var level, status int16
	if err := row.Scan(&id, &block, &a.Rule, &txid, &a.Address, &level, &value, &a.Height, &exp, &status, &a.Invalidated,
		&notes, &a.Created, &a.Updated); err != nil {
		return a, err
	}
	a.ID, a.Value, a.Level, a.Status = uint64(id), uint64(value), alert.Level(level), alert.Status(status)
	if len(block) != len(a.BlockHash) || len(txid) != len(a.TxID) {
		return a, fmt.Errorf("%w: alert %d: block hash of %d bytes, txid of %d", alert.ErrCorrupt, id, len(block), len(txid))
	}
	copy(a.BlockHash[:], block)
	copy(a.TxID[:], txid)
	if err := json.Unmarshal(exp, &a.Exposure); err != nil {
		return a, fmt.Errorf("%w: alert %d exposure: %w", alert.ErrCorrupt, id, err)
	}
	var rows []noteRow
	if err := json.Unmarshal(notes, &rows); err != nil {
		return a, fmt.Errorf("%w: alert %d notes: %w", alert.ErrCorrupt, id, err)
	}
	for _, n := range rows {
		a.Notes = append(a.Notes, alert.Note{Time: n.Time.UTC(), Status: n.Status, Text: n.Text, By: n.By})
	}
	a.Created, a.Updated = a.Created.UTC(), a.Updated.UTC()
	return a, nil
}

// emit writes an event of type typ about a, and its outbox entries for
// every enabled endpoint, in tx (A1).
func (s *Alerts) emit(ctx context.Context, tx pgx.Tx, typ string, a *alert.Alert, now time.Time) error {
	body, err := alert.EventBody(typ, now, a)
	if err != nil {
		return err
	}
	var seq int64
	if err := tx.QueryRow(ctx, `INSERT INTO alert_events (type, alert_id, at, body) VALUES ($1, $2, $3, $4) RETURNING seq`,
		typ, int64(a.ID), now, body).Scan(&seq); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, `INSERT INTO alert_deliveries (event_seq, endpoint_id, state, next_at)
		SELECT $1, id, $2, $3 FROM alert_endpoints WHERE disabled = ''`, seq, int16(alert.Pending), now)
	return err
}

// insert stores the alerts not stored yet under their natural key, each
// with its alert.created event, in tx, and returns every alert as stored
// and which of them are new.
func (s *Alerts) insert(ctx context.Context, tx pgx.Tx, alerts []alert.Alert) ([]alert.Alert, []bool, error) {
	if err := alert.CheckNew(alerts); err != nil {
		return nil, nil, err
	}
	now := s.now()
	out := make([]alert.Alert, len(alerts))
	fresh := make([]bool, len(alerts))
	for i := range alerts {
		a := alerts[i]
		a.Status, a.Created, a.Updated, a.Invalidated, a.Notes = alert.Open, now, now, false, nil
		exp, err := json.Marshal(a.Exposure)
		if err != nil {
			return nil, nil, err
		}
		var id int64
		err = tx.QueryRow(ctx, `INSERT INTO alerts (block_hash, rule, txid, address, level, value, height, exposure, status, created, updated)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
			ON CONFLICT (block_hash, rule, txid, address) DO NOTHING RETURNING id`,
			a.BlockHash[:], a.Rule, a.TxID[:], a.Address, int16(a.Level), int64(a.Value), a.Height, exp, int16(a.Status), now).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			// Stored before (by this server's earlier run or another server).
			if out[i], err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts
				WHERE block_hash = $1 AND rule = $2 AND txid = $3 AND address = $4`, a.BlockHash[:], a.Rule, a.TxID[:], a.Address)); err != nil {
				return nil, nil, err
			}
			continue
		}
		if err != nil {
			return nil, nil, fmt.Errorf("alert %d of %d (tx %s): %w", i+1, len(alerts), a.TxID, err)
		}
		a.ID = uint64(id)
		if err := s.emit(ctx, tx, alert.EventCreated, &a, now); err != nil {
			return nil, nil, err
		}
		out[i], fresh[i] = a, true
	}
	return out, fresh, nil
}

// Create stores new alerts, each with an alert.created event and its
// outbox entries, in one transaction. An alert whose natural key (block
// hash, rule, txid, address) is stored already is answered as stored,
// without a new event.
func (s *Alerts) Create(ctx context.Context, alerts []alert.Alert) ([]alert.Alert, error) {
	if err := alert.CheckNew(alerts); err != nil {
		return nil, err
	}
	var out []alert.Alert
	err := s.write(ctx, fmt.Sprintf("store %d alerts", len(alerts)), func(tx pgx.Tx) (err error) {
		out, _, err = s.insert(ctx, tx, alerts)
		return err
	})
	return out, err
}

// Get returns alert id.
func (s *Alerts) Get(ctx context.Context, id uint64) (alert.Alert, error) {
	var a alert.Alert
	err := s.db.retry(ctx, func() (err error) {
		a, err = scanAlert(s.db.pool.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1`, int64(id)))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("alert %d: %w", id, alert.ErrNotFound)
	}
	return a, fail(fmt.Sprintf("alert %d", id), err)
}

// List returns up to limit alerts matching f in id order, after cursor.
func (s *Alerts) List(ctx context.Context, f alert.Filter, cursor string, limit int) (alert.Page, error) {
	if limit <= 0 || limit > alert.MaxPage {
		return alert.Page{}, fmt.Errorf("page size %d: want 1 to %d", limit, alert.MaxPage)
	}
	after, err := alert.ParseCursor(cursor)
	if err != nil {
		return alert.Page{}, err
	}
	as, err := collect(ctx, s.db, func(r pgx.CollectableRow) (alert.Alert, error) { return scanAlert(r) },
		`SELECT `+alertCols+` FROM alerts
		WHERE id > $1 AND ($2 = 0 OR status = $2) AND level >= $3 AND created >= $4 AND starts_with(rule, $5)
		AND height >= $6 AND ($7 = 0 OR height <= $7)
		ORDER BY id LIMIT $8`,
		int64(after), int16(f.Status), int16(f.MinLevel), f.Since, f.RulePrefix, f.MinHeight, f.MaxHeight, limit+1)
	if err != nil {
		return alert.Page{}, fail("list alerts", err)
	}
	var p alert.Page
	if len(as) > limit {
		as = as[:limit]
		p.Next = strconv.FormatUint(as[limit-1].ID, 10)
	}
	if len(as) > 0 {
		p.Alerts = as
	}
	return p, nil
}

// Review moves alert id to status to, or only adds a note when to is 0.
func (s *Alerts) Review(ctx context.Context, id uint64, to alert.Status, note string) (alert.Alert, error) {
	return s.ReviewBy(ctx, id, to, note, "")
}

// ReviewBy is Review with the reviewer's name kept in the note. The row
// is locked (FOR UPDATE), so reviews from two servers both land.
func (s *Alerts) ReviewBy(ctx context.Context, id uint64, to alert.Status, note, by string) (alert.Alert, error) {
	if err := alert.CheckReview(id, to, note, by); err != nil {
		return alert.Alert{}, err
	}
	var a alert.Alert
	err := s.write(ctx, fmt.Sprintf("review alert %d", id), func(tx pgx.Tx) error {
		var err error
		a, err = scanAlert(tx.QueryRow(ctx, `SELECT `+alertCols+` FROM alerts WHERE id = $1 FOR UPDATE`, int64(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("alert %d: %w", id, alert.ErrNotFound)
		}
		if err != nil {
			return err
		}
		now := s.now()
		if err := a.AddNote(now, to, note, by); err != nil {
			return err
		}
		notes, err := notesJSON(a.Notes)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE alerts SET status = $2, notes = $3, updated = $4 WHERE id = $1`,
			int64(id), int16(a.Status), notes, now); err != nil {
			return err
		}
		return s.emit(ctx, tx, alert.EventUpdated, &a, now)
	})
	return a, err
}

// Invalidate marks every alert raised in block as invalidated, with an
// alert.invalidated event for each that changes (A4).
func (s *Alerts) Invalidate(ctx context.Context, block btc.Hash) (int, error) {
	return s.setInvalidated(ctx, block, true)
}

// Revalidate undoes Invalidate.
func (s *Alerts) Revalidate(ctx context.Context, block btc.Hash) (int, error) {
	return s.setInvalidated(ctx, block, false)
}

func (s *Alerts) setInvalidated(ctx context.Context, block btc.Hash, inv bool) (n int, err error) {
	err = s.write(ctx, fmt.Sprintf("alerts of block %s", block), func(tx pgx.Tx) (err error) {
		n, err = s.flag(ctx, tx, block, inv)
		return err
	})
	return n, err
}

// flag sets the Invalidated flag of block's alerts in tx, which holds
// eventLock: the UPDATE locks each row it changes and changes only rows
// whose flag differs, so two servers flagging one block emit one event
// per alert (A4).
func (s *Alerts) flag(ctx context.Context, tx pgx.Tx, block btc.Hash, inv bool) (int, error) {
	now := s.now()
	rows, err := tx.Query(ctx, `UPDATE alerts SET invalidated = $2, updated = $3 WHERE block_hash = $1 AND invalidated <> $2
		RETURNING `+alertCols, block[:], inv, now)
	if err != nil {
		return 0, err
	}
	changed, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (alert.Alert, error) { return scanAlert(r) })
	if err != nil {
		return 0, err
	}
	slices.SortFunc(changed, func(a, b alert.Alert) int { return cmp.Compare(a.ID, b.ID) })
	typ := alert.EventRevalidated
	if inv {
		typ = alert.EventInvalidated
	}
	for i := range changed {
		if err := s.emit(ctx, tx, typ, &changed[i], now); err != nil {
			return 0, err
		}
	}
	return len(changed), nil
}

// AddEndpoint adds a webhook endpoint; secret "" makes a new one.
func (s *Alerts) AddEndpoint(ctx context.Context, rawURL, secret string) (alert.Endpoint, error) {
	u, secret, err := alert.CheckEndpoint(rawURL, secret)
	if err != nil {
		return alert.Endpoint{}, err
	}
	ep := alert.Endpoint{URL: u, Secret: secret, Created: s.now()}
	var id int32
	err = s.db.tx(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, `INSERT INTO alert_endpoints (url, secret, created) VALUES ($1, $2, $3) RETURNING id`,
			ep.URL, ep.Secret, ep.Created).Scan(&id)
	})
	ep.ID = uint32(id)
	return ep, fail("add webhook endpoint", err)
}

// Endpoints returns every endpoint, by id.
func (s *Alerts) Endpoints(ctx context.Context) ([]alert.Endpoint, error) {
	eps, err := collect(ctx, s.db, func(r pgx.CollectableRow) (alert.Endpoint, error) {
		var ep alert.Endpoint
		var id int32
		err := r.Scan(&id, &ep.URL, &ep.Secret, &ep.Disabled, &ep.Created)
		ep.ID, ep.Created = uint32(id), ep.Created.UTC()
		return ep, err
	}, `SELECT id, url, secret, disabled, created FROM alert_endpoints ORDER BY id`)
	return eps, fail("webhook endpoints", err)
}

// endpointChanged turns a statement that matched no endpoint into
// ErrNotFound.
func endpointChanged(id uint32, tag pgconn.CommandTag, err error) error {
	if err == nil && tag.RowsAffected() == 0 {
		return fmt.Errorf("webhook endpoint %d: %w", id, alert.ErrNotFound)
	}
	return fail(fmt.Sprintf("webhook endpoint %d", id), err)
}

// RemoveEndpoint deletes an endpoint; its pending deliveries end as
// Disabled when a worker meets them.
func (s *Alerts) RemoveEndpoint(ctx context.Context, id uint32) error {
	tag, err := s.db.exec(ctx, `DELETE FROM alert_endpoints WHERE id = $1`, int32(id))
	return endpointChanged(id, tag, err)
}

// DisableEndpoint stops deliveries to an endpoint (a 410 Gone does this).
func (s *Alerts) DisableEndpoint(ctx context.Context, id uint32, reason string) error {
	if reason == "" {
		reason = "disabled"
	}
	tag, err := s.db.exec(ctx, `UPDATE alert_endpoints SET disabled = $2 WHERE id = $1`, int32(id), reason)
	return endpointChanged(id, tag, err)
}

// page is how many rows Events and Deliveries read at a time: fn runs
// between pages, never while a query holds a connection.
const page = 256

// Events calls fn for every event with a sequence number above after, in
// order, until fn returns false.
func (s *Alerts) Events(ctx context.Context, after uint64, fn func(*alert.Event) (bool, error)) error {
	for {
		evs, err := collect(ctx, s.db, scanEvent, `SELECT seq, type, alert_id, at, body FROM alert_events WHERE seq > $1 ORDER BY seq LIMIT $2`,
			int64(after), page)
		if err != nil {
			return fail("alert events", err)
		}
		for i := range evs {
			if ok, err := fn(&evs[i]); err != nil || !ok {
				return err
			}
			after = evs[i].Seq
		}
		if len(evs) < page {
			return nil
		}
	}
}

func scanEvent(r pgx.CollectableRow) (alert.Event, error) {
	var ev alert.Event
	var seq, id int64
	err := r.Scan(&seq, &ev.Type, &id, &ev.Time, &ev.Body)
	ev.Seq, ev.Alert, ev.Time = uint64(seq), uint64(id), ev.Time.UTC()
	return ev, err
}

// Event returns event seq.
func (s *Alerts) Event(ctx context.Context, seq uint64) (alert.Event, error) {
	var ev alert.Event
	err := s.db.retry(ctx, func() error {
		rows, err := s.db.pool.Query(ctx, `SELECT seq, type, alert_id, at, body FROM alert_events WHERE seq = $1`, int64(seq))
		if err != nil {
			return err
		}
		ev, err = pgx.CollectExactlyOneRow(rows, scanEvent)
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ev, fmt.Errorf("event %d: %w", seq, alert.ErrNotFound)
	}
	return ev, fail(fmt.Sprintf("event %d", seq), err)
}

const deliveryCols = `event_seq, endpoint_id, state, next_at, attempts, log`

func scanDelivery(r pgx.CollectableRow) (alert.Delivery, error) {
	var d alert.Delivery
	var seq int64
	var ep, attempts int32
	var state int16
	var log []byte
	if err := r.Scan(&seq, &ep, &state, &d.NextAt, &attempts, &log); err != nil {
		return d, err
	}
	d.Event, d.Endpoint, d.State, d.Attempts, d.NextAt = uint64(seq), uint32(ep), alert.DeliveryState(state), uint32(attempts), d.NextAt.UTC()
	if err := json.Unmarshal(log, &d.Log); err != nil {
		return d, fmt.Errorf("%w: delivery of event %d to endpoint %d: log: %w", alert.ErrCorrupt, seq, ep, err)
	}
	for i := range d.Log {
		d.Log[i].Time = d.Log[i].Time.UTC()
	}
	return d, nil
}

// Deliveries calls fn for every outbox entry in (event, endpoint) order.
func (s *Alerts) Deliveries(ctx context.Context, fn func(*alert.Delivery) (bool, error)) error {
	var seq int64
	var ep int32 = -1
	for {
		ds, err := collect(ctx, s.db, scanDelivery, `SELECT `+deliveryCols+` FROM alert_deliveries
			WHERE (event_seq, endpoint_id) > ($1, $2) ORDER BY event_seq, endpoint_id LIMIT $3`, seq, ep, page)
		if err != nil {
			return fail("webhook outbox", err)
		}
		for i := range ds {
			if ok, err := fn(&ds[i]); err != nil || !ok {
				return err
			}
			seq, ep = int64(ds[i].Event), int32(ds[i].Endpoint)
		}
		if len(ds) < page {
			return nil
		}
	}
}

// Due claims up to limit pending deliveries whose NextAt is not after now
// and that no live claim holds, for Lease (G8): FOR UPDATE SKIP LOCKED
// lets workers on several servers claim at once without waiting for or
// taking each other's rows. Lease times are PostgreSQL's clock, so the
// servers' clocks need not agree.
func (s *Alerts) Due(ctx context.Context, now time.Time, limit int) ([]alert.Delivery, error) {
	lease := s.Lease
	if lease <= 0 {
		lease = time.Minute
	}
	var ds []alert.Delivery
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `UPDATE alert_deliveries d SET claimed_by = $3, lease_until = now() + $4 * interval '1 microsecond'
		FROM (SELECT event_seq, endpoint_id FROM alert_deliveries
			WHERE state = $5 AND next_at <= $1 AND (lease_until IS NULL OR lease_until < now())
			ORDER BY event_seq, endpoint_id LIMIT $2 FOR UPDATE SKIP LOCKED) c
		WHERE d.event_seq = c.event_seq AND d.endpoint_id = c.endpoint_id
		RETURNING d.event_seq, d.endpoint_id, d.state, d.next_at, d.attempts, d.log`,
			now, limit, s.Owner, lease.Microseconds(), int16(alert.Pending))
		if err != nil {
			return err
		}
		ds, err = pgx.CollectRows(rows, scanDelivery)
		return err
	})
	if err != nil {
		return nil, fail("claim due deliveries", err)
	}
	slices.SortFunc(ds, func(a, b alert.Delivery) int {
		return cmp.Or(cmp.Compare(a.Event, b.Event), cmp.Compare(a.Endpoint, b.Endpoint))
	})
	return ds, nil
}

// ErrLeaseLost is Record's refusal of an attempt on a delivery this
// server holds no claim on: its lease ended and another server took the
// delivery over, and sends (or sent) the event again with the same
// webhook-id.
var ErrLeaseLost = errors.New("this server no longer holds the delivery's claim (its lease ended and another server took it over)")

// Record stores a delivery's new state and releases this server's claim
// (from Due); without the claim it changes nothing (ErrLeaseLost), so a
// server whose lease ended never overwrites the result of the server that
// took the delivery over.
func (s *Alerts) Record(ctx context.Context, d *alert.Delivery) error {
	d.TrimLog()
	log, err := json.Marshal(d.Log)
	if err != nil {
		return err
	}
	if d.Log == nil {
		log = []byte("[]")
	}
	what := fmt.Sprintf("record delivery of event %d to endpoint %d", d.Event, d.Endpoint)
	tag, err := s.db.exec(ctx, `UPDATE alert_deliveries SET state = $3, next_at = $4, attempts = $5, log = $6,
		claimed_by = NULL, lease_until = NULL
		WHERE event_seq = $1 AND endpoint_id = $2 AND claimed_by = $7`,
		int64(d.Event), int32(d.Endpoint), int16(d.State), d.NextAt, int32(d.Attempts), log, s.Owner)
	if err != nil {
		return fail(what, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: %s: %w", what, ErrLeaseLost)
	}
	return nil
}

// BeginBlockTx starts the alert stage's shared side (alert.SharedBlocks).
// Its transaction begins, and takes eventLock, only at its first write,
// so a stage matching blocks without alerts holds nothing.
func (s *Alerts) BeginBlockTx(ctx context.Context) (alert.BlockTx, error) { return &blockTx{s: s}, nil }

type blockTx struct {
	s  *Alerts
	tx pgx.Tx
}

var _ alert.BlockTx = (*blockTx)(nil)

func (b *blockTx) begin(ctx context.Context) error {
	if b.tx != nil {
		return nil
	}
	// Nothing is written yet: a connection lost here is tried again.
	return b.s.db.retry(ctx, func() error {
		tx, err := b.s.db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(eventLock)); err != nil {
			_ = tx.Rollback(ctx)
			return err
		}
		b.tx = tx
		return nil
	})
}

func (b *blockTx) BlockHasAlerts(ctx context.Context, block btc.Hash) (bool, error) {
	var ok bool
	const q = `SELECT EXISTS (SELECT 1 FROM alerts WHERE block_hash = $1)`
	var err error
	if b.tx != nil {
		err = b.tx.QueryRow(ctx, q, block[:]).Scan(&ok)
	} else {
		err = b.s.db.queryRow(ctx, q, []any{block[:]}, &ok)
	}
	return ok, fail("alerts of block "+block.String(), err)
}

// CreateBlockAlerts inserts the block's alerts that no server stored yet
// (ON CONFLICT DO NOTHING on the natural key) with their events: the
// eventLock taken first makes a second server wait for the first one's
// commit and then insert nothing (G6).
func (b *blockTx) CreateBlockAlerts(ctx context.Context, alerts []alert.Alert) (int, error) {
	if err := alert.CheckNew(alerts); err != nil {
		return 0, err
	}
	if err := b.begin(ctx); err != nil {
		return 0, fail("store alerts", err)
	}
	_, fresh, err := b.s.insert(ctx, b.tx, alerts)
	if err != nil {
		return 0, fail("store alerts", err)
	}
	n := 0
	for _, f := range fresh {
		if f {
			n++
		}
	}
	return n, nil
}

func (b *blockTx) SetInvalidated(ctx context.Context, block btc.Hash, inv bool) (int, error) {
	what := "alerts of block " + block.String()
	if b.tx == nil {
		// Most blocks have nothing to change (another server did it, or
		// the block has no alerts): look before taking the lock.
		var some bool
		if err := b.s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM alerts WHERE block_hash = $1 AND invalidated <> $2)`,
			[]any{block[:], inv}, &some); err != nil || !some {
			return 0, fail(what, err)
		}
		if err := b.begin(ctx); err != nil {
			return 0, fail(what, err)
		}
	}
	n, err := b.s.flag(ctx, b.tx, block, inv)
	return n, fail(what, err)
}

func (b *blockTx) Commit(ctx context.Context) error {
	if b.tx == nil {
		return nil
	}
	err := b.tx.Commit(ctx)
	b.tx = nil
	return fail("commit the alert stage's alerts", err)
}

func (b *blockTx) Rollback() {
	if b.tx != nil {
		_ = b.tx.Rollback(context.Background())
		b.tx = nil
	}
}
