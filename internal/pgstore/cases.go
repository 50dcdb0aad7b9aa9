package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/casefile"
)

// Cases is casefile.Store in PostgreSQL.
type Cases struct{ db *DB }

// Cases returns the cases store.
func (db *DB) Cases() *Cases { return &Cases{db} }

var _ casefile.Store = (*Cases)(nil)

// body is what the jsonb column holds.
type body struct {
	Sources []string            `json:"sources"`
	Notes   []casefile.Note     `json:"notes"`
	Labels  []casefile.LabelRef `json:"labels"`
	Traces  []casefile.Trace    `json:"traces"`
}

const caseCols = `id, name, description, status, created, created_by, updated, body`

func scanCase(row pgx.Row) (casefile.Case, error) {
	var c casefile.Case
	var b []byte
	if err := row.Scan(&c.ID, &c.Name, &c.Description, &c.Status, &c.Created, &c.CreatedBy, &c.Updated, &b); err != nil {
		return c, err
	}
	var bd body
	if err := json.Unmarshal(b, &bd); err != nil {
		return c, fmt.Errorf("pgstore: case %d body: %w", c.ID, err)
	}
	c.Sources, c.Notes, c.Labels, c.Traces = bd.Sources, bd.Notes, bd.Labels, bd.Traces
	c.Created, c.Updated = c.Created.UTC(), c.Updated.UTC()
	return c, nil
}

func bodyOf(c *casefile.Case) ([]byte, error) {
	return json.Marshal(body{c.Sources, c.Notes, c.Labels, c.Traces})
}

func audit(ctx context.Context, tx pgx.Tx, c *casefile.Case, by, action, detail string) error {
	_, err := tx.Exec(ctx, `INSERT INTO case_audit (case_id, at, by, action, detail) VALUES ($1, $2, $3, $4, $5)`,
		c.ID, c.Updated, by, action, detail)
	return err
}

// caseErr wraps a failure of op, marking an unreachable PostgreSQL with
// casefile.ErrUnavailable (the API answers 503 with Retry-After); the
// store's own answers (no such case, a refused edit) pass as they are.
func caseErr(op string, err error) error {
	var inv *casefile.InvalidError
	switch {
	case err == nil, errors.Is(err, casefile.ErrNotFound), errors.As(err, &inv):
		return err
	case unreachable(err):
		return fmt.Errorf("pgstore: %s: %w: %w", op, casefile.ErrUnavailable, err)
	}
	return fmt.Errorf("pgstore: %s: %w", op, err)
}

func (s *Cases) Create(ctx context.Context, by, name, description string, sources []string) (casefile.Case, error) {
	// The validation and the shape of a new case are casefile's: build it
	// in memory first, then store it.
	c, detail, err := casefile.New(by, name, description, sources)
	if err != nil {
		return c, err
	}
	b, err := bodyOf(&c)
	if err != nil {
		return c, err
	}
	err = s.db.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO cases (name, description, status, created, created_by, updated, body)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, c.Name, c.Description, c.Status, c.Created, c.CreatedBy, c.Updated, b).Scan(&c.ID); err != nil {
			return err
		}
		return audit(ctx, tx, &c, by, "create", detail)
	})
	if err != nil {
		return casefile.Case{}, caseErr("create case", err)
	}
	return c, nil
}

func (s *Cases) Get(ctx context.Context, id uint64) (casefile.Case, error) {
	var c casefile.Case
	err := s.db.retry(ctx, func() (err error) {
		c, err = scanCase(s.db.pool.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1`, int64(id)))
		return err
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("case %d: %w", id, casefile.ErrNotFound)
	}
	return c, caseErr(fmt.Sprintf("case %d", id), err)
}

func (s *Cases) List(ctx context.Context, cur string, limit int) (casefile.Page[casefile.Summary], error) {
	p := casefile.Page[casefile.Summary]{Items: []casefile.Summary{}}
	after, err := casefile.ParseCursor(cur)
	if err != nil {
		return p, err
	}
	cs, err := collect(ctx, s.db, func(r pgx.CollectableRow) (casefile.Case, error) { return scanCase(r) },
		`SELECT `+caseCols+` FROM cases WHERE id > $1 ORDER BY id LIMIT $2`, int64(after), limit+1)
	if err != nil {
		return p, caseErr("list cases", err)
	}
	for i := range cs {
		if len(p.Items) == limit {
			p.NextCursor = strconv.FormatUint(p.Items[limit-1].ID, 10)
			break
		}
		p.Items = append(p.Items, casefile.SummaryOf(&cs[i]))
	}
	return p, nil
}

func (s *Cases) Edit(ctx context.Context, id uint64, by, action string, fn func(c *casefile.Case) (string, error)) (casefile.Case, error) {
	var c casefile.Case
	err := s.db.tx(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = scanCase(tx.QueryRow(ctx, `SELECT `+caseCols+` FROM cases WHERE id = $1 FOR UPDATE`, int64(id)))
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("case %d: %w", id, casefile.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c.Updated = casefile.Now()
		detail, err := fn(&c)
		if err != nil {
			return err
		}
		b, err := bodyOf(&c)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE cases SET name = $2, description = $3, status = $4, updated = $5, body = $6 WHERE id = $1`,
			int64(id), c.Name, c.Description, c.Status, c.Updated, b); err != nil {
			return err
		}
		return audit(ctx, tx, &c, by, action, detail)
	})
	if err != nil {
		return casefile.Case{}, caseErr(fmt.Sprintf("edit case %d", id), err)
	}
	return c, nil
}

func (s *Cases) Audit(ctx context.Context, id uint64, after uint64, limit int) (casefile.Page[casefile.Event], error) {
	p := casefile.Page[casefile.Event]{Items: []casefile.Event{}}
	if _, err := s.Get(ctx, id); err != nil {
		return p, err
	}
	evs, err := collect(ctx, s.db, func(r pgx.CollectableRow) (ev casefile.Event, err error) {
		err = r.Scan(&ev.Seq, &ev.Case, &ev.At, &ev.By, &ev.Action, &ev.Detail)
		ev.At = ev.At.UTC()
		return ev, err
	}, `SELECT seq, case_id, at, by, action, detail FROM case_audit
		WHERE case_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`, int64(id), int64(after), limit+1)
	if err != nil {
		return p, caseErr(fmt.Sprintf("audit of case %d", id), err)
	}
	for _, ev := range evs {
		if len(p.Items) == limit {
			p.NextCursor = strconv.FormatUint(p.Items[limit-1].Seq, 10)
			break
		}
		p.Items = append(p.Items, ev)
	}
	return p, nil
}
