package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
)

// APIKeys is apikey.Store in PostgreSQL.
type APIKeys struct{ db *DB }

// APIKeys returns the API key store.
func (db *DB) APIKeys() *APIKeys { return &APIKeys{db} }

var _ apikey.Store = (*APIKeys)(nil)

const bumpKeys = `UPDATE api_keys_version SET v = v + 1`

// Add implements apikey.Store: the id comes from a sequence, so two
// servers creating keys at once never share one (a failed insert leaves
// a gap, never a reuse).
func (s *APIKeys) Add(ctx context.Context, mk func(id uint32) apikey.Key) (apikey.Key, error) {
	var k apikey.Key
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		var id int32
		if err := tx.QueryRow(ctx, `SELECT nextval('api_keys_id')`).Scan(&id); err != nil {
			return err
		}
		k = mk(uint32(id))
		if _, err := tx.Exec(ctx, `INSERT INTO api_keys (id, name, scope, created, revoked, hash) VALUES ($1, $2, $3, $4, false, $5)`,
			id, k.Name, int16(k.Scope), k.Created, k.Hash[:]); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, bumpKeys)
		return err
	})
	if err != nil {
		return apikey.Key{}, fmt.Errorf("pgstore: create API key: %w", err)
	}
	return k, nil
}

// List implements apikey.Store.
func (s *APIKeys) List(ctx context.Context) ([]apikey.Key, error) {
	out, err := collect(ctx, s.db, func(r pgx.CollectableRow) (apikey.Key, error) {
		var (
			id      int32
			scope   int16
			created time.Time
			hash    []byte
			k       apikey.Key
		)
		if err := r.Scan(&id, &k.Name, &scope, &created, &k.Revoked, &hash); err != nil {
			return k, err
		}
		if len(hash) != len(k.Hash) {
			return k, fmt.Errorf("API key %d: hash of %d bytes", id, len(hash))
		}
		k.ID, k.Scope, k.Created = uint32(id), apikey.Scope(scope), created.UTC()
		copy(k.Hash[:], hash)
		return k, nil
	}, `SELECT id, name, scope, created, revoked, hash FROM api_keys ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list API keys: %w", err)
	}
	return out, nil
}

// Revoke implements apikey.Store.
func (s *APIKeys) Revoke(ctx context.Context, id uint32) error {
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE api_keys SET revoked = true WHERE id = $1`, int64(id))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("%w: no key %d", apikey.ErrUnknown, id)
		}
		_, err = tx.Exec(ctx, bumpKeys)
		return err
	})
	if err != nil && !errors.Is(err, apikey.ErrUnknown) {
		return fmt.Errorf("pgstore: revoke API key %d: %w", id, err)
	}
	return err
}

// Version implements apikey.Store.
func (s *APIKeys) Version(ctx context.Context) (uint64, error) {
	var v int64
	if err := s.db.queryRow(ctx, `SELECT v FROM api_keys_version`, nil, &v); err != nil {
		return 0, fmt.Errorf("pgstore: API keys version: %w", err)
	}
	return uint64(v), nil
}
