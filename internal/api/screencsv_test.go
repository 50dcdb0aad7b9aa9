package api

import (
	"encoding/csv"
	"io"
	"strings"
	"testing"
)

// TestScreenCSV: POST /v1/screen reads CSV bodies as sleuth screen --csv
// does (a header naming the address column, or one address per line; a
// bad row is an invalid report naming its line) and answers CSV when
// asked; more rows than the limit is a 413 naming it.
func TestScreenCSV(t *testing.T) {
	w := newWorld(t, 0)
	csvIn := []string{"Content-Type", "text/csv"}
	both := []string{"Content-Type", "text/csv", "Accept", "text/csv"}
	statuses := func(want ...string) func(t *testing.T, v map[string]any) {
		return func(t *testing.T, v map[string]any) {
			rs := v["items"].([]any)
			if len(rs) != len(want) {
				t.Fatalf("%d reports, want %d: %v", len(rs), len(want), rs)
			}
			for i, r := range rs {
				m := r.(map[string]any)
				got := m["status"].(string)
				if got == "assessed" {
					got = m["risk"].(string)
				}
				if got != want[i] {
					t.Errorf("row %d: %s (%v), want %s", i, got, m["reason"], want[i])
				}
			}
		}
	}
	limit := apiCase{name: "the limit", method: "POST", path: "/v1/screen", body: strings.Repeat(w.addr+"\n", 10_000), hdr: csvIn, want: 200, check: func(t *testing.T, v map[string]any) {
		if n := len(v["items"].([]any)); n != 10_000 {
			t.Errorf("%d reports", n)
		}
	}}
	if testing.Short() { // 10,000 screens are slow under -race
		limit.body, limit.check = strings.Repeat(w.addr+"\n", 10), nil
	}
	runAPICases(t, w, []apiCase{
		limit,
		{name: "one per line", method: "POST", path: "/v1/screen", body: w.sanctioned + "\n\n" + w.addr + "\r\nnope\n", hdr: csvIn, want: 200, check: statuses("Severe", "Low", "invalid")},
		{name: "header", method: "POST", path: "/v1/screen", body: "id,Address,note\n1," + w.sanctioned + ",x\n2,,empty\n3," + w.addr + ",y,extra\n", hdr: csvIn, want: 200, check: statuses("Severe", "invalid", "invalid")},
		{name: "named column", method: "POST", path: "/v1/screen?column=wallet", body: "wallet,amount\n" + w.sanctioned + ",5\n", hdr: csvIn, want: 200, check: statuses("Severe")},
		{name: "no address column", method: "POST", path: "/v1/screen", body: "a,b\n1,2\n", hdr: csvIn, want: 400, check: wantField("body")},
		{name: "column not there", method: "POST", path: "/v1/screen?column=wallet", body: "a,b\n1,2\n", hdr: csvIn, want: 400, check: wantField("body")},
		{name: "too many rows", method: "POST", path: "/v1/screen", body: strings.Repeat(w.addr+"\n", 10_001), hdr: csvIn, want: 413, check: func(t *testing.T, v map[string]any) {
			if !strings.Contains(v["detail"].(string), "at most 10000") {
				t.Errorf("detail %v does not name the limit", v["detail"])
			}
		}},
		{name: "csv answer", method: "POST", path: "/v1/screen", body: "id,address\n1," + w.sanctioned + "\n", hdr: both, want: 200},
		{name: "json body csv answer", method: "POST", path: "/v1/screen", body: `["` + w.addr + `"]`, hdr: []string{"Accept", "text/csv"}, want: 200},
	})
	// The CSV answer: the input's columns, then the screening's, one row
	// per input row, as sleuth screen --out csv writes it.
	resp := w.do(t, "POST", "/v1/screen", strings.NewReader("id,address\n1,"+w.sanctioned+"\n2,nope\n"), both...)
	rows, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("content type %q", ct)
	}
	if len(rows) != 3 || rows[0][0] != "id" || rows[0][1] != "address" || rows[0][3] != "status" || rows[0][5] != "risk" {
		t.Fatalf("csv answer %q", rows)
	}
	if rows[1][1] != w.sanctioned || rows[1][5] != "Severe" || rows[2][3] != "invalid" || rows[2][2] != "3" {
		t.Errorf("csv rows %q", rows[1:])
	}
	resp = w.do(t, "POST", "/v1/screen", strings.NewReader(`["`+w.addr+`"]`), "Accept", "text/csv")
	b, _ := io.ReadAll(resp.Body)
	if !strings.HasPrefix(string(b), "address,line,status") {
		t.Errorf("JSON body answered as CSV: %.300s", b)
	}
}
