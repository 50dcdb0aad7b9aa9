package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/labelsync"
)

// LabelLog is labelsync.Log in PostgreSQL: the table label_log, appended
// under an advisory lock (so numbers are committed in order, with no
// gaps), and a NOTIFY on labelNotify with each append that Wait listens
// for on a connection of its own.
type LabelLog struct {
	db *DB
	// mu guards listener, the connection Wait listens on (nil until the
	// first Wait, and after it failed).
	mu       sync.Mutex
	listener *pgx.Conn
}

// LabelLog returns the label log.
func (db *DB) LabelLog() *LabelLog { return &LabelLog{db: db} }

var _ labelsync.Log = (*LabelLog)(nil)

const (
	// labelLogLock is the advisory lock appends hold ("labels" in ASCII).
	labelLogLock = 0x6c6162656c73
	// labelNotify is the channel appends notify.
	labelNotify = "sleuth_label_log"
)

// Append stores edits as consecutive entries in one transaction.
func (l *LabelLog) Append(ctx context.Context, by string, edits []labelsync.Edit) (uint64, error) {
	var first uint64
	err := l.db.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(labelLogLock)); err != nil {
			return err
		}
		var last int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(seq), 0) FROM label_log`).Scan(&last); err != nil {
			return err
		}
		first = uint64(last) + 1
		for i := range edits {
			e := &edits[i]
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			var file []byte
			if e.Import != nil {
				file = e.Import.Body
			}
			if _, err := tx.Exec(ctx, `INSERT INTO label_log (seq, at, by, kind, edit, file) VALUES ($1, now(), $2, $3, $4, $5)`,
				last+1+int64(i), by, e.Kind, b, file); err != nil {
				return err
			}
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, labelNotify, fmt.Sprint(last+int64(len(edits))))
		return err
	})
	var lost *noRetry
	if errors.As(err, &lost) {
		// The COMMIT was sent and its answer lost: the entries may be in
		// the log.
		return 0, fmt.Errorf("pgstore: append %d label edits: %w: %w", len(edits), labelsync.ErrOutcomeUnknown, err)
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: append %d label edits: %w", len(edits), err)
	}
	return first, nil
}

// After returns at most limit entries after seq.
func (l *LabelLog) After(ctx context.Context, seq uint64, limit int) ([]labelsync.Entry, error) {
	out, err := collect(ctx, l.db, func(r pgx.CollectableRow) (labelsync.Entry, error) {
		var e labelsync.Entry
		var n int64
		var b, file []byte
		if err := r.Scan(&n, &e.At, &e.By, &b, &file); err != nil {
			return e, err
		}
		e.Seq, e.At, e.Edit = uint64(n), e.At.UTC(), labelsync.DecodeEdit(b)
		if e.Edit.Import != nil {
			e.Edit.Import.Body = file
		}
		return e, nil
	}, `SELECT seq, at, by, edit, file FROM label_log WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(seq), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: read the label log after %d: %w", seq, err)
	}
	return out, nil
}

// Last returns the last entry's number.
func (l *LabelLog) Last(ctx context.Context) (uint64, error) {
	var n int64
	err := l.db.queryRow(ctx, `SELECT coalesce(max(seq), 0) FROM label_log`, nil, &n)
	return uint64(n), err
}

// Wait returns on a notification of an append, or after d. It listens on
// a connection of its own, opened on the first call and again after a
// failure (which it returns: the caller polls meanwhile).
func (l *LabelLog) Wait(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listener == nil {
		cctx, cancel := context.WithTimeout(ctx, d+5*time.Second)
		c, err := pgx.ConnectConfig(cctx, l.db.pool.Config().ConnConfig)
		if err == nil {
			if _, err = c.Exec(cctx, `LISTEN `+labelNotify); err != nil {
				c.Close(context.Background())
			}
		}
		cancel()
		if err != nil {
			return fmt.Errorf("pgstore: listen for label edits: %w", err)
		}
		l.listener = c
	}
	wctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	_, err := l.listener.WaitForNotification(wctx)
	switch {
	case err == nil, ctx.Err() != nil:
		return nil
	case errors.Is(wctx.Err(), context.DeadlineExceeded) && !l.listener.IsClosed():
		return nil // no notification within d: the caller polls
	}
	l.listener.Close(context.Background())
	l.listener = nil
	return fmt.Errorf("pgstore: listen for label edits: %w", err)
}

// Close closes the listening connection.
func (l *LabelLog) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.listener != nil {
		l.listener.Close(context.Background())
		l.listener = nil
	}
}
