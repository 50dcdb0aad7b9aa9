package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// withKeys creates a key of each scope, rate-limited to rate per second,
// and gives w a server that requires them; it returns their secrets.
func withKeys(t testing.TB, w *world, rate float64) (map[apikey.Scope]string, *apikey.Set) {
	t.Helper()
	ctx := context.Background()
	secrets := map[apikey.Scope]string{}
	err := w.pl.Write(func(db *index.DB) error {
		for _, sc := range []apikey.Scope{apikey.Read, apikey.Screen, apikey.Write} {
			_, s, err := apikey.Create(ctx, apikey.NewDB(db), sc.String()+" client", sc)
			if err != nil {
				return err
			}
			secrets[sc] = s
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var keys *apikey.Set
	if err := w.pl.Read(func(db *index.DB) (err error) { keys, err = apikey.Load(ctx, apikey.NewDB(db), rate); return err }); err != nil {
		t.Fatal(err)
	}
	w.srv = New(w.pl, Options{Keys: keys})
	return secrets, keys
}

// TestAPIKeys: with keys configured every data route needs a valid key of
// the right scope, health checks and the description stay open, a spent
// rate answers 429 with Retry-After, and a public listen address is
// accepted.
func TestAPIKeys(t *testing.T) {
	w := newWorld(t, 0)
	secrets, keys := withKeys(t, w, 1)
	status := "/v1/status"
	screen := "/v1/screen/" + w.sanctioned
	cases := []struct {
		name, path string
		hdr        []string
		want       int
	}{
		{"no key", status, nil, 401},
		{"bad key", status, []string{"X-API-Key", "sk_1_nope"}, 401},
		{"read key", status, []string{"X-API-Key", secrets[apikey.Read]}, 200},
		{"read key as bearer", "/v1/addresses/" + w.addr, []string{"Authorization", "Bearer " + secrets[apikey.Read]}, 200},
		{"write key screening", screen, []string{"X-API-Key", secrets[apikey.Write]}, 200},
		{"screen key screening", screen, []string{"X-API-Key", secrets[apikey.Screen]}, 200},
		{"screen key lookup", "/v1/addresses/" + w.addr, []string{"X-API-Key", secrets[apikey.Screen]}, 403},
		{"read key on screening", screen, []string{"X-API-Key", secrets[apikey.Read]}, 403},
		{"chainalysis drop-in", "/api/v1/address/" + w.sanctioned, []string{"X-API-Key", secrets[apikey.Screen]}, 200},
		{"health open", "/healthz", nil, 200},
		{"description open", "/openapi.json", nil, 200},
		{"metrics need a key", "/metrics", nil, 401},
	}
	for _, c := range cases {
		resp := w.do(t, "GET", c.path, nil, c.hdr...)
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.want {
			t.Errorf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.want, body)
			continue
		}
		if c.want >= 400 {
			var p Problem
			if err := json.Unmarshal(body, &p); err != nil || p.Status != c.want || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s: problem %q", c.name, body)
			}
			if c.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("%s: no WWW-Authenticate", c.name)
			}
		}
	}
	// Rate 1/s, burst 2: the write key has spent 1 above; the third
	// request in a row is refused with Retry-After.
	codes := []int{}
	for range 3 {
		resp := w.do(t, "GET", status, nil, "X-API-Key", secrets[apikey.Write])
		codes = append(codes, resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests && resp.Header.Get("Retry-After") == "" {
			t.Error("429 without Retry-After")
		}
	}
	if codes[len(codes)-1] != http.StatusTooManyRequests {
		t.Errorf("codes %v: want the burst spent", codes)
	}
	if err := CheckListen("0.0.0.0:8334", keys); err != nil {
		t.Errorf("public listen with keys: %v", err)
	}
	if err := CheckListen("0.0.0.0:8334", nil); err == nil || !strings.Contains(err.Error(), "apikey create") {
		t.Errorf("public listen without keys: %v", err)
	}
}

// TestScreenKeyStatus: a screen-only key may read /v1/status (the basis
// every screening answer cites, which the CLI prints beside a batch) but
// no lookup.
func TestScreenKeyStatus(t *testing.T) {
	w := newWorld(t, 0)
	secrets, _ := withKeys(t, w, 0)
	for _, c := range []struct {
		path string
		want int
	}{
		{"/v1/status", 200},
		{"/v1/addresses/" + w.addr, 403},
		{"/v1/screen/" + w.addr, 200},
	} {
		if resp := w.do(t, "GET", c.path, nil, "X-API-Key", secrets[apikey.Screen]); resp.StatusCode != c.want {
			t.Errorf("%s with a screen key: %d, want %d", c.path, resp.StatusCode, c.want)
		}
	}
}
