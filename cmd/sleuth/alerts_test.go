package main

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestWatchAlertsWebhookCLI: the simulated theft's exchange deposits are
// watched from a file, alerts scan stores their alerts, webhook deliver
// posts each one, signed, to a receiver on loopback, and the review
// commands change an alert's status with notes.
func TestWatchAlertsWebhookCLI(t *testing.T) {
	out := simtest.Chain(t, 1, 0.3)
	db := filepath.Join(t.TempDir(), "db")
	for _, args := range [][]string{
		{"ingest", "--blocks", filepath.Join(out, "blocks")},
		{"cluster"},
		{"labels", "import", filepath.Join(out, "public", "tagpack.yaml")},
		{"risk", "update"},
	} {
		if code, _, errs := runCLI(t, append(args, "--db", db)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
	}
	seen := map[string]bool{}
	var lines []string
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "taint.csv")) {
		if r["case"] == "theft" && r["role"] == "received" && r["entity_type"] == "exchange" && !seen[r["address"]] {
			seen[r["address"]] = true
			lines = append(lines, r["address"])
		}
	}
	file := filepath.Join(t.TempDir(), "deposits.txt")
	os.WriteFile(file, []byte("# deposit addresses\n"+strings.Join(lines, "\n")+"\n"), 0o644)

	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"watch", "add", "deposits", "--file", file, "--rule", "exposure:theft>=1%", "--direction", "in", "--level", "high"}, 0, "addresses added"},
		{[]string{"watch", "add", "bad", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU"}, 2, "checksum"},
		{[]string{"watch", "add", "bad", "--rule", "exposure:pizza>=1%"}, 2, "pizza"},
		{[]string{"alerts", "scan"}, 2, "--from-height"},
		{[]string{"alerts", "show", "1"}, 1, "not found"},
		{[]string{"webhook", "add", "ftp://example.com/x"}, 2, "http"},
	} {
		code, stdout, errs := runCLI(t, append(tc.args, "--db", db)...)
		if code != tc.code || !strings.Contains(stdout+errs, tc.want) {
			t.Fatalf("%v: exit %d (want %d), %s%s (want %q)", tc.args, code, tc.code, stdout, errs, tc.want)
		}
	}

	var mu sync.Mutex
	ids := map[string]int{}
	bad := 0
	var secret []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if alert.Verify(secret, r.Header, body, time.Now(), alert.DefaultTolerance) != nil {
			bad++
		}
		ids[r.Header.Get(alert.HeaderID)]++
	}))
	defer srv.Close()
	code, stdout, errs := runCLI(t, "webhook", "add", srv.URL, "--json", "--db", db)
	var ep struct{ Secret string }
	if code != 0 || json.Unmarshal([]byte(stdout), &ep) != nil {
		t.Fatalf("webhook add: exit %d %s %s", code, stdout, errs)
	}
	secret, _ = alert.ParseSecret(ep.Secret)

	code, stdout, errs = runCLI(t, "alerts", "scan", "--from-height", "0", "--json", "--db", db)
	var res struct{ Alerts int }
	if code != 0 || json.Unmarshal([]byte(stdout), &res) != nil || res.Alerts == 0 {
		t.Fatalf("alerts scan: exit %d %s %s", code, stdout, errs)
	}
	// Loopback is refused unless allowed.
	if code, _, errs := runCLI(t, "webhook", "deliver", "--once", "--db", db); code != 0 {
		t.Fatalf("deliver: %s", errs)
	}
	if len(ids) != 0 {
		t.Fatalf("a loopback endpoint was called without --allow-loopback")
	}
	// (The refused attempt scheduled a retry 5 s later: wait for it, the
	// default schedule's first step.)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if code, _, errs := runCLI(t, "webhook", "deliver", "--once", "--allow-loopback", "--db", db); code != 0 {
			t.Fatalf("deliver: %s", errs)
		}
		mu.Lock()
		n := len(ids)
		mu.Unlock()
		if n == res.Alerts || time.Now().After(deadline) {
			break
		}
		time.Sleep(500 * time.Millisecond)
	}
	mu.Lock()
	if len(ids) != res.Alerts || bad != 0 {
		t.Fatalf("receiver: %d distinct webhook-ids (%d unverified) for %d alerts", len(ids), bad, res.Alerts)
	}
	mu.Unlock()

	for _, args := range [][]string{{"alerts", "escalate", "1", "--note", "theft deposit"}, {"alerts", "note", "1", "asked the exchange to freeze"}} {
		if code, _, errs := runCLI(t, append(args, "--db", db)...); code != 0 {
			t.Fatalf("%v: %s", args, errs)
		}
	}
	code, stdout, _ = runCLI(t, "alerts", "list", "--status", "escalated", "--json", "--db", db)
	if code != 0 || !strings.Contains(stdout, "asked the exchange to freeze") || !strings.Contains(stdout, `"status": "escalated"`) {
		t.Fatalf("alerts list --status escalated: %s", stdout)
	}
}
