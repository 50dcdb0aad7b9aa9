package export

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"regexp"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// DefaultSchema is the PostgreSQL schema the tables go to unless
// Options.Schema names another.
const DefaultSchema = "chain"

// ErrDSN is returned by Open for a DSN that does not parse.
var ErrDSN = errors.New("export: malformed --postgres DSN")

// ErrNewerSchema is returned by Open when the export schema was migrated
// by a newer sleuth.
var ErrNewerSchema = errors.New("export: the schema is newer than this sleuth")

// step is one schema version: migrations/NNN_name.sql.
type step struct {
	version int
	file    string
	sql     string
}

// steps returns the embedded migrations in version order, numbered 1..n
// without gaps (E1).
func steps() ([]step, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := make([]step, len(names))
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		digits, _, _ := strings.Cut(base, "_")
		v, err := strconv.Atoi(digits)
		if err != nil || v < 1 || v > len(names) || out[v-1].file != "" {
			return nil, fmt.Errorf("export: migration %s: want NNN_name.sql numbered 1..%d once each", base, len(names))
		}
		b, err := migrationFS.ReadFile(name)
		if err != nil {
			return nil, err
		}
		out[v-1] = step{v, base, string(b)}
	}
	return out, nil
}

var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Target is a PostgreSQL database with the export's schema, migrated.
type Target struct {
	pool   *pgxpool.Pool
	schema string
	where  string // user@host:port/db, without the password
}

// Open connects to dsn (postgres://… or key=value), creates the schema
// if absent and applies the migrations this sleuth has and the schema
// lacks, under an advisory lock (E1). A schema migrated by a newer sleuth
// is ErrNewerSchema; nothing is written then.
func Open(ctx context.Context, dsn, schema string) (*Target, error) {
	if schema == "" {
		schema = DefaultSchema
	}
	if !schemaName.MatchString(schema) {
		return nil, fmt.Errorf("export: schema name %q: want lower-case letters, digits and _", schema)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDSN, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	c := cfg.ConnConfig
	t := &Target{schema: schema, where: fmt.Sprintf("%s@%s:%d/%s", c.User, c.Host, c.Port, c.Database)}
	if t.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return nil, fmt.Errorf("export: PostgreSQL at %s: %w", t.where, err)
	}
	if err := t.migrate(ctx); err != nil {
		t.pool.Close()
		return nil, fmt.Errorf("export: PostgreSQL at %s, schema %s: %w", t.where, schema, err)
	}
	return t, nil
}

// Close closes the connections.
func (t *Target) Close() { t.pool.Close() }

// Schema returns the schema name and the version its migrations reached.
func (t *Target) Schema(ctx context.Context) (string, int, error) {
	var v int
	err := t.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	return t.schema, v, err
}

// lockKey is the advisory lock of one export schema: migrations and runs
// on the same schema serialise, other schemas (and pgstore) do not wait.
func (t *Target) lockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("sleuth export " + t.schema))
	return int64(h.Sum64())
}

func (t *Target) migrate(ctx context.Context) error {
	ms, err := steps()
	if err != nil {
		return err
	}
	return pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, t.lockKey()); err != nil {
			return fmt.Errorf("lock for migrations: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{t.schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version int PRIMARY KEY, name text NOT NULL, applied timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("schema_migrations: %w", err)
		}
		var have int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
			return err
		}
		if have > len(ms) {
			return fmt.Errorf("%w: it is at version %d, this sleuth knows %d: upgrade sleuth", ErrNewerSchema, have, len(ms))
		}
		for _, m := range ms[have:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %s: %w", m.file, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.file); err != nil {
				return err
			}
		}
		return nil
	})
}
