package api

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// apiCase is one request of a table test and what its answer must be.
type apiCase struct {
	name, method, path, body string
	hdr                      []string // header name, value, …
	want                     int
	check                    func(t *testing.T, v map[string]any)
}

// runAPICases sends each case in order, checks its status, that the
// answer validates against openapi.json, and runs its check on the JSON
// object answered (a JSON array comes as {"items": […]}).
func runAPICases(t *testing.T, w *world, cases []apiCase) {
	t.Helper()
	sp := loadSpec(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp := w.do(t, c.method, c.path, strings.NewReader(c.body), c.hdr...)
			b, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %.1000s", resp.StatusCode, c.want, b)
			}
			if err := sp.check(c.method, c.path, resp, b); err != nil {
				t.Fatalf("%v\n%.1000s", err, b)
			}
			if c.check == nil {
				return
			}
			var v any
			if err := json.Unmarshal(b, &v); err != nil {
				t.Fatal(err)
			}
			m, ok := v.(map[string]any)
			if !ok {
				m = map[string]any{"items": v}
			}
			c.check(t, m)
		})
	}
}

// wantField checks a problem's field.
func wantField(f string) func(t *testing.T, v map[string]any) {
	return func(t *testing.T, v map[string]any) {
		t.Helper()
		if got := v["field"]; got != f {
			t.Errorf("field %v, want %q (%v)", got, f, v["detail"])
		}
	}
}

// TestTrace runs POST /v1/trace: its answer is the CLI's result (the same
// composition, query.Trace) with the graph; bad parameters and sources
// are 400s naming the field, unknown sources 404s, work past a limit 422.
func TestTrace(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	err := w.pl.Write(func(db *index.DB) error {
		_, err := label.AddIncident(ctx, db, label.Incident{TxID: w.txid, Vout: label.AllOutputs, Category: "theft", Name: "Test heist", Source: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	// What the CLI prints for the same trace (sleuth trace --json --from TXID).
	var direct *query.TraceView
	err = w.pl.Read(func(db *index.DB) (err error) {
		direct, err = query.Trace(ctx, db, &query.TraceRequest{Sources: []string{w.txid}, MaxTxs: 1_000_000}, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := json.Marshal(direct.Result)
	if err != nil {
		t.Fatal(err)
	}
	sameAsCLI := func(t *testing.T, v map[string]any) {
		var cli map[string]any
		if err := json.Unmarshal(want, &cli); err != nil {
			t.Fatal(err)
		}
		for k, x := range cli {
			if k == "elapsed_seconds" {
				continue
			}
			a, _ := json.Marshal(x)
			b, _ := json.Marshal(v[k])
			if string(a) != string(b) {
				t.Errorf("%s: HTTP %s, CLI %s", k, b, a)
			}
		}
		g, ok := v["graph"].(map[string]any)
		if !ok || len(g["nodes"].([]any)) == 0 {
			t.Errorf("no graph: %v", v["graph"])
		}
	}
	source := func(t *testing.T, v map[string]any) {
		if got, want := v["totals"].(map[string]any)["source"], float64(direct.Totals.Source); got != want {
			t.Errorf("source %v sats, want %v (the txid's)", got, want)
		}
	}
	hops := func(n int) string { return `{"sources":["` + w.txid + `"],"hops":` + itoa(n) + `}` }
	runAPICases(t, w, []apiCase{
		{name: "txid", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"]}`, want: 200, check: sameAsCLI},
		{name: "incident by name", method: "POST", path: "/v1/trace", body: `{"incidents":["test HEIST"]}`, want: 200, check: source},
		{name: "incident by id", method: "POST", path: "/v1/trace", body: `{"incidents":["1"],"graph":false}`, want: 200, check: func(t *testing.T, v map[string]any) {
			source(t, v)
			if _, ok := v["graph"]; ok {
				t.Error("graph given with graph false")
			}
		}},
		{name: "address backward haircut", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.addr + `"],"direction":"backward","policy":"haircut","hops":3}`, want: 200, check: func(t *testing.T, v map[string]any) {
			if v["direction"] != "backward" || v["policy"] != "haircut" || v["max_hops"] != 3.0 {
				t.Errorf("trace %v %v %v", v["direction"], v["policy"], v["max_hops"])
			}
		}},
		{name: "window", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"from_height":0,"to_height":1,"after":"2009-01-01","policy":"lifo"}`, want: 200, check: nil},
		{name: "bad policy", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"policy":"magic"}`, want: 400, check: wantField("body.policy")},
		{name: "bad direction", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"direction":"up"}`, want: 400, check: wantField("body.direction")},
		{name: "bad time", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"before":"yesterday"}`, want: 400, check: wantField("body.before")},
		{name: "heights reversed", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"from_height":5,"to_height":2}`, want: 400, check: wantField("body.to_height")},
		{name: "height past tip", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"from_height":99999999}`, want: 404, check: wantField("body.from_height")},
		{name: "negative hops", method: "POST", path: "/v1/trace", body: hops(-1), want: 400, check: wantField("body.hops")},
		{name: "hops past limit", method: "POST", path: "/v1/trace", body: hops(201), want: 422, check: wantField("body.hops")},
		{name: "hops a string", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"hops":"many"}`, want: 400, check: wantField("body.hops")},
		{name: "unknown field", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"hop":3}`, want: 400, check: wantField("body")},
		{name: "no sources", method: "POST", path: "/v1/trace", body: `{}`, want: 400, check: wantField("body.sources")},
		{name: "not an object", method: "POST", path: "/v1/trace", body: `["` + w.txid + `"]`, want: 400, check: nil},
		{name: "empty body", method: "POST", path: "/v1/trace", body: ``, want: 400, check: wantField("body")},
		{name: "malformed source", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `","` + w.txid + `:x"]}`, want: 400, check: wantField("body.sources[1]")},
		{name: "bad address", method: "POST", path: "/v1/trace", body: `{"sources":["bc1qnope"]}`, want: 400, check: wantField("body.sources[0]")},
		{name: "unknown txid", method: "POST", path: "/v1/trace", body: `{"sources":["` + strings.Repeat("ab", 32) + `"]}`, want: 404, check: wantField("body.sources[0]")},
		{name: "unknown incident", method: "POST", path: "/v1/trace", body: `{"incidents":["no such heist"]}`, want: 400, check: wantField("body.incidents[0]")},
		{name: "too many sources", method: "POST", path: "/v1/trace", body: `{"sources":[` + strings.Repeat(`"`+w.txid+`",`, 100) + `"` + w.txid + `"]}`, want: 422, check: wantField("body.sources")},
		{name: "max_txs past limit", method: "POST", path: "/v1/trace", body: `{"sources":["` + w.txid + `"],"max_txs":1000001}`, want: 422, check: wantField("body.max_txs")},
		{name: "get", method: "GET", path: "/v1/trace", want: 405},
	})
}

// TestTraceLimits: the sources' outputs, the concurrent traces and the
// time of one trace are bounded: 422 naming the limit, or 503 with
// Retry-After when the server is busy.
func TestTraceLimits(t *testing.T) {
	w := newWorld(t, 0)
	w.srv.opts.Trace.MaxOutputs = 1
	body := `{"sources":["` + w.addr + `"]}`
	runAPICases(t, w, []apiCase{{name: "outputs", method: "POST", path: "/v1/trace", body: body, want: 422, check: wantField("body.sources[0]")}})

	w.srv.opts.Trace.MaxOutputs = 100_000
	for range cap(w.srv.traces) {
		w.srv.traces <- struct{}{}
	}
	resp := w.do(t, "POST", "/v1/trace", strings.NewReader(body))
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("busy: status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	for range cap(w.srv.traces) {
		<-w.srv.traces
	}
	if resp := w.do(t, "POST", "/v1/trace", strings.NewReader(body)); resp.StatusCode != 200 {
		t.Errorf("after the traces ended: status %d", resp.StatusCode)
	}
	// A trace past its time is a 422 (here the deadline has passed
	// before it starts; a long trace checks every 1,024 transactions).
	w.srv.opts.Trace.Timeout = time.Nanosecond
	runAPICases(t, w, []apiCase{{name: "timeout", method: "POST", path: "/v1/trace", body: body, want: 422, check: wantField("body")}})
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
