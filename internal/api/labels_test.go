package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// ofacData is the real OFAC excerpt (see shared/data/ofac/PROVENANCE.md).
const ofacData = "../../../shared/data/ofac"

// TestLabelWrites adds, removes and imports labels over HTTP: each write
// goes through the pipeline, says what changed and the generation after
// it, and the next screen answers from the new labels. Bad input is a 4xx
// naming the field (or the importer's line) and stores nothing.
func TestLabelWrites(t *testing.T) {
	w := newWorld(t, 0)
	var entity uint64
	if err := w.pl.Read(func(db *index.DB) error {
		e, err := query.EntityOfAddress(db, w.addr)
		if e != nil {
			entity = *e
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var before string // w.addr's risk before any write
	var id float64    // the label id POST /v1/labels answers
	gen := w.pl.Generation()
	risk := func(want func(string) bool, what string) func(t *testing.T, v map[string]any) {
		return func(t *testing.T, v map[string]any) {
			got, _ := v["risk"].(string)
			if before == "" {
				before = got
			}
			if !want(got) {
				t.Errorf("risk %q, want %s (before the writes: %q)", got, what, before)
			}
		}
	}
	is := func(s string) func(string) bool { return func(x string) bool { return x == s } }
	isBefore := func(x string) bool { return x == before }
	labelsOf := func(want int) func(t *testing.T, v map[string]any) {
		return func(t *testing.T, v map[string]any) {
			n := 0
			for _, l := range v["items"].([]any) {
				if l.(map[string]any)["source"] == "case 12" {
					n++
				}
			}
			if n != want {
				t.Errorf("%d labels of source case 12, want %d", n, want)
			}
		}
	}
	wrote := func(check func(t *testing.T, v map[string]any)) func(t *testing.T, v map[string]any) {
		return func(t *testing.T, v map[string]any) {
			g := v["generation"].(float64)
			if g <= float64(gen) {
				t.Errorf("generation %v, not after %d", g, gen)
			}
			gen = uint64(g)
			if v["exposure"] == nil {
				t.Error("no exposure update on a clustered store")
			}
			check(t, v)
		}
	}
	sanction := `{"address":"` + w.addr + `","category":"sanction","abuse":"sanction","label":"Test sanction","source":"case 12","confidence":90,"description":"from the HTTP test","listed_from":"2024-01-01"}`
	list := w.addr + "\n"
	deleteID := func() string { return fmt.Sprintf("/v1/labels/%d", int(id)) }
	cases := []apiCase{
		{name: "screen before", method: "GET", path: "/v1/screen/" + w.addr, want: 200, check: risk(func(s string) bool { return s != "Severe" }, "not Severe")},
		{name: "add", method: "POST", path: "/v1/labels", body: sanction, want: 200, check: wrote(func(t *testing.T, v map[string]any) {
			a := v["added"].([]any)
			if len(a) != 1 || a[0].(map[string]any)["address"] != w.addr || a[0].(map[string]any)["entity"] != false {
				t.Fatalf("added %v", a)
			}
			id = a[0].(map[string]any)["id"].(float64)
			// A label write's answer names what its exposure update changed.
			e := v["exposure"].(map[string]any)
			if n, _ := e["changed_total"].(float64); n < 1 || len(e["changed_addresses"].([]any)) != int(min(n, 1000)) {
				t.Errorf("a label write's exposure names %v of %v changed addresses", len(e["changed_addresses"].([]any)), e["changed_total"])
			}
		})},
		{name: "screen after add", method: "GET", path: "/v1/screen/" + w.addr, want: 200, check: risk(is("Severe"), "Severe")},
		{name: "labels after add", method: "GET", path: "/v1/labels/" + w.addr, want: 200, check: labelsOf(1)},
	}
	runAPICases(t, w, cases)
	runAPICases(t, w, []apiCase{
		{name: "remove", method: "DELETE", path: deleteID(), want: 200, check: wrote(func(t *testing.T, v map[string]any) {
			if r := v["removed"].(map[string]any); r["labels"] != 1.0 || r["addresses"].([]any)[0] != w.addr {
				t.Errorf("removed %v", r)
			}
		})},
		{name: "screen after remove", method: "GET", path: "/v1/screen/" + w.addr, want: 200, check: risk(isBefore, "as before")},
		{name: "remove again", method: "DELETE", path: deleteID(), want: 404},
		{name: "remove bad id", method: "DELETE", path: "/v1/labels/x1", want: 400, check: wantField("path:ref")},
		{name: "remove bad address", method: "DELETE", path: deleteID() + "?address=bc1qnope", want: 400, check: wantField("query:address")},
		{name: "entity label", method: "POST", path: "/v1/labels", body: `[{"entity":` + fmt.Sprint(entity) + `,"category":"exchange","label":"Test exchange","source":"case 12"}]`, want: 200, check: wrote(func(t *testing.T, v map[string]any) {
			if a := v["added"].([]any); len(a) != 1 || a[0].(map[string]any)["entity"] != true {
				t.Errorf("added %v", a)
			}
		})},
		{name: "one bad of two", method: "POST", path: "/v1/labels", body: `[` + sanction + `,{"address":"` + w.addr + `","category":"no_such_concept","label":"x","source":"case 12"}]`, want: 400, check: wantField("body[1]")},
		{name: "nothing stored", method: "GET", path: "/v1/labels/" + w.addr, want: 200, check: labelsOf(1)}, // the entity's label only
		{name: "unknown entity", method: "POST", path: "/v1/labels", body: `{"entity":18446744073709551615,"category":"exchange","label":"x","source":"s"}`, want: 404, check: wantField("body.entity")},
		{name: "address and entity", method: "POST", path: "/v1/labels", body: `{"address":"` + w.addr + `","entity":1,"category":"exchange","label":"x","source":"s"}`, want: 400, check: wantField("body.address")},
		{name: "bad address", method: "POST", path: "/v1/labels", body: `{"address":"bc1qnope","category":"exchange","label":"x","source":"s"}`, want: 400, check: wantField("body.address")},
		{name: "missing source", method: "POST", path: "/v1/labels", body: `{"address":"` + w.addr + `","category":"exchange","label":"x"}`, want: 400, check: wantField("body")},
		{name: "bad date", method: "POST", path: "/v1/labels", body: `{"address":"` + w.addr + `","category":"exchange","label":"x","source":"s","listed_to":"soon"}`, want: 400, check: wantField("body.listed_to")},
		{name: "confidence a string", method: "POST", path: "/v1/labels", body: `{"address":"` + w.addr + `","category":"exchange","label":"x","source":"s","confidence":"high"}`, want: 400, check: wantField("body.confidence")},
		{name: "unknown field", method: "POST", path: "/v1/labels", body: `{"address":"` + w.addr + `","category":"exchange","label":"x","source":"s","colour":"red"}`, want: 400, check: wantField("body")},
		{name: "none", method: "POST", path: "/v1/labels", body: `[]`, want: 400, check: wantField("body")},
		{name: "too many", method: "POST", path: "/v1/labels", body: `[` + strings.Repeat(`{},`, maxLabels) + `{}]`, want: 422, check: wantField("body")},
		{name: "import list", method: "POST", path: "/v1/labels/import?date=2024-05-01&name=sanctioned_addresses_XBT.txt", body: list, hdr: []string{"Content-Type", "text/plain"}, want: 200, check: wrote(func(t *testing.T, v map[string]any) {
			if im := v["imported"].(map[string]any); im["format"] != "address_list" || im["labels"] != 1.0 {
				t.Errorf("imported %v", im)
			}
		})},
		{name: "screen after import", method: "GET", path: "/v1/screen/" + w.addr, want: 200, check: risk(is("Severe"), "Severe")},
		{name: "import broken tagpack", method: "POST", path: "/v1/labels/import", body: "title: broken\ncreator: test\ntags:\n  - address: " + w.addr + "\n    label: x\n    category: no_such_concept\n    source: s\n    currency: BTC\n    lastmod: 2024-01-01\n",
			hdr: []string{"Content-Type", "application/yaml"}, want: 422, check: func(t *testing.T, v map[string]any) {
				if d := v["detail"].(string); !strings.Contains(d, "upload.yaml:") {
					t.Errorf("detail %q does not name the file and line", d)
				}
			}},
		{name: "import bad format", method: "POST", path: "/v1/labels/import?format=pdf", body: list, want: 400, check: wantField("query:format")},
		{name: "import bad name", method: "POST", path: "/v1/labels/import?name=../x", body: list, want: 400, check: wantField("query:name")},
		{name: "import bad strict", method: "POST", path: "/v1/labels/import?strict=maybe", body: list, want: 400, check: wantField("query:strict")},
		{name: "import empty", method: "POST", path: "/v1/labels/import", body: "", want: 400, check: wantField("body")},
		{name: "import bad gzip", method: "POST", path: "/v1/labels/import", body: "\x1f\x8bnot gzip", want: 400, check: wantField("body")},
		{name: "import garbage", method: "POST", path: "/v1/labels/import?format=sdn_advanced_xml", body: "<Sanctions><nope", want: 422, check: wantField("body")},
	})
	checkStore(t, w.db)
}

// TestLabelImportOFAC imports the real SDN.CSV publication (gzipped, as
// OFAC serves it) and its XBT rows over HTTP; a body past the import
// limit is a 413.
func TestLabelImportOFAC(t *testing.T) {
	gz, err := os.ReadFile(ofacData + "/sdn_2024-05-03.csv.gz")
	if err != nil {
		t.Skipf("OFAC data not found at %s (see shared/data/ofac/PROVENANCE.md): %v", ofacData, err)
	}
	rows, err := os.ReadFile(ofacData + "/sdn_2024-05-03_xbt_rows.csv")
	if err != nil {
		t.Skipf("OFAC data not found at %s: %v", ofacData, err)
	}
	w := newWorld(t, 0)
	imported := func(t *testing.T, v map[string]any) {
		im := v["imported"].(map[string]any)
		if im["format"] != "sdn_csv" || im["labels"].(float64) < 100 || im["source"] != "OFAC SDN (XBT)" {
			t.Errorf("imported %v", im)
		}
	}
	runAPICases(t, w, []apiCase{
		{name: "SDN.CSV gzipped", method: "POST", path: "/v1/labels/import?name=sdn_2024-05-03.csv", body: string(gz), hdr: []string{"Content-Type", "text/csv"}, want: 200, check: imported},
		{name: "XBT rows", method: "POST", path: "/v1/labels/import?format=sdn_csv&date=2024-05-03", body: string(rows), hdr: []string{"Content-Type", "text/csv"}, want: 200, check: imported},
	})
	w.srv.opts.MaxImportBody = 1 << 10
	runAPICases(t, w, []apiCase{
		{name: "past the limit", method: "POST", path: "/v1/labels/import", body: string(rows), want: 413},
		{name: "gzip unpacking past the limit", method: "POST", path: "/v1/labels/import", body: string(gz[:1000]), want: 413},
	})
	resp := w.do(t, "GET", "/v1/status", nil)
	b, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(b), "OFAC SDN (XBT)") {
		t.Errorf("status does not list the OFAC source: %.500s", b)
	}
	checkStore(t, w.db)
}

// TestWritesWhileReading runs label writes (add, remove, import) while
// other clients screen and trace (go test -race): no request fails, each
// write's generation is newer than the last, and once the writes are done
// a screen answers from the final labels.
func TestWritesWhileReading(t *testing.T) {
	w := newWorld(t, 0)
	stop := make(chan struct{})
	errs := make(chan error, 16)
	var readers sync.WaitGroup
	for i := range 4 {
		readers.Add(1)
		go func() {
			defer readers.Done()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				path, body := "/v1/screen/"+w.addr, ""
				method := "GET"
				if (i+n)%3 == 0 {
					method, path, body = "POST", "/v1/trace", `{"sources":["`+w.txid+`"],"hops":5}`
				}
				resp := w.do(t, method, path, strings.NewReader(body))
				if resp.StatusCode == http.StatusServiceUnavailable && method == "POST" && resp.Header.Get("Retry-After") != "" {
					continue // more traces at once than TraceLimits.Concurrent: told to retry
				}
				if resp.StatusCode != 200 {
					b, _ := io.ReadAll(resp.Body)
					errs <- fmt.Errorf("%s %s: %d %.300s", method, path, resp.StatusCode, b)
					return
				}
			}
		}()
	}
	add := `{"address":"` + w.addr + `","category":"sanction","abuse":"sanction","label":"race","source":"case 12"}`
	var last, gen float64
	for i := range 6 {
		var resp *http.Response
		switch i % 3 {
		case 0:
			resp = w.do(t, "POST", "/v1/labels", strings.NewReader(add))
		case 1:
			resp = w.do(t, "DELETE", fmt.Sprintf("/v1/labels/%d", int(last)), nil) // the label the write before added
		case 2:
			resp = w.do(t, "POST", "/v1/labels/import?format=address_list&date=2024-06-0"+fmt.Sprint(i), strings.NewReader(w.addr+"\n"))
		}
		var v struct {
			Added []struct {
				ID float64 `json:"id"`
			} `json:"added"`
			Generation float64 `json:"generation"`
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("write %d: %d %.300s", i, resp.StatusCode, b)
		}
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatal(err)
		}
		if len(v.Added) > 0 {
			last = v.Added[0].ID
		}
		if v.Generation <= gen {
			t.Errorf("write %d: generation %v, not after %v", i, v.Generation, gen)
		}
		gen = v.Generation
	}
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	resp := w.do(t, "GET", "/v1/screen/"+w.addr, nil)
	var rep map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	if rep["risk"] != "Severe" {
		t.Errorf("after the writes (the address is on an imported list): risk %v", rep["risk"])
	}
	checkStore(t, w.db)
}

// TestWriteScopes: label writes need a write key, a trace a read key.
func TestWriteScopes(t *testing.T) {
	w := newWorld(t, 0)
	secrets, _ := withKeys(t, w, 1000)
	add := `{"address":"` + w.addr + `","category":"exchange","label":"x","source":"s"}`
	trace := `{"sources":["` + w.txid + `"],"hops":2}`
	key := func(sc apikey.Scope) []string { return []string{"X-API-Key", secrets[sc]} }
	runAPICases(t, w, []apiCase{
		{name: "add without a key", method: "POST", path: "/v1/labels", body: add, want: 401},
		{name: "add with a screen key", method: "POST", path: "/v1/labels", body: add, hdr: key(apikey.Screen), want: 403},
		{name: "add with a read key", method: "POST", path: "/v1/labels", body: add, hdr: key(apikey.Read), want: 403},
		{name: "import with a read key", method: "POST", path: "/v1/labels/import?format=address_list&date=2024-01-01", body: w.addr, hdr: key(apikey.Read), want: 403},
		{name: "remove with a screen key", method: "DELETE", path: "/v1/labels/1", hdr: key(apikey.Screen), want: 403},
		{name: "add with a write key", method: "POST", path: "/v1/labels", body: add, hdr: key(apikey.Write), want: 200},
		{name: "trace with a screen key", method: "POST", path: "/v1/trace", body: trace, hdr: key(apikey.Screen), want: 403},
		{name: "trace with a read key", method: "POST", path: "/v1/trace", body: trace, hdr: key(apikey.Read), want: 200},
		{name: "screen csv with a screen key", method: "POST", path: "/v1/screen", body: w.addr, hdr: append(key(apikey.Screen), "Content-Type", "text/csv"), want: 200},
	})
}
