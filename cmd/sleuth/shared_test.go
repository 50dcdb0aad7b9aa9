package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/pgstore"
	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// TestSharedStateCommands: with --shared DSN, sleuth watch, alerts and
// webhook work on the PostgreSQL stores a server run as sleuth serve
// --shared uses (here an api.Server wired the same way), without an
// index: a watchlist the CLI adds is the server's, an address the server
// adds is in the CLI's list, an alert the CLI reviews the server shows
// reviewed, and a webhook the CLI adds the server lists.
func TestSharedStateCommands(t *testing.T) {
	d := pgtest.FreshSchema(t)
	ctx := context.Background()
	pg, err := pgstore.Open(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pg.Close)
	pl := pipeline.New(indextest.Open(t, t.TempDir()), pipeline.Options{Alerts: pg.Alerts()})
	srv := api.New(pl, api.Options{Watchlists: pg.Watch(), Cases: pg.Cases()})
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		var r io.Reader
		if body != "" {
			r = strings.NewReader(body)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(method, path, r))
		var v map[string]any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		return rec.Code, v
	}
	cli := func(args ...string) string {
		t.Helper()
		code, out, errOut := runCLI(t, append(args, "--shared", d)...)
		if code != 0 {
			t.Fatalf("sleuth %s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		return out
	}
	const x, y = "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"

	// A watchlist added by the CLI is the server's.
	cli("watch", "add", "fleet", x, "--rule", "value>=100000", "--level", "high")
	code, v := do("GET", "/v1/watchlists", "")
	items, _ := v["items"].([]any)
	if code != 200 || len(items) != 1 {
		t.Fatalf("the server's watchlists: %d %v", code, v)
	}
	if l := items[0].(map[string]any); l["name"] != "fleet" || !strings.Contains(fmt.Sprint(l["rules"]), "value>=100000") {
		t.Fatalf("the server's list: %v", l)
	}
	if code, v := do("GET", "/v1/watchlists/1", ""); code != 200 || v["address_count"] != 1.0 {
		t.Fatalf("the server's list 1: %d %v", code, v)
	}
	// An address added through the server is in the CLI's list.
	if code, v := do("POST", "/v1/watchlists/1/items", `{"addresses":["`+y+`"]}`); code != 200 {
		t.Fatalf("add through the server: %d %v", code, v)
	}
	var lists []struct {
		Name      string   `json:"name"`
		Rules     []string `json:"rules"`
		Addresses int      `json:"addresses"`
		Listed    []string `json:"address_list"`
	}
	if err := json.Unmarshal([]byte(cli("watch", "list", "fleet", "--json")), &lists); err != nil {
		t.Fatal(err)
	}
	if len(lists) != 1 || lists[0].Addresses != 2 || strings.Join(lists[0].Listed, " ") != x+" "+y || len(lists[0].Rules) != 1 {
		t.Fatalf("the CLI's list: %+v", lists)
	}
	cli("watch", "remove", "fleet", y)
	if _, v := do("GET", "/v1/watchlists/1", ""); v["address_count"] != 1.0 {
		t.Errorf("after the CLI removed %s the server counts %v", y, v["address_count"])
	}

	// An alert the alert stage of a server stored, reviewed by the CLI,
	// is reviewed on the server.
	as, err := pg.Alerts().Create(ctx, []alert.Alert{alerttest.Sample(1, 7)})
	if err != nil {
		t.Fatal(err)
	}
	id := jsonNumber(as[0].ID)
	if out := cli("alerts", "list"); !strings.Contains(out, as[0].TxID.String()) {
		t.Errorf("the CLI's alert list misses alert %s: %q", id, out)
	}
	cli("alerts", "ack", id, "--note", "checked by the night shift")
	code, v = do("GET", "/v1/alerts/"+id, "")
	if code != 200 || v["status"] != "acknowledged" || !strings.Contains(jsonString(v["notes"]), "checked by the night shift") {
		t.Fatalf("the server's alert after the CLI's review: %d %v", code, v)
	}

	// A webhook the CLI adds the server lists; one the CLI removes it
	// no longer does.
	cli("webhook", "add", "https://hooks.example.com/sleuth")
	code, v = do("GET", "/v1/webhooks", "")
	if code != 200 || !strings.Contains(jsonString(v), "https://hooks.example.com/sleuth") {
		t.Fatalf("the server's webhooks: %d %v", code, v)
	}
	cli("webhook", "remove", "1")
	if _, v := do("GET", "/v1/webhooks", ""); strings.Contains(jsonString(v), "hooks.example.com") {
		t.Errorf("the server still lists the webhook the CLI removed: %v", v)
	}

	// An unreachable PostgreSQL is a clear error naming it, without the
	// password.
	code, _, errOut := runCLI(t, "watch", "list", "--shared", "postgres://sleuth:secret@127.0.0.1:1/sleuth?sslmode=disable&connect_timeout=2")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1") || strings.Contains(errOut, "secret") {
		t.Errorf("an unreachable store: exit %d: %s", code, errOut)
	}
	if code, _, errOut := runCLI(t, "watch", "add", "x", x, "--create", "--shared", d); code != 2 || !strings.Contains(errOut, "--create") {
		t.Errorf("--create with --shared: exit %d: %s", code, errOut)
	}
}

func jsonNumber(id uint64) string { b, _ := json.Marshal(id); return string(b) }

func jsonString(v any) string { b, _ := json.Marshal(v); return string(b) }
