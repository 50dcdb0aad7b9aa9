package pgstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// Watch is watch.Store in PostgreSQL. Every call is a round trip: the
// alert stage reads it through a watch.Snapshot (in memory, refreshed when
// Version changes), the API directly, so that a server reads its own
// writes at once.
type Watch struct{ db *DB }

// Watch returns the watchlist store.
func (db *DB) Watch() *Watch { return &Watch{db} }

var (
	_ watch.Store         = (*Watch)(nil)
	_ watch.ListVersioner = (*Watch)(nil)
	_ watch.Editor        = (*Watch)(nil)
)

// watchBatch is how many address keys one statement adds or removes.
const watchBatch = 1 << 16

// shortCall bounds the calls watch.Store gives no context (Has, Version).
const shortCall = 5 * time.Second

// unreachable reports whether err is a failure to reach the server (down,
// restarting, connection lost) rather than an answer from it.
func unreachable(err error) bool {
	var ce *pgconn.ConnectError
	var ne net.Error
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		// 08: connection exception; 57P: operator intervention (shutdown,
		// crash, cannot connect now).
		return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P")
	case errors.As(err, &ce), errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		errors.Is(err, pgconn.ErrConnClosed): // a pooled connection the outage closed
		return true
	}
	return pgconn.SafeToRetry(err)
}

// watchErr wraps a failure of op, marking an unreachable server with
// watch.ErrUnavailable; the store's own answers (ErrNotFound, a name
// taken) pass as they are.
func watchErr(op string, err error) error {
	switch {
	case err == nil, errors.Is(err, watch.ErrNotFound), errors.Is(err, watch.ErrExists):
		return err
	case unreachable(err):
		return fmt.Errorf("pgstore: %s: %w: %w", op, watch.ErrUnavailable, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

const bumpWatch = `UPDATE watch_version SET v = v + 1`

func nameTaken(err error, name string) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" { // unique_violation
		return fmt.Errorf("watchlist %q %w", name, watch.ErrExists)
	}
	return err
}

// Create implements watch.Store.
func (s *Watch) Create(ctx context.Context, l *watch.List) (uint32, error) {
	if err := l.Validate(); err != nil {
		return 0, err
	}
	rec, _ := l.MarshalBinary()
	var id int32
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT nextval('watch_lists_id')`).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO watch_lists (id, name, record) VALUES ($1, $2, $3)`, id, l.Name, rec); err != nil {
			return nameTaken(err, l.Name)
		}
		_, err := tx.Exec(ctx, bumpWatch)
		return err
	})
	if err != nil {
		return 0, watchErr("create watchlist", err)
	}
	l.ID = uint32(id)
	return l.ID, nil
}

// Update implements watch.Store.
func (s *Watch) Update(ctx context.Context, l *watch.List) error {
	if err := l.Validate(); err != nil {
		return err
	}
	rec, _ := l.MarshalBinary()
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE watch_lists SET name = $2, record = $3, version = version + 1 WHERE id = $1`, int64(l.ID), l.Name, rec)
		if err != nil {
			return nameTaken(err, l.Name)
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("watchlist %d: %w", l.ID, watch.ErrNotFound)
		}
		_, err = tx.Exec(ctx, bumpWatch)
		return err
	})
	return watchErr("update watchlist", err)
}

// Edit implements watch.Editor: the list's row is locked from the read to
// the write.
func (s *Watch) Edit(ctx context.Context, id uint32, fn func(l *watch.List) (bool, error)) (watch.List, error) {
	var l watch.List
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		l, err = scanList(tx.QueryRow(ctx, `SELECT id, record FROM watch_lists WHERE id = $1 FOR UPDATE`, int64(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("watchlist %d: %w", id, watch.ErrNotFound)
		}
		if err != nil {
			return err
		}
		changed, err := fn(&l)
		if err != nil || !changed {
			return err
		}
		if err := l.Validate(); err != nil {
			return err
		}
		rec, _ := l.MarshalBinary()
		if _, err := tx.Exec(ctx, `UPDATE watch_lists SET name = $2, record = $3, version = version + 1 WHERE id = $1`, int64(id), l.Name, rec); err != nil {
			return nameTaken(err, l.Name)
		}
		_, err = tx.Exec(ctx, bumpWatch)
		return err
	})
	if err != nil {
		return watch.List{}, watchErr("edit watchlist", err)
	}
	return l, nil
}

func scanList(row pgx.Row) (watch.List, error) {
	var (
		id  int32
		rec []byte
		l   watch.List
	)
	if err := row.Scan(&id, &rec); err != nil {
		return l, err
	}
	l.ID = uint32(id)
	if err := l.UnmarshalBinary(rec); err != nil {
		return l, fmt.Errorf("watchlist %d: %w", id, err)
	}
	return l, nil
}

// Lists implements watch.Store.
func (s *Watch) Lists(ctx context.Context) ([]watch.List, error) {
	out, err := collect(ctx, s.db, func(r pgx.CollectableRow) (watch.List, error) { return scanList(r) },
		`SELECT id, record FROM watch_lists ORDER BY id`)
	if err != nil {
		return nil, watchErr("watchlists", err)
	}
	return out, nil
}

// ByName implements watch.Store.
func (s *Watch) ByName(ctx context.Context, name string) (watch.List, error) {
	var l watch.List
	err := s.db.retry(ctx, func() (err error) {
		l, err = scanList(s.db.pool.QueryRow(ctx, `SELECT id, record FROM watch_lists WHERE name = $1`, name))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return l, fmt.Errorf("watchlist %q: %w", name, watch.ErrNotFound)
	}
	return l, watchErr("watchlist by name", err)
}

// Remove implements watch.Store: the list and its addresses go in one
// transaction.
func (s *Watch) Remove(ctx context.Context, id uint32) error {
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `DELETE FROM watch_lists WHERE id = $1`, int64(id))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("watchlist %d: %w", id, watch.ErrNotFound)
		}
		_, err = tx.Exec(ctx, bumpWatch)
		return err
	})
	return watchErr("remove watchlist", err)
}

// AddAddresses implements watch.Store: batches of 64 Ki keys, each one
// statement and one transaction (with the version bump), so a failure
// part way keeps the batches before it and the count says how many.
func (s *Watch) AddAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	return s.editAddresses(ctx, list, keys,
		`INSERT INTO watch_addresses (list, addr) SELECT $1, unnest($2::bytea[]) ON CONFLICT DO NOTHING`)
}

// RemoveAddresses implements watch.Store.
func (s *Watch) RemoveAddresses(ctx context.Context, list uint32, keys []address.Key) (int, error) {
	return s.editAddresses(ctx, list, keys, `DELETE FROM watch_addresses WHERE list = $1 AND addr = ANY($2::bytea[])`)
}

func (s *Watch) editAddresses(ctx context.Context, list uint32, keys []address.Key, stmt string) (int, error) {
	for i := range keys {
		if keys[i].Len() == 0 {
			return 0, fmt.Errorf("watchlist %d: address %d of the batch has no key", list, i+1)
		}
	}
	n := 0
	batch := make([][]byte, 0, min(len(keys), watchBatch))
	for first := true; first || len(keys) > 0; first = false {
		chunk := keys[:min(len(keys), watchBatch)]
		keys = keys[len(chunk):]
		batch = batch[:0]
		for i := range chunk {
			batch = append(batch, chunk[i].Bytes())
		}
		var added int64
		err := s.db.tx(ctx, func(tx pgx.Tx) error {
			// The list's row, locked: a list removed meanwhile is not
			// found instead of half edited.
			var one int
			if err := tx.QueryRow(ctx, `SELECT 1 FROM watch_lists WHERE id = $1 FOR SHARE`, int64(list)).Scan(&one); errors.Is(err, pgx.ErrNoRows) {
				return fmt.Errorf("watchlist %d: %w", list, watch.ErrNotFound)
			} else if err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, stmt, int64(list), batch)
			if err != nil {
				return err
			}
			if tag.RowsAffected() > 0 {
				if _, err := tx.Exec(ctx, `UPDATE watch_lists SET version = version + 1 WHERE id = $1`, int64(list)); err != nil {
					return err
				}
				if _, err := tx.Exec(ctx, bumpWatch); err != nil {
					return err
				}
			}
			added = tag.RowsAffected()
			return nil
		})
		if err != nil {
			return n, watchErr(fmt.Sprintf("watchlist %d addresses", list), err)
		}
		n += int(added)
	}
	return n, nil
}

// scanKey reads one address key of list.
func scanKey(row pgx.Row, list uint32) (address.Key, error) {
	var b []byte
	if err := row.Scan(&b); err != nil {
		return address.Key{}, err
	}
	k, err := address.KeyFromBytes(b)
	if err != nil {
		return k, fmt.Errorf("%w: watchlist %d address %x: %w", watch.ErrCorrupt, list, b, err)
	}
	return k, nil
}

// Addresses implements watch.Store, in key order.
func (s *Watch) Addresses(ctx context.Context, list uint32, fn func(address.Key) error) error {
	seen := false
	var fnErr error
	err := s.db.retry(ctx, func() error {
		rows, err := s.db.pool.Query(ctx, `SELECT addr FROM watch_addresses WHERE list = $1 ORDER BY addr`, int64(list))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			k, err := scanKey(rows, list)
			if err != nil {
				return err
			}
			seen = true
			if fnErr = fn(k); fnErr != nil {
				return &noRetry{fnErr}
			}
		}
		if err := rows.Err(); err != nil && seen {
			return &noRetry{err} // fn has seen keys: not again from the start
		} else if err != nil {
			return err
		}
		return nil
	})
	if fnErr != nil {
		return fnErr
	}
	return watchErr("watchlist addresses", err)
}

// AddressPage implements watch.Store.
func (s *Watch) AddressPage(ctx context.Context, list uint32, after []byte, limit int) ([]address.Key, bool, error) {
	if limit <= 0 {
		return nil, false, fmt.Errorf("watchlist %d: page size %d", list, limit)
	}
	if after == nil {
		after = []byte{}
	}
	keys, err := collect(ctx, s.db, func(r pgx.CollectableRow) (address.Key, error) { return scanKey(r, list) },
		`SELECT addr FROM watch_addresses WHERE list = $1 AND addr > $2 ORDER BY addr LIMIT $3`, int64(list), after, limit+1)
	if err != nil {
		return nil, false, watchErr("watchlist page", err)
	}
	if len(keys) > limit {
		return keys[:limit], true, nil
	}
	if len(keys) == 0 {
		keys = nil
	}
	return keys, false, nil
}

// CountAddresses implements watch.Store.
func (s *Watch) CountAddresses(ctx context.Context, list uint32) (int, error) {
	var n int64
	err := s.db.queryRow(ctx, `SELECT count(*) FROM watch_addresses WHERE list = $1`, []any{int64(list)}, &n)
	return int(n), watchErr("watchlist count", err)
}

// Has implements watch.Store: one round trip (the alert stage asks a
// watch.Snapshot instead).
func (s *Watch) Has(list uint32, k address.Key) (bool, error) {
	ctx, cancel := context.WithTimeout(context.Background(), shortCall)
	defer cancel()
	var ok bool
	err := s.db.queryRow(ctx, `SELECT EXISTS (SELECT 1 FROM watch_addresses WHERE list = $1 AND addr = $2)`,
		[]any{int64(list), k.Bytes()}, &ok)
	return ok, watchErr("watchlist has", err)
}

// ListVersions implements watch.ListVersioner.
func (s *Watch) ListVersions(ctx context.Context) (map[uint32]uint64, error) {
	type listVersion struct {
		id int32
		v  int64
	}
	vs, err := collect(ctx, s.db, func(r pgx.CollectableRow) (lv listVersion, err error) {
		err = r.Scan(&lv.id, &lv.v)
		return lv, err
	}, `SELECT id, version FROM watch_lists`)
	if err != nil {
		return nil, watchErr("watchlist versions", err)
	}
	out := make(map[uint32]uint64, len(vs))
	for _, lv := range vs {
		out[uint32(lv.id)] = uint64(lv.v)
	}
	return out, nil
}

// Version implements watch.Store.
func (s *Watch) Version() (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), shortCall)
	defer cancel()
	var v int64
	err := s.db.queryRow(ctx, `SELECT v FROM watch_version`, nil, &v)
	return uint64(v), watchErr("watchlist version", err)
}
