package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// world is a small simulated chain behind a Server: all but the last
// `held` best-chain blocks ingested through the pipeline, the simulator's
// public TagPack and a one-address sanctions list imported.
type world struct {
	db         *index.DB
	pl         *pipeline.Pipeline
	srv        *Server
	blocksDir  string
	held       [][]byte // best-chain records not yet in blocksDir
	sanctioned string   // an on-chain address on the list
	addr       string   // an on-chain address with transactions
	txid       string
}

func newWorld(t testing.TB, held int) *world {
	t.Helper()
	out := simtest.Chain(t, 5, 0.1)
	recs := simtest.BestRecords(t, out)
	w := &world{blocksDir: t.TempDir(), held: recs[len(recs)-held:]}
	simtest.AppendRecords(t, w.blocksDir, recs[:len(recs)-held]...)
	w.db = indextest.Open(t, t.TempDir())
	w.pl = pipeline.New(w.db, pipeline.Options{})
	w.srv = New(w.pl, Options{})
	ctx := context.Background()
	if _, err := w.pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: w.blocksDir}}); err != nil {
		t.Fatal(err)
	}
	var err error
	if w.sanctioned, _, err = w.db.AddrString(btc.AddrID(3)); err != nil {
		t.Fatal(err)
	}
	if w.addr, _, err = w.db.AddrString(btc.AddrID(1)); err != nil {
		t.Fatal(err)
	}
	id, err := w.db.TxID(1)
	if err != nil {
		t.Fatal(err)
	}
	w.txid = id.String()
	list := filepath.Join(t.TempDir(), "sanctioned.txt")
	if err := os.WriteFile(list, []byte(w.sanctioned+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = w.pl.Write(func(db *index.DB) error {
		if _, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{}); err != nil {
			return err
		}
		_, err := label.ImportFile(ctx, db, list, label.ImportOptions{Format: "address_list", Date: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.pl.AttributionChanged(ctx, false); err != nil {
		t.Fatal(err)
	}
	return w
}

// do sends one request to the server (no network) and returns the
// response.
func (w *world) do(t testing.TB, method, path string, body io.Reader, hdr ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	w.srv.ServeHTTP(rec, req)
	return rec.Result()
}

// spec is the embedded OpenAPI document, decoded.
type spec struct {
	doc map[string]any
}

func loadSpec(t testing.TB) *spec {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &spec{doc}
}

// template returns the spec path matching a request path (its {params}
// match one segment; of several, the one with the most literal segments,
// as the ServeMux picks /v1/labels/import over /v1/labels/{ref}), or "".
func (s *spec) template(path string) string {
	segs := strings.Split(path, "/")
	best, bestLit := "", -1
	for tmpl := range s.doc["paths"].(map[string]any) {
		ts := strings.Split(tmpl, "/")
		if len(ts) != len(segs) {
			continue
		}
		ok, lit := true, 0
		for i := range ts {
			if ts[i] == segs[i] {
				lit++
			} else if !strings.HasPrefix(ts[i], "{") {
				ok = false
				break
			}
		}
		if ok && lit > bestLit {
			best, bestLit = tmpl, lit
		}
	}
	return best
}

// resolve follows a $ref within the document.
func (s *spec) resolve(v map[string]any) map[string]any {
	for {
		r, ok := v["$ref"].(string)
		if !ok {
			return v
		}
		var cur any = s.doc
		for _, part := range strings.Split(strings.TrimPrefix(r, "#/"), "/") {
			cur = cur.(map[string]any)[part]
		}
		v = cur.(map[string]any)
	}
}

// check validates a response against the spec: the route and status are
// documented, and the body validates against the documented schema of
// its content type.
func (s *spec) check(method, path string, resp *http.Response, body []byte) error {
	path, _, _ = strings.Cut(path, "?")
	tmpl := s.template(path)
	if tmpl == "" {
		if resp.StatusCode == http.StatusNotFound {
			return s.checkProblem(resp, body)
		}
		return fmt.Errorf("%s %s: no such path in openapi.json", method, path)
	}
	op, ok := s.doc["paths"].(map[string]any)[tmpl].(map[string]any)[strings.ToLower(method)].(map[string]any)
	if !ok {
		if resp.StatusCode == http.StatusMethodNotAllowed {
			return s.checkProblem(resp, body)
		}
		return fmt.Errorf("%s %s: method not in openapi.json", method, tmpl)
	}
	r, ok := op["responses"].(map[string]any)[strconv.Itoa(resp.StatusCode)].(map[string]any)
	if !ok {
		if resp.StatusCode == http.StatusMethodNotAllowed || resp.StatusCode == http.StatusNotFound {
			return s.checkProblem(resp, body)
		}
		return fmt.Errorf("%s %s: status %d not documented", method, tmpl, resp.StatusCode)
	}
	r = s.resolve(r)
	ct, _, _ := strings.Cut(resp.Header.Get("Content-Type"), ";")
	media, ok := r["content"].(map[string]any)[ct].(map[string]any)
	if !ok {
		return fmt.Errorf("%s %s %d: content type %q not documented", method, tmpl, resp.StatusCode, ct)
	}
	if ct == "text/plain" || ct == "text/event-stream" || ct == "text/csv" || ct == "text/html" || ct == "application/pdf" {
		return nil
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return fmt.Errorf("%s %s %d: body is not JSON: %v", method, tmpl, resp.StatusCode, err)
	}
	if err := s.validate(v, media["schema"].(map[string]any), "$"); err != nil {
		return fmt.Errorf("%s %s %d: %w", method, tmpl, resp.StatusCode, err)
	}
	return nil
}

func (s *spec) checkProblem(resp *http.Response, body []byte) error {
	var v any
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		return fmt.Errorf("status %d with content type %q", resp.StatusCode, ct)
	}
	if err := json.Unmarshal(body, &v); err != nil {
		return err
	}
	return s.validate(v, map[string]any{"$ref": "#/components/schemas/Problem"}, "$")
}

// validate checks v against the subset of JSON Schema openapi.json uses:
// $ref, type (one or a list), properties, required, items, maxItems.
func (s *spec) validate(v any, schema map[string]any, at string) error {
	schema = s.resolve(schema)
	if t, ok := schema["type"]; ok {
		var types []string
		switch t := t.(type) {
		case string:
			types = []string{t}
		case []any:
			for _, x := range t {
				types = append(types, x.(string))
			}
		}
		if !slices.ContainsFunc(types, func(t string) bool { return hasType(v, t) }) {
			return fmt.Errorf("%s: %v is not of type %v", at, v, types)
		}
	}
	switch v := v.(type) {
	case map[string]any:
		if req, ok := schema["required"].([]any); ok {
			for _, k := range req {
				if _, ok := v[k.(string)]; !ok {
					return fmt.Errorf("%s: required %q missing", at, k)
				}
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, pv := range v {
			if ps, ok := props[k].(map[string]any); ok {
				if err := s.validate(pv, ps, at+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if m, ok := schema["maxItems"].(float64); ok && float64(len(v)) > m {
			return fmt.Errorf("%s: %d items, at most %v", at, len(v), m)
		}
		if is, ok := schema["items"].(map[string]any); ok {
			for i, x := range v {
				if err := s.validate(x, is, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func hasType(v any, t string) bool {
	switch t {
	case "null":
		return v == nil
	case "string":
		_, ok := v.(string)
		return ok
	case "boolean":
		_, ok := v.(bool)
		return ok
	case "number":
		_, ok := v.(float64)
		return ok
	case "integer":
		f, ok := v.(float64)
		return ok && f == float64(int64(f))
	case "array":
		_, ok := v.([]any)
		return ok
	case "object":
		_, ok := v.(map[string]any)
		return ok
	}
	return false
}

// jsonBody is a reader of v's JSON.
func jsonBody(t testing.TB, v any) io.Reader {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

// newEmptyPipeline is a pipeline over an empty store.
func newEmptyPipeline(t testing.TB) *pipeline.Pipeline {
	t.Helper()
	return pipeline.New(indextest.Open(t, t.TempDir()), pipeline.Options{})
}
