package export

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// retryable reports whether err is the server or the connection going
// away (a restart, a dropped connection, a refused connect), after which
// the same transaction may succeed on a new connection.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P02" || pe.Code == "57P03"
	}
	var ce *pgconn.ConnectError
	return errors.As(err, &ce) || pgconn.SafeToRetry(err) || errors.Is(err, pgx.ErrTxClosed) ||
		strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF") ||
		strings.Contains(err.Error(), "connection reset")
}

// inTx runs fn in one PostgreSQL transaction, again after a retryable
// failure (up to Options.Retries times, waiting 1, 2, 4… s), unless
// committed reports that the failed attempt committed after all (its
// acknowledgement was lost).
func (w *writer) inTx(ctx context.Context, committed func(context.Context) (bool, error), fn func(pgx.Tx) error) error {
	wait := time.Second
	for attempt := 0; ; attempt++ {
		err := pgx.BeginFunc(ctx, w.t.pool, fn)
		if err == nil || ctx.Err() != nil || attempt >= w.opts.Retries || !retryable(err) {
			return err
		}
		w.log.Warn("export: PostgreSQL failed; retrying", "server", w.t.where, "attempt", attempt+1, "in", wait, "err", err)
		w.sum.Retries++
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		wait *= 2
		if committed != nil {
			ok, cerr := committed(ctx)
			if cerr == nil && ok {
				return nil
			}
		}
	}
}
