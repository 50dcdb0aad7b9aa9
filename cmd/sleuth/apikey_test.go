package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/pgstore/pgtest"
)

// TestAPIKeyShared: sleuth apikey create, list and revoke work on the
// shared store, and an unreachable one is a clear error.
func TestAPIKeyShared(t *testing.T) {
	d := pgtest.FreshSchema(t)
	code, out, errOut := runCLI(t, "apikey", "create", "--shared", d, "--name", "deposit pipeline", "--scope", "screen", "--json")
	if code != 0 {
		t.Fatalf("create: exit %d: %s", code, errOut)
	}
	var created struct {
		ID     uint32 `json:"id"`
		Scope  string `json:"scope"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &created); err != nil || created.ID != 1 || created.Scope != "screen" || !strings.HasPrefix(created.Secret, "sk_1_") {
		t.Fatalf("create printed %q (%v)", out, err)
	}
	list := func() []map[string]any {
		t.Helper()
		code, out, errOut := runCLI(t, "apikey", "list", "--shared", d, "--json")
		if code != 0 {
			t.Fatalf("list: exit %d: %s", code, errOut)
		}
		var rows []map[string]any
		if err := json.Unmarshal([]byte(out), &rows); err != nil {
			t.Fatalf("list printed %q: %v", out, err)
		}
		return rows
	}
	if rows := list(); len(rows) != 1 || rows[0]["name"] != "deposit pipeline" || rows[0]["revoked"] != false || strings.Contains(rows[0]["name"].(string), created.Secret) {
		t.Fatalf("list: %v", rows)
	}
	if code, out, errOut := runCLI(t, "apikey", "revoke", "--shared", d, "1"); code != 0 || !strings.Contains(out, "within a second") {
		t.Fatalf("revoke: exit %d: %s %s", code, out, errOut)
	}
	if rows := list(); len(rows) != 1 || rows[0]["revoked"] != true {
		t.Fatalf("list after revoke: %v", rows)
	}
	if code, _, errOut := runCLI(t, "apikey", "revoke", "--shared", d, "7"); code == 0 || !strings.Contains(errOut, "no key 7") {
		t.Errorf("revoke of an unknown key: exit %d: %s", code, errOut)
	}
	code, _, errOut = runCLI(t, "apikey", "list", "--shared", "postgres://sleuth:secret@127.0.0.1:1/sleuth?sslmode=disable&connect_timeout=2")
	if code == 0 || !strings.Contains(errOut, "127.0.0.1") || strings.Contains(errOut, "secret") {
		t.Errorf("an unreachable store: exit %d: %s", code, errOut)
	}
}
