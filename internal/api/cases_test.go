package api

import (
	"encoding/json"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/pdf/pdftest"
)

// TestCases walks a case through its routes: every answer validates
// against openapi.json, refused edits name their field, and the audit
// log and the report hold every edit.
func TestCases(t *testing.T) {
	w := newWorld(t, 0)
	sp := loadSpec(t)
	type tc struct {
		name, method, path, body string
		want                     int
		check                    func(t *testing.T, v map[string]any)
	}
	field := func(f string) func(t *testing.T, v map[string]any) {
		return func(t *testing.T, v map[string]any) {
			if v["field"] != f {
				t.Errorf("field %v, want %q", v["field"], f)
			}
		}
	}
	for _, c := range []tc{
		{"create", "POST", "/v1/cases", `{"name":"Hanbit theft","description":"<script>alert(1)</script>","sources":["` + w.txid + `"]}`, 201, func(t *testing.T, v map[string]any) {
			if v["id"] != 1.0 || v["created_by"] != "local" || len(v["sources"].([]any)) != 1 {
				t.Errorf("created %v", v)
			}
		}},
		{"create second", "POST", "/v1/cases", `{"name":"second"}`, 201, nil},
		{"create no name", "POST", "/v1/cases", `{"name":"  "}`, 422, field("body.name")},
		{"create bad source", "POST", "/v1/cases", `{"name":"x","sources":["a b"]}`, 422, field("body.sources[0]")},
		{"create bad json", "POST", "/v1/cases", `{"name":`, 400, field("body")},
		{"create wrong type", "POST", "/v1/cases", `{"name":7}`, 400, field("body")},
		{"get", "GET", "/v1/cases/1", "", 200, nil},
		{"get missing", "GET", "/v1/cases/99", "", 404, nil},
		{"get bad id", "GET", "/v1/cases/x", "", 400, field("path:id")},
		{"get zero id", "GET", "/v1/cases/0", "", 400, field("path:id")},
		{"sources", "POST", "/v1/cases/1/sources", `{"sources":["` + w.addr + `","` + w.txid + `"]}`, 200, func(t *testing.T, v map[string]any) {
			if len(v["sources"].([]any)) != 2 {
				t.Errorf("sources %v: want the new address added and the txid not twice", v["sources"])
			}
		}},
		{"note", "POST", "/v1/cases/1/notes", `{"text":"funds reached an exchange"}`, 200, nil},
		{"note empty", "POST", "/v1/cases/1/notes", `{"text":""}`, 422, field("body.text")},
		{"note missing case", "POST", "/v1/cases/42/notes", `{"text":"x"}`, 404, nil},
		{"label", "POST", "/v1/cases/1/labels", `{"ref":"` + w.addr + `","label":"thief","category":"theft"}`, 200, nil},
		{"trace", "POST", "/v1/cases/1/traces", `{"sources":["` + w.txid + `"],"hops":5}`, 200, func(t *testing.T, v map[string]any) {
			trs := v["traces"].([]any)
			if len(trs) != 1 {
				t.Fatalf("traces %v", trs)
			}
			tr := trs[0].(map[string]any)
			if tr["height"] != float64(w.db.Tip().Height) || tr["params"].(map[string]any)["hops"] != 5.0 || tr["summary"].(map[string]any)["totals"] == nil {
				t.Errorf("saved trace %v", tr)
			}
		}},
		{"trace bad source", "POST", "/v1/cases/1/traces", `{"sources":["nope"]}`, 400, field("body.sources[0]")},
		{"trace missing case", "POST", "/v1/cases/9/traces", `{"sources":["` + w.txid + `"]}`, 404, nil},
		{"status", "POST", "/v1/cases/1/status", `{"status":"closed"}`, 200, func(t *testing.T, v map[string]any) {
			if v["status"] != "closed" {
				t.Errorf("status %v", v["status"])
			}
		}},
		{"status bad", "POST", "/v1/cases/1/status", `{"status":"gone"}`, 422, field("body.status")},
		{"list", "GET", "/v1/cases?limit=1", "", 200, func(t *testing.T, v map[string]any) {
			if len(v["items"].([]any)) != 1 || v["next_cursor"] != "1" {
				t.Errorf("first page %v", v)
			}
		}},
		{"list second page", "GET", "/v1/cases?limit=1&cursor=1", "", 200, func(t *testing.T, v map[string]any) {
			if items := v["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != 2.0 || v["next_cursor"] != "" {
				t.Errorf("second page %v", v)
			}
		}},
		{"list bad cursor", "GET", "/v1/cases?cursor=zz", "", 400, field("query:cursor")},
		{"list bad limit", "GET", "/v1/cases?limit=0", "", 400, field("query:limit")},
		{"audit", "GET", "/v1/cases/1/audit", "", 200, func(t *testing.T, v map[string]any) {
			var acts []string
			for _, e := range v["items"].([]any) {
				acts = append(acts, e.(map[string]any)["action"].(string))
			}
			if strings.Join(acts, ",") != "create,add_sources,add_note,add_label,add_trace,set_status" {
				t.Errorf("audit %v: refused edits must not appear, accepted ones must", acts)
			}
		}},
		{"audit missing", "GET", "/v1/cases/7/audit", "", 404, nil},
		{"report", "GET", "/v1/cases/1/report", "", 200, nil},
		{"report pdf", "GET", "/v1/cases/1/report?format=pdf", "", 200, nil},
		{"report bad format", "GET", "/v1/cases/1/report?format=doc", "", 400, field("query:format")},
		{"report pdf missing", "GET", "/v1/cases/3/report?format=pdf", "", 404, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.method == "POST" {
				body = strings.NewReader(c.body)
			}
			resp := w.do(t, c.method, c.path, body)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if err := sp.check(c.method, c.path, resp, b); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if c.name == "report" {
				html := string(b)
				for _, want := range []string{"Hanbit theft", "funds reached an exchange", "thief", "set_status", w.txid, "&lt;script&gt;", "Trace 1:", "transactions read",
					"traces: fifo forward.", "precision 1.000000, recall 0.6310"} {
					if !strings.Contains(html, want) {
						t.Errorf("report lacks %q", want)
					}
				}
				if strings.Contains(html, "<script>") {
					t.Error("report carries a script from the case's description")
				}
				return
			}
			if c.name == "report pdf" {
				checkReportPDF(t, w, b)
				return
			}
			if c.check != nil {
				var v map[string]any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				c.check(t, v)
			}
		})
	}
}

// checkReportPDF: the PDF report holds what the HTML one does, read
// back by pdftotext: the case, the note, the label, the audit log, each
// cash-out entity's amount and every txid of its evidence paths.
func checkReportPDF(t *testing.T, w *world, b []byte) {
	text := pdftest.Squeeze(pdftest.Text(t, b))
	want := []string{"Hanbit theft", "<script>alert(1)</script>", "funds reached an exchange", "thief", "set_status", w.txid, w.addr,
		"Trace 1:", "transactions read", "Methodology", "page 1 of", "Policies of this case's traces: fifo forward.", "recall 0.9906, false exposure 0.27%"}
	resp := w.do(t, "GET", "/v1/cases/1", nil)
	var c struct {
		Traces []struct {
			Summary caseTraceSummary `json:"summary"`
		} `json:"traces"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || len(c.Traces) != 1 {
		t.Fatalf("case: %v %+v", err, c)
	}
	sum := c.Traces[0].Summary
	want = append(want, reportBTC(sum.Totals.Source), reportBTC(sum.Totals.CashedOut))
	for _, e := range sum.CashOuts {
		want = append(want, entityName(e.Label, e.ID), reportBTC(e.Sats))
		for _, p := range e.Paths {
			want = append(want, p.TxIDs...)
		}
	}
	t.Logf("the report's trace reached %d cash-out entities; %d strings checked", len(sum.CashOuts), len(want))
	for _, s := range want {
		if !strings.Contains(text, pdftest.Squeeze(s)) {
			t.Errorf("the PDF report lacks %q", s)
		}
	}
}

// TestReportAccuracy holds every number the report's methodology cites
// to docs/ACCURACY.md, so the report cannot quote a figure the
// measurements do not have.
func TestReportAccuracy(t *testing.T) {
	b, err := os.ReadFile("../../docs/ACCURACY.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	num := regexp.MustCompile(`\d[\d,.]*\d%?|\d%?`)
	for _, r := range reportAccuracy {
		for _, n := range num.FindAllString(r.Figure+" "+r.Where, -1) {
			if n == "10" || n == "50" { // "10M chain", "50 hops": named in prose
				continue
			}
			if !strings.Contains(doc, n) {
				t.Errorf("%s: %q cites %s, which docs/ACCURACY.md does not hold", r.What, r.Figure+"; "+r.Where, n)
			}
		}
	}
}

// TestCasesKeys: reading a case needs a read key, editing it a write key,
// and the audit log names the key that made each edit.
func TestCasesKeys(t *testing.T) {
	w := newWorld(t, 0)
	secrets, _ := withKeys(t, w, 0)
	for _, c := range []struct {
		method, path, body, key string
		want                    int
	}{
		{"POST", "/v1/cases", `{"name":"x"}`, "", 401},
		{"POST", "/v1/cases", `{"name":"x"}`, secrets[apikey.Read], 403},
		{"POST", "/v1/cases", `{"name":"x"}`, secrets[apikey.Write], 201},
		{"GET", "/v1/cases/1", "", secrets[apikey.Read], 200},
		{"POST", "/v1/cases/1/notes", `{"text":"n"}`, secrets[apikey.Read], 403},
		{"GET", "/v1/cases/1/report", "", "", 401},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		var hdr []string
		if c.key != "" {
			hdr = []string{"X-API-Key", c.key}
		}
		if resp := w.do(t, c.method, c.path, body, hdr...); resp.StatusCode != c.want {
			t.Errorf("%s %s with %q: %d, want %d", c.method, c.path, c.key, resp.StatusCode, c.want)
		}
	}
	resp := w.do(t, "GET", "/v1/cases/1/audit", nil, "X-API-Key", secrets[apikey.Read])
	var p struct {
		Items []struct{ By string } `json:"items"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil || len(p.Items) != 1 || !strings.HasPrefix(p.Items[0].By, "write client (key ") {
		t.Errorf("audit %+v %v: want the write key's name", p, err)
	}
}
