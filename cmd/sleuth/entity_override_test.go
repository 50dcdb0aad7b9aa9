package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
)

// TestEntityOverridesCLI: a co-spend the guard refused is listed with its
// evidence, accepted by an investigator (who and why recorded and listed),
// the decision removed again; a decision without a reason and a malformed
// txid are usage errors.
func TestEntityOverridesCLI(t *testing.T) {
	work := t.TempDir()
	out, db := filepath.Join(work, "sim"), filepath.Join(work, "db")
	for _, args := range [][]string{
		{"sim", "--out", out, "--seed", "3", "--scale", "0.3"},
		{"ingest", "--db", db, "--blocks", filepath.Join(out, "blocks")},
		{"cluster", "--db", db, "--rebuild", "--guard", "2"},
	} {
		if code, stdout, stderr := runCLI(t, args...); code != 0 {
			t.Fatalf("%v: exit %d: %s %s", args, code, stdout, stderr)
		}
	}
	code, stdout, stderr := runCLI(t, "cluster", "--db", db, "--refused", "--json")
	if code != 0 {
		t.Fatalf("refused: exit %d %s", code, stderr)
	}
	var refused []struct {
		TxID     string `json:"txid"`
		Kind     string `json:"kind"`
		Reason   string `json:"reason"`
		Entities int    `json:"input_entities"`
	}
	if err := json.Unmarshal([]byte(stdout), &refused); err != nil || len(refused) == 0 {
		t.Fatalf("refused list %q: %v", stdout, err)
	}
	r := refused[0]
	if r.Kind != "multi_input" || r.Reason != "guard" || r.Entities < 2 {
		t.Fatalf("refused %+v", r)
	}
	for _, c := range []struct {
		args []string
		code int
		out  string
	}{
		{[]string{"entity", "accept", r.TxID, "--db", db}, 2, ""},
		{[]string{"entity", "reject", "zz", "--db", db, "--reason", "x"}, 2, ""},
		{[]string{"entity", "accept", r.TxID, "--db", db, "--reason", "one exchange's sweep", "--by", "alice"}, 0, "recorded: accept by alice"},
		{[]string{"entity", "overrides", "--db", db}, 0, "accept " + r.TxID},
		{[]string{"cluster", "--db", db, "--refused"}, 0, "links refused"},
		{[]string{"entity", "unset", "accept", r.TxID, "--db", db}, 0, "removed the accept decision"},
	} {
		code, stdout, stderr := runCLI(t, c.args...)
		if code != c.code || !strings.Contains(stdout, c.out) {
			t.Errorf("%v: exit %d (want %d), stdout %q, stderr %q", c.args, code, c.code, stdout, stderr)
		}
	}
	// The accepted co-spend is no longer listed as refused while accepted,
	// and is again after the decision is removed.
	_, stdout, _ = runCLI(t, "cluster", "--db", db, "--refused", "--json")
	if !strings.Contains(stdout, r.TxID) {
		t.Errorf("after unset the co-spend %s is not refused again", r.TxID)
	}
}
