package pgstore

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/casefile/casefiletest"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// dsn returns the test server's DSN (scripts/postgres.sh run sets
// TEST_PG_DSN; make test does), or skips.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("TEST_PG_DSN")
	if d == "" {
		t.Skip("TEST_PG_DSN is not set: run under scripts/postgres.sh run (make test does)")
	}
	return d
}

var schemaSeq atomic.Int64

// freshSchema creates an empty schema and returns a DSN whose connections
// use it, so that each test sees an empty database.
func freshSchema(t testing.TB) string {
	t.Helper()
	base := dsn(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	name := fmt.Sprintf("t%d_%d", os.Getpid(), schemaSeq.Add(1))
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err == nil {
			c.Exec(context.Background(), "DROP SCHEMA "+name+" CASCADE")
			c.Close(context.Background())
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", name)
	u.RawQuery = q.Encode()
	return u.String()
}

func open(t testing.TB, d string) *DB {
	t.Helper()
	db, err := Open(context.Background(), d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db
}

// TestCasesConformance runs casefile's conformance suite on PostgreSQL:
// the same suite the embedded store passes.
func TestCasesConformance(t *testing.T) {
	dsn(t)
	casefiletest.Run(t, func(t *testing.T) casefile.Store { return open(t, freshSchema(t)).Cases() })
}

// TestMigrations: servers starting together migrate once (G1), and a
// database migrated by a newer sleuth is refused.
func TestMigrations(t *testing.T) {
	d := freshSchema(t)
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := Open(context.Background(), d)
			if err == nil {
				db.Close()
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("concurrent open: %v", err)
		}
	}
	db := open(t, d)
	ms, _ := migrations()
	if v, err := db.Schema(context.Background()); err != nil || v != len(ms) {
		t.Fatalf("schema %d %v, want %d", v, err, len(ms))
	}
	if _, err := db.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from_the_future')`, len(ms)+1); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(context.Background(), d); err == nil || !strings.Contains(err.Error(), "upgrade sleuth") {
		t.Errorf("open of a newer schema: %v", err)
	}
}

// TestTwoServersOneCase: edits of one case from two pools (two servers)
// at once all land, each with its audit event (G2).
func TestTwoServersOneCase(t *testing.T) {
	d := freshSchema(t)
	a, b := open(t, d).Cases(), open(t, d).Cases()
	ctx := context.Background()
	c, err := a.Create(ctx, "alice", "shared", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	const n = 20
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := casefile.Store(a)
			if i%2 == 1 {
				s = b
			}
			if _, err := casefile.AddNote(ctx, s, c.ID, fmt.Sprint("server", i%2), fmt.Sprint("note ", i)); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	got, err := b.Get(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Notes) != n {
		t.Errorf("%d notes after %d concurrent edits from two servers: an edit was lost", len(got.Notes), n)
	}
	p, err := a.Audit(ctx, c.ID, 0, 1000)
	if err != nil || len(p.Items) != n+1 {
		t.Errorf("audit %d events, want %d: %v", len(p.Items), n+1, err)
	}
}

// TestUnreachable: a server that cannot be reached is a clear error
// naming it, without the password.
func TestUnreachable(t *testing.T) {
	_, err := Open(context.Background(), "postgres://sleuth:secret@127.0.0.1:1/sleuth?sslmode=disable&connect_timeout=2")
	if err == nil {
		t.Fatal("opened a server that does not exist")
	}
	if strings.Contains(err.Error(), "secret") || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("error %q: want the server named, the password not", err)
	}
}

// TestTwoServersShareCases: two API servers, each with its own chain
// index, on one PostgreSQL: a case opened and annotated on one is what
// the other answers.
func TestTwoServersShareCases(t *testing.T) {
	d := freshSchema(t)
	srv := func() http.Handler {
		db := indextest.Open(t, t.TempDir())
		return api.New(pipeline.New(db, pipeline.Options{}), api.Options{Cases: open(t, d).Cases()})
	}
	a, b := srv(), srv()
	do := func(h http.Handler, method, path, body string) (int, map[string]any) {
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(method, path, r))
		var v map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		return rec.Code, v
	}
	if code, v := do(a, "POST", "/v1/cases", `{"name":"shared case","sources":["`+strings.Repeat("cd", 32)+`"]}`); code != 201 || v["id"] != 1.0 {
		t.Fatalf("create on server A: %d %v", code, v)
	}
	if code, _ := do(b, "POST", "/v1/cases/1/notes", `{"text":"seen from B"}`); code != 200 {
		t.Fatalf("note on server B: %d", code)
	}
	code, v := do(a, "GET", "/v1/cases/1", "")
	if code != 200 || len(v["notes"].([]any)) != 1 || v["name"] != "shared case" {
		t.Errorf("server A reads %d %v", code, v)
	}
	code, v = do(b, "GET", "/v1/cases/1/audit", "")
	if code != 200 || len(v["items"].([]any)) != 2 {
		t.Errorf("server B's audit %d %v", code, v)
	}
}
