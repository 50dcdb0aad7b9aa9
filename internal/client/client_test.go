package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// answer answers p.Status with a problem+json body.
func answer(w http.ResponseWriter, p problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func TestErrors(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/addresses/{a}", func(w http.ResponseWriter, r *http.Request) {
		answer(w, problem{Status: 404, Title: "Not Found", Detail: "address " + r.PathValue("a") + ": not found", RequestID: "r1"})
	})
	mux.HandleFunc("GET /v1/blocks/{ref}", func(w http.ResponseWriter, r *http.Request) {
		answer(w, problem{Status: 400, Title: "Bad Request", Field: "path:ref", Detail: "path:ref: bad block reference"})
	})
	mux.HandleFunc("GET /v1/entities/{id}/explain", func(w http.ResponseWriter, r *http.Request) {
		answer(w, problem{Status: 422, Detail: "apart", Apart: &query.Apart{EntityA: 1, EntityB: 2, Refused: []cluster.RefusedView{}}})
	})
	mux.HandleFunc("GET /v1/status", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-API-Key") != "k" {
			answer(w, problem{Status: 401, Field: "header:X-API-Key", Detail: "an API key is required"})
			return
		}
		fmt.Fprint(w, `{"network":"mainnet","height":7,"txs":1,"stages":[],"label_sources":[]}`)
	})
	mux.HandleFunc("GET /v1/transactions/{id}", func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(502)
		fmt.Fprint(w, "<html>bad gateway</html>")
	})
	mux.HandleFunc("GET /v1/labels/{ref}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `[{"label":`) // truncated JSON
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	c := New(srv.URL, "", Options{})

	_, err := c.Address(ctx, "1abc")
	var e *Error
	if !errors.As(err, &e) || e.Status != 404 || !errors.Is(err, index.ErrNotFound) || e.RequestID != "r1" || !strings.Contains(err.Error(), "GET /v1/addresses/1abc: 404") {
		t.Errorf("404: %v", err)
	}
	_, err = c.Block(ctx, "x")
	if !errors.Is(err, ErrBadRequest) || !errors.As(err, &e) || e.Reason() != "bad block reference" {
		t.Errorf("400: %v", err)
	}
	_, err = c.Explain(ctx, "a", "b")
	var apart *query.NotJoinedError
	if !errors.As(err, &apart) || apart.Apart.EntityB != 2 || !errors.Is(err, cluster.ErrNotJoined) {
		t.Errorf("422: %v", err)
	}
	_, err = c.Status(ctx)
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("401: %v", err)
	}
	v, err := New(srv.URL, "k", Options{}).Status(ctx)
	if err != nil || v.Height != 7 {
		t.Errorf("status with key: %+v %v", v, err)
	}
	_, err = c.Tx(ctx, [32]byte{})
	if !errors.As(err, &e) || e.Status != 502 || !strings.Contains(e.Detail, "bad gateway") {
		t.Errorf("502 without a problem: %v", err)
	}
	_, err = c.Labels(ctx, "1abc", time.Time{})
	if err == nil || !strings.Contains(err.Error(), "decode the answer") {
		t.Errorf("truncated JSON: %v", err)
	}
}

func TestBounds(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/blocks/big", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"hash":"%s"}`, strings.Repeat("a", 4096))
	})
	mux.HandleFunc("GET /v1/blocks/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL, "", Options{MaxResponse: 1024, Timeout: 100 * time.Millisecond})
	if _, err := c.Block(context.Background(), "big"); err == nil || !strings.Contains(err.Error(), "larger than 1024 bytes") {
		t.Errorf("oversized answer: %v", err)
	}
	if _, err := c.Block(context.Background(), "slow"); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("slow answer: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := New(srv.URL, "", Options{}).Block(ctx, "slow"); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled: %v", err)
	}
}

// TestScreenChunks checks that Screen splits a batch by count and by
// bytes, keeps the order and rejects an answer of the wrong length.
func TestScreenChunks(t *testing.T) {
	var requests atomic.Int64
	short := false
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/screen", func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		var addrs []string
		if err := json.NewDecoder(r.Body).Decode(&addrs); err != nil || len(addrs) > 3 {
			answer(w, problem{Status: 400, Detail: fmt.Sprintf("%d addresses, %v", len(addrs), err)})
			return
		}
		lvl := risk.High
		out := []*risk.Report{}
		for _, a := range addrs {
			out = append(out, &risk.Report{Query: a, Status: risk.Assessed, RiskJSON: &lvl})
		}
		if short {
			out = out[1:]
		}
		_ = json.NewEncoder(w).Encode(out)
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := New(srv.URL, "", Options{MaxBatch: 3, MaxBatchBytes: 64})
	for _, tc := range []struct {
		addrs []string
		reqs  int64
	}{
		{nil, 0},
		{[]string{"a", "b", "c", "d", "e", "f", "g"}, 3},
		{[]string{strings.Repeat("x", 40), strings.Repeat("y", 40), "z"}, 2}, // bytes split
		{[]string{strings.Repeat("x", 100)}, 1},                              // one too big for a chunk still goes alone
	} {
		requests.Store(0)
		reps, err := c.Screen(context.Background(), tc.addrs)
		if err != nil || len(reps) != len(tc.addrs) || requests.Load() != tc.reqs {
			t.Fatalf("%d addresses: %d reports in %d requests, %v; want %d requests", len(tc.addrs), len(reps), requests.Load(), err, tc.reqs)
		}
		for i, r := range reps {
			if r.Query != tc.addrs[i] || r.Risk != risk.High {
				t.Errorf("report %d: %q %v, want %q High", i, r.Query, r.Risk, tc.addrs[i])
			}
		}
	}
	short = true
	if _, err := c.Screen(context.Background(), []string{"a", "b"}); err == nil || !strings.Contains(err.Error(), "1 reports for 2 addresses") {
		t.Errorf("short answer: %v", err)
	}
}

func TestConnect(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, `{"status":"ok"}`) })
	srv := httptest.NewServer(mux)
	defer srv.Close()
	ctx := context.Background()
	if _, err := Connect(ctx, srv.URL, 1<<30, "", Options{}); !errors.Is(err, ErrStale) { // beyond pid_max
		t.Errorf("dead pid: %v", err)
	}
	if _, err := Connect(ctx, "http://127.0.0.1:1", os.Getpid(), "", Options{}); err == nil || !strings.Contains(err.Error(), "does not answer at http://127.0.0.1:1") {
		t.Errorf("not answering: %v", err)
	}
	c, err := Connect(ctx, srv.URL, os.Getpid(), "", Options{})
	if err != nil || c.URL() != srv.URL {
		t.Errorf("live server: %v", err)
	}
}

// FuzzDecodeError feeds decodeError any body: it never panics, keeps the
// status, and a body that is not a problem shows in at most 200 bytes
// (plus the ellipsis).
func FuzzDecodeError(f *testing.F) {
	f.Add(404, "application/problem+json", []byte(`{"status":404,"title":"Not Found","detail":"x","field":"path:a","apart":{"joined":false}}`))
	f.Add(502, "text/html", []byte("<html>bad gateway</html>"))
	f.Add(400, "application/json; charset=utf-8", []byte(`{"detail":`))
	f.Add(500, "", []byte{0xff, 0xfe, 0})
	f.Fuzz(func(t *testing.T, status int, ct string, body []byte) {
		e := decodeError("GET", "/x", status, ct, body)
		if e.Status != status || e.Error() == "" {
			t.Fatalf("status %d: %+v", status, e)
		}
		if !strings.Contains(ct, "json") && len(e.Detail) > 200+len("…") {
			t.Fatalf("detail of %d bytes", len(e.Detail))
		}
		_ = e.Reason()
		_ = e.Unwrap()
	})
}
