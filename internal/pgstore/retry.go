package pgstore

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// An outage or a restart of PostgreSQL closes every connection in the
// pool, and the pool learns it only when it next uses one: the first
// statement after PostgreSQL came back fails although the server is up
// again. The helpers here run a statement once more, on a fresh
// connection, when running it again cannot apply a change twice (G10).

// retry runs fn, which only reads or writes inside a transaction that has
// not committed, and runs it once more after emptying the pool when the
// first run failed because the connection was lost. fn must start from
// scratch each time (reset what it collects).
func (db *DB) retry(ctx context.Context, fn func() error) error {
	err := fn()
	if !db.retryable(ctx, err) {
		return err
	}
	// Every pooled connection predates the loss and is suspect: new ones
	// are made as needed; connections in use close when released.
	db.pool.Reset()
	return fn()
}

// retryable reports whether err is a lost connection that running the
// statement again may cure: not a refused connect (the server is down:
// trying at once would only double the wait), not a COMMIT whose fate is
// unknown, not a cancelled request.
func (db *DB) retryable(ctx context.Context, err error) bool {
	var ce *pgconn.ConnectError
	var once *noRetry
	return err != nil && ctx.Err() == nil && unavailable(err) && !errors.As(err, &ce) && !errors.As(err, &once)
}

// noRetry is a failure that running again could make worse: a COMMIT
// that failed after it was sent (the transaction may have committed), or
// a read that had already handed rows to its caller.
type noRetry struct{ err error }

func (e *noRetry) Error() string { return e.err.Error() }
func (e *noRetry) Unwrap() error { return e.err }

// tx runs fn in a transaction, as pgx.BeginFunc does, and runs the whole
// transaction once more when the connection was lost before its COMMIT
// was sent: PostgreSQL rolls back a transaction whose connection ends, so
// nothing of the first run took effect. A COMMIT lost after it was sent
// is returned as it is (it may have committed). fn must set its results
// afresh on each run.
func (db *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return db.retry(ctx, func() error {
		tx, err := db.pool.Begin(ctx)
		if err != nil {
			return err
		}
		defer func() { _ = tx.Rollback(ctx) }() // after a commit, a no-op
		if err := fn(tx); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil && !pgconn.SafeToRetry(err) {
			return &noRetry{err}
		} else if err != nil {
			return err
		}
		return nil
	})
}

// exec runs one writing statement in a transaction of its own (tx), so
// that a connection lost before the COMMIT was sent is tried again, which
// a bare statement on a pooled connection could not be: it may have
// committed.
func (db *DB) exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	var tag pgconn.CommandTag
	err := db.tx(ctx, func(tx pgx.Tx) (err error) {
		tag, err = tx.Exec(ctx, sql, args...)
		return err
	})
	return tag, err
}

// queryRow runs a single-row read (QueryRow then Scan into dest), again
// on a fresh connection when the first connection was lost.
func (db *DB) queryRow(ctx context.Context, sql string, args []any, dest ...any) error {
	return db.retry(ctx, func() error { return db.pool.QueryRow(ctx, sql, args...).Scan(dest...) })
}

// collect runs a read and collects its rows with scan, again on a fresh
// connection when the first connection was lost.
func collect[T any](ctx context.Context, db *DB, scan pgx.RowToFunc[T], sql string, args ...any) ([]T, error) {
	var out []T
	err := db.retry(ctx, func() error {
		rows, err := db.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, scan)
		return err
	})
	return out, err
}
