package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
)

// TestRoutesInSpec: every registered route is in openapi.json with its
// method, and every path of the document is registered (A4).
func TestRoutesInSpec(t *testing.T) {
	sp := loadSpec(t)
	srv := New(newEmptyPipeline(t), Options{})
	paths := sp.doc["paths"].(map[string]any)
	seen := map[string]bool{}
	for _, r := range srv.routes {
		ops, ok := paths[r.path].(map[string]any)
		if !ok {
			t.Errorf("route %s %s is not in openapi.json", r.method, r.path)
			continue
		}
		if _, ok := ops[strings.ToLower(r.method)]; !ok {
			t.Errorf("route %s %s: method not in openapi.json", r.method, r.path)
		}
		seen[r.method+" "+r.path] = true
	}
	for p, ops := range paths {
		for m := range ops.(map[string]any) {
			if !seen[strings.ToUpper(m)+" "+p] {
				t.Errorf("openapi.json documents %s %s, which is not registered", strings.ToUpper(m), p)
			}
		}
	}
}

// TestHandlers runs each route on a simulated chain and checks the
// status, that the body validates against openapi.json and that the
// answer says what the store holds.
func TestHandlers(t *testing.T) {
	w := newWorld(t, 0)
	sp := loadSpec(t)
	tip := w.db.Tip()
	cases := []step{
		{"status", "GET", "/v1/status", "", 200, func(t *testing.T, v any) {
			m := v.(map[string]any)
			if m["height"].(float64) != float64(tip.Height) {
				t.Errorf("status height %v, tip %d", m["height"], tip.Height)
			}
			for _, s := range m["stages"].([]any) {
				if h := s.(map[string]any)["height"]; h != float64(tip.Height) {
					t.Errorf("stage %v at %v, tip %d", s.(map[string]any)["name"], h, tip.Height)
				}
			}
			if len(m["label_sources"].([]any)) != 2 {
				t.Errorf("label sources %v, want the TagPack and the list", m["label_sources"])
			}
		}},
		{"address", "GET", "/v1/addresses/" + w.addr, "", 200, func(t *testing.T, v any) {
			if v.(map[string]any)["address"] != w.addr || v.(map[string]any)["entity"] == nil {
				t.Errorf("address view %v", v)
			}
		}},
		{"address bad", "GET", "/v1/addresses/1notanaddress", "", 400, field("path:address")},
		{"address unknown", "GET", "/v1/addresses/bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4", "", 404, nil},
		{"address txs", "GET", "/v1/addresses/" + w.addr + "/transactions?limit=1", "", 200, func(t *testing.T, v any) {
			m := v.(map[string]any)
			if len(m["items"].([]any)) != 1 || m["next_cursor"] == "" {
				t.Errorf("first page of 1: %v", m)
			}
		}},
		{"address txs limit", "GET", "/v1/addresses/" + w.addr + "/transactions?limit=0", "", 400, field("query:limit")},
		{"address txs cursor", "GET", "/v1/addresses/" + w.addr + "/transactions?cursor=zz", "", 400, field("query:cursor")},
		{"tx", "GET", "/v1/transactions/" + w.txid, "", 200, func(t *testing.T, v any) {
			if v.(map[string]any)["txid"] != w.txid {
				t.Errorf("tx %v", v)
			}
		}},
		{"tx bad", "GET", "/v1/transactions/xyz", "", 400, field("path:txid")},
		{"tx unknown", "GET", "/v1/transactions/" + strings.Repeat("ab", 32), "", 404, nil},
		{"block height", "GET", "/v1/blocks/1", "", 200, func(t *testing.T, v any) {
			if v.(map[string]any)["height"] != 1.0 {
				t.Errorf("block %v", v)
			}
		}},
		{"block tip hash", "GET", "/v1/blocks/" + tip.Hash.String(), "", 200, nil},
		{"block past tip", "GET", "/v1/blocks/99999999", "", 404, nil},
		{"block bad", "GET", "/v1/blocks/-1x", "", 400, field("path:ref")},
		{"entity by address", "GET", "/v1/entities/" + w.addr, "", 200, nil},
		{"entity by id", "GET", "/v1/entities/1", "", 200, nil},
		{"entity past end", "GET", "/v1/entities/18446744073709551615", "", 404, nil},
		{"entity bad", "GET", "/v1/entities/1zz", "", 400, field("path:id")},
		{"entity addresses", "GET", "/v1/entities/" + w.addr + "/addresses?limit=1", "", 200, nil},
		{"entity addresses cursor", "GET", "/v1/entities/" + w.addr + "/addresses?cursor=nope", "", 400, field("query:cursor")},
		{"explain self", "GET", "/v1/entities/" + w.addr + "/explain?other=" + w.addr, "", 200, nil},
		{"explain missing", "GET", "/v1/entities/" + w.addr + "/explain", "", 400, field("query:other")},
		{"explain apart", "GET", "/v1/entities/" + w.addr + "/explain?other=" + w.sanctioned, "", 0, nil},
		{"labels", "GET", "/v1/labels/" + w.sanctioned, "", 200, func(t *testing.T, v any) {
			if len(v.([]any)) == 0 {
				t.Error("no labels on the listed address")
			}
		}},
		{"labels as_of", "GET", "/v1/labels/" + w.sanctioned + "?as_of=2024-13-01", "", 400, field("query:as_of")},
		{"screen", "GET", "/v1/screen/" + w.sanctioned, "", 200, func(t *testing.T, v any) {
			if v.(map[string]any)["risk"] == "none" || v.(map[string]any)["risk"] == "" {
				t.Errorf("listed address screened %v", v.(map[string]any)["risk"])
			}
		}},
		{"screen bad", "GET", "/v1/screen/bc1qnope", "", 400, field("path:address")},
		{"screen batch", "POST", "/v1/screen", `["` + w.sanctioned + `","` + w.addr + `","bad"]`, 200, func(t *testing.T, v any) {
			rs := v.([]any)
			if len(rs) != 3 {
				t.Fatalf("batch %v", v)
			}
			first, bad := rs[0].(map[string]any), rs[2].(map[string]any)
			if first["status"] != "assessed" || first["risk"] != "Severe" {
				t.Errorf("listed address: %v %v", first["status"], first["risk"])
			}
			if bad["status"] != "invalid" || bad["risk"] != nil || bad["reason"] == nil {
				t.Errorf("malformed address: status %v risk %v reason %v", bad["status"], bad["risk"], bad["reason"])
			}
		}},
		{"exposure", "GET", "/v1/exposure/" + w.sanctioned, "", 200, func(t *testing.T, v any) {
			m := v.(map[string]any)
			if e := m["exposure"].(map[string]any); e["status"] != "assessed" || e["risk"] != "Severe" || m["received_paths"] != nil {
				t.Errorf("exposure %v", v)
			}
		}},
		{"exposure paths", "GET", "/v1/exposure/" + w.addr + "?paths=true", "", 200, func(t *testing.T, v any) {
			m := v.(map[string]any)
			if m["received_paths"] == nil || m["sent_paths"] == nil {
				t.Errorf("no paths: %v", v)
			}
		}},
		{"exposure txid", "GET", "/v1/exposure/" + w.txid, "", 200, nil},
		{"exposure entity", "GET", "/v1/exposure/0", "", 200, nil},
		{"exposure bad", "GET", "/v1/exposure/bc1qnope", "", 400, field("path:ref")},
		{"exposure bad paths", "GET", "/v1/exposure/" + w.addr + "?paths=maybe", "", 400, field("query:paths")},
		{"screen batch not array", "POST", "/v1/screen", `{"a":1}`, 400, field("body")},
		{"screen batch empty body", "POST", "/v1/screen", ``, 400, field("body")},
		{"screen batch trailing", "POST", "/v1/screen", `[] []`, 400, field("body")},
		{"chainalysis listed", "GET", "/api/v1/address/" + w.sanctioned, "", 200, func(t *testing.T, v any) {
			ids := v.(map[string]any)["identifications"].([]any)
			if len(ids) != 1 || ids[0].(map[string]any)["category"] != "sanctions" {
				t.Errorf("identifications %v", ids)
			}
		}},
		{"chainalysis clean", "GET", "/api/v1/address/" + w.addr, "", 200, func(t *testing.T, v any) {
			if ids := v.(map[string]any)["identifications"].([]any); len(ids) != 0 {
				t.Errorf("identifications of an unlisted address %v", ids)
			}
		}},
		{"chainalysis bad", "GET", "/api/v1/address/zzz", "", 400, field("path:address")},
		{"trm", "POST", "/public/v1/sanctions/screening", `[{"address":"` + w.sanctioned + `"},{"address":"` + w.addr + `"}]`, 200, func(t *testing.T, v any) {
			rs := v.([]any)
			if rs[0].(map[string]any)["isSanctioned"] != true || rs[1].(map[string]any)["isSanctioned"] != false {
				t.Errorf("trm %v", v)
			}
		}},
		{"trm bad address", "POST", "/public/v1/sanctions/screening", `[{"address":"` + w.addr + `"},{"address":"nope"}]`, 400, field("body[1].address")},
		{"trm missing address", "POST", "/public/v1/sanctions/screening", `[{}]`, 400, field("body[0].address")},
		{"search", "GET", "/v1/search?q=SANCTION", "", 200, func(t *testing.T, v any) {
			found := false
			for _, it := range v.(map[string]any)["items"].([]any) {
				found = found || it.(map[string]any)["address"] == w.sanctioned
			}
			if !found {
				t.Errorf("search for the list's category misses its address: %v", v)
			}
		}},
		{"search none", "GET", "/v1/search?q=no+such+label+anywhere", "", 200, func(t *testing.T, v any) {
			if m := v.(map[string]any); len(m["items"].([]any)) != 0 || m["more"] != false {
				t.Errorf("hits for nonsense: %v", v)
			}
		}},
		{"search limit", "GET", "/v1/search?q=a&limit=1", "", 200, func(t *testing.T, v any) {
			if n := len(v.(map[string]any)["items"].([]any)); n > 1 {
				t.Errorf("%d hits past limit 1", n)
			}
		}},
		{"search empty", "GET", "/v1/search?q=+", "", 400, field("query:q")},
		{"search long", "GET", "/v1/search?q=" + strings.Repeat("x", 201), "", 400, field("query:q")},
		{"search bad limit", "GET", "/v1/search?q=a&limit=0", "", 400, field("query:limit")},
		{"openapi", "GET", "/openapi.json", "", 200, nil},
		{"metrics", "GET", "/metrics", "", 200, nil},
		{"healthz", "GET", "/healthz", "", 200, nil},
		{"readyz", "GET", "/readyz", "", 200, nil},
		{"no route", "GET", "/v2/nothing", "", 404, nil},
		{"method", "DELETE", "/v1/status", "", 405, nil},
		{"method post", "PUT", "/v1/screen", "[]", 405, nil},
	}
	w.run(t, sp, cases)
	// Paging walks every transaction of the address once.
	var all []string
	cursor := ""
	for range 1000 {
		resp := w.do(t, "GET", "/v1/addresses/"+w.addr+"/transactions?limit=1&cursor="+cursor, nil)
		var p Page[index.AddressTxView]
		if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Items {
			all = append(all, r.TxID)
		}
		if cursor = p.NextCursor; cursor == "" {
			break
		}
	}
	v, err := w.db.Address(w.addr)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(len(all)) != v.TxCount {
		t.Errorf("paged %d transactions, the address has %d", len(all), v.TxCount)
	}
	// A client's request id is echoed; a hostile one is replaced.
	if got := w.do(t, "GET", "/healthz", nil, "X-Request-Id", "abc-123").Header.Get("X-Request-Id"); got != "abc-123" {
		t.Errorf("request id %q, want the client's", got)
	}
	if got := w.do(t, "GET", "/healthz", nil, "X-Request-Id", "a\"b<script>").Header.Get("X-Request-Id"); strings.ContainsAny(got, "\"<") {
		t.Errorf("request id %q echoed unsanitised", got)
	}
	// The metrics name the routes served.
	resp := w.do(t, "GET", "/metrics", nil)
	b, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`sleuth_http_requests_total{code="200",route="GET /v1/status"}`, "sleuth_http_request_duration_seconds_bucket", "sleuth_tip_height", "sleuth_block_lag_seconds", "sleuth_stage_duration_seconds"} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

// TestBatchLimits: a body past the limit is a 413, as is a batch of more
// addresses than MaxBatch.
func TestBatchLimits(t *testing.T) {
	w := newWorld(t, 0)
	w.srv.opts.MaxBatch = 3
	sp := loadSpec(t)
	for _, c := range []struct {
		path, body string
	}{
		{"/v1/screen", `["a","b","c","d"]`},
		{"/public/v1/sanctions/screening", `[{"address":"a"},{"address":"b"},{"address":"c"},{"address":"d"}]`},
		{"/v1/screen", `["` + strings.Repeat("x", 3<<20) + `"]`},
	} {
		resp := w.do(t, "POST", c.path, strings.NewReader(c.body))
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s with %d bytes: status %d: %.200s", c.path, len(c.body), resp.StatusCode, b)
		}
		if err := sp.check("POST", c.path, resp, b); err != nil {
			t.Fatal(err)
		}
	}
}

// check runs the index's full consistency check.
func checkStore(t testing.TB, db *index.DB) {
	t.Helper()
	r, err := db.Check(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !r.OK() {
		t.Fatalf("store problems: %v", r.Problems)
	}
}

// TestUIMounted: the server serves the investigation UI at / and its
// assets at /ui/, open like the API description (the data routes keep
// their keys), with the UI's Content-Security-Policy.
func TestUIMounted(t *testing.T) {
	w := newWorld(t, 0)
	for _, c := range []struct {
		path string
		want int
		typ  string
	}{
		{"/", 200, "text/html"},
		{"/ui/app.js", 200, "javascript"},
		{"/ui/missing.js", 404, ""},
	} {
		resp := w.do(t, "GET", c.path, nil)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("%s: status %d, want %d", c.path, resp.StatusCode, c.want)
			continue
		}
		if c.want == 200 {
			if ct := resp.Header.Get("Content-Type"); !strings.Contains(ct, c.typ) {
				t.Errorf("%s: Content-Type %q", c.path, ct)
			}
			if !strings.Contains(resp.Header.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("%s: no CSP", c.path)
			}
		}
	}
}
