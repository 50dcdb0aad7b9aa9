package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

var fuzzMethods = []string{"GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"}

// fuzzRequest builds a request from fuzz input, or nil when net/http
// would refuse it before any handler sees it.
func fuzzRequest(method byte, path string, body []byte, hdr string) *http.Request {
	req, err := http.NewRequest(fuzzMethods[int(method)%len(fuzzMethods)], "http://sleuth.test/"+strings.TrimPrefix(path, "/"), bytes.NewReader(body))
	if err != nil {
		return nil
	}
	req.RequestURI = req.URL.RequestURI()
	if hdr != "" {
		req.Header.Set("Content-Type", hdr)
		req.Header.Set("X-Request-Id", hdr)
	}
	return req
}

// FuzzHandlers: any method, path, body and header gets an answer below
// 500 with a request id, and no panic (A1, A2).
func FuzzHandlers(f *testing.F) {
	w := newWorld(f, 0)
	for _, p := range []string{"v1/status", "v1/addresses/" + w.addr, "v1/addresses/" + w.addr + "/transactions?limit=2&cursor=" + w.txid,
		"v1/transactions/" + w.txid, "v1/blocks/0", "v1/entities/1/addresses?cursor=" + w.addr, "v1/entities/1/explain?other=" + w.sanctioned,
		"v1/labels/" + w.sanctioned + "?as_of=2024-01-01", "v1/screen/" + w.addr, "v1/screen", "api/v1/address/" + w.sanctioned,
		"public/v1/sanctions/screening", "openapi.json", "metrics", "readyz", "v1/entities/%ff/explain", "v1/blocks/-0",
		"v1/watchlists", "v1/watchlists/1", "v1/watchlists/1/items", "v1/watchlists/1/addresses?limit=1&cursor=00ff",
		"v1/alerts?status=open&level=high&watchlist=1&min_height=1&max_height=9&cursor=1", "v1/alerts/1", "v1/alerts/1/review",
		"v1/alerts/stream", "v1/webhooks", "v1/webhooks/1", "v1/webhooks/1/deliveries?limit=3", "v1/trace"} {
		f.Add(byte(0), p, []byte(nil), "")
		f.Add(byte(1), p, []byte(`["`+w.addr+`",1,null]`), "application/json")
		f.Add(byte(1), p, []byte(`[{"address":"`+w.sanctioned+`"},{"address":7}]`), "text/csv")
		f.Add(byte(1), p, []byte(`{"name":"n","addresses":["`+w.addr+`","x"],"entities":[1],"rules":[{"rule":"any","level":"high"}]}`), "application/json")
		f.Add(byte(3), p, []byte(`{"addresses":["`+w.addr+`"],"rules":[{"rule":"exposure:theft>=5%","direction":"in"}]}`), "")
		f.Add(byte(1), p, []byte(`{"status":"escalated","note":"n","url":"http://127.0.0.1:1/","secret":"whsec_x"}`), "")
	}
	w.seedAlerts(f)
	f.Add(byte(1), "v1/trace", []byte(`{"sources":["`+w.txid+`","`+w.addr+`"],"direction":"backward","hops":3,"from_height":1,"to_height":2}`), "application/json")
	f.Add(byte(1), "v1/trace", []byte(`{"sources":["0"],"hops":200,"min_sats":1,"detail":-1,"policy":"poison"}`), "application/json")
	f.Add(byte(1), "v1/labels", []byte(`[{"address":"`+w.addr+`","category":"exchange","label":"x","source":"s"}]`), "application/json")
	f.Add(byte(3), "v1/labels/1?address="+w.addr, []byte(nil), "")
	f.Add(byte(1), "v1/labels/import?format=address_list", []byte(w.sanctioned+"\n"), "text/plain")
	f.Add(byte(1), "v1/labels/import", []byte("title: t\ntags:\n  - address: "+w.addr+"\n"), "application/yaml")
	f.Add(byte(1), "v1/screen?column=wallet", []byte("wallet,amount\n"+w.addr+",1\n\"x,2\n"), "text/csv")
	f.Fuzz(func(t *testing.T, method byte, path string, body []byte, hdr string) {
		req := fuzzRequest(method, path, body, hdr)
		if req == nil {
			return
		}
		req, cancel := boundStream(req)
		defer cancel()
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", req.Method, req.URL, rec.Code, rec.Body.Bytes())
		}
		if rec.Header().Get("X-Request-Id") == "" {
			t.Fatalf("%s %s: no request id", req.Method, req.URL)
		}
	})
}

// hostileBody returns one of the bodies an attacker or a broken client
// sends.
func hostileBody(rng *rand.Rand, addrs []string) []byte {
	switch rng.IntN(12) {
	case 0:
		return bytes.Repeat([]byte("["), 1+rng.IntN(200_000)) // deep nesting
	case 1:
		return []byte(`["` + strings.Repeat("1", 3<<20) + `"]`) // past the body limit
	case 2:
		var b bytes.Buffer
		b.WriteString("[")
		for i := range 10_001 {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString(`"` + addrs[rng.IntN(len(addrs))] + `"`)
		}
		b.WriteString("]")
		return b.Bytes() // one address too many
	case 3:
		b := make([]byte, rng.IntN(4096))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		return b
	case 4:
		return []byte(`[{"address":{"nested":[1,2,3]}},{"address":"` + addrs[rng.IntN(len(addrs))] + `"}]`)
	case 5:
		return []byte(`["` + addrs[rng.IntN(len(addrs))] + `", "\ud800", "` + strings.Repeat("é", 100) + `"]`)
	case 6:
		return []byte(`{"addresses": 1e999}`)
	case 7:
		return []byte(`{"name":"` + strings.Repeat("n", rng.IntN(300)) + `","addresses":["` + addrs[rng.IntN(len(addrs))] + `"],"entities":[18446744073709551615],"rules":[{"rule":"exposure:theft>=` + fmt.Sprint(rng.IntN(300)) + `%"}]}`)
	case 8:
		return []byte(`{"status":"` + []string{"open", "dismissed", "closed", ""}[rng.IntN(4)] + `","note":"` + strings.Repeat("\u0000", rng.IntN(20_000)) + `"}`)
	case 9:
		return []byte(`{"url":"` + []string{"http://127.0.0.1:1/", "http://10.0.0.1/", "https://[::1]/", "gopher://x", "http://%zz"}[rng.IntN(5)] + `","secret":"whsec_` + strings.Repeat("A", rng.IntN(200)) + `"}`)
	case 10: // a trace as large as the limits allow, or past them
		srcs := []string{`"0"`, `"1"`, `"` + addrs[rng.IntN(len(addrs))] + `"`, `"` + strings.Repeat("f", 64) + `:4294967295"`}
		return []byte(fmt.Sprintf(`{"sources":[%s],"hops":%d,"min_sats":%d,"detail":-1,"policy":%q,"direction":%q,"max_txs":%d,"from_height":%d}`,
			strings.Join(srcs[:1+rng.IntN(len(srcs))], ","), rng.IntN(400)-100, rng.IntN(3), []string{"poison", "fifo", "x"}[rng.IntN(3)],
			[]string{"forward", "backward", ""}[rng.IntN(3)], rng.IntN(2_000_000)-1, rng.IntN(10)-1))
	case 11: // labels to write, some valid, and import bodies of every format, some broken
		return []byte([]string{
			`{"address":"` + addrs[rng.IntN(len(addrs))] + `","category":"exchange","label":"hostile","source":"fuzz","listed_from":"2024-02-30"}`,
			`[{"entity":` + fmt.Sprint(rng.IntN(50)) + `,"category":"sanction","label":"x","source":"y"},{"entity":-1}]`,
			"title: t\ncreator: c\ntags:\n  - address: " + addrs[rng.IntN(len(addrs))] + "\n    label: [\n",
			"Ent_num,SDN_Name\n1,\"unterminated\n",
			`<?xml version="1.0"?><Sanctions><DistinctParties><DistinctParty FixedRef="1"></Sanctions>`,
			addrs[rng.IntN(len(addrs))] + "\n" + strings.Repeat("1", 200) + "\n",
		}[rng.IntN(6)])
	}
	return nil
}

// hostilePath returns a route with random segments and parameters.
func hostilePath(rng *rand.Rand, routes []route, addrs []string) string {
	r := routes[rng.IntN(len(routes))]
	segs := strings.Split(r.path, "/")
	for i, s := range segs {
		if !strings.HasPrefix(s, "{") {
			continue
		}
		switch rng.IntN(5) {
		case 0:
			segs[i] = addrs[rng.IntN(len(addrs))]
		case 1:
			segs[i] = fmt.Sprint(rng.Int64() - rng.Int64())
		case 2:
			segs[i] = url.PathEscape(strings.Repeat(string(rune(rng.IntN(0x2000))), rng.IntN(300)))
		case 3:
			segs[i] = strings.Repeat("f", 64)
		default:
			segs[i] = "%00%2e%2e"
		}
	}
	q := []string{"limit=" + fmt.Sprint(rng.IntN(3000)-1000), "cursor=" + addrs[rng.IntN(len(addrs))], "other=%ff", "as_of=99999-01-01", "cursor=" + strings.Repeat("0", 64),
		"status=" + []string{"open", "zzz"}[rng.IntN(2)], "min_height=" + fmt.Sprint(rng.Int64()-rng.Int64()), "max_height=-1", "watchlist=" + []string{"1", "%00", "99"}[rng.IntN(3)], "level=critical"}
	return strings.Join(segs, "/") + "?" + q[rng.IntN(len(q))] + "&" + q[rng.IntN(len(q))]
}

// slowReader dribbles a body in small pieces with pauses.
type slowReader struct {
	b     []byte
	pause time.Duration
}

func (s *slowReader) Read(p []byte) (int, error) {
	if len(s.b) == 0 {
		return 0, io.EOF
	}
	time.Sleep(s.pause)
	n := copy(p[:min(len(p), 3)], s.b)
	s.b = s.b[n:]
	return n, nil
}

// TestHostileInput sends 10,000 malformed, oversized and random requests
// (and a few slow bodies through a real listener): no 5xx, and the store
// checks clean afterwards.
func TestHostileInput(t *testing.T) {
	w := newWorld(t, 0)
	w.seedAlerts(t)
	n := 10_000
	if testing.Short() {
		n = 1000
	}
	addrs := []string{w.addr, w.sanctioned, "bc1qnope", "", "1111111111111111111114oLvT2"}
	rng := rand.New(rand.NewPCG(12, 34))
	codes := map[int]int{}
	for i := range n {
		method := fuzzMethods[max(0, rng.IntN(2*len(fuzzMethods))-len(fuzzMethods))] // half GET
		path := hostilePath(rng, w.srv.routes, addrs)
		body := hostileBody(rng, addrs)
		req, err := http.NewRequest(method, "http://sleuth.test"+path, bytes.NewReader(body))
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
		req.RequestURI = req.URL.RequestURI()
		req, cancel := boundStream(req)
		defer cancel()
		if rng.IntN(4) == 0 {
			req.Header.Set("Content-Type", strings.Repeat("x", rng.IntN(10_000)))
			req.Header.Set("X-Request-Id", string(body[:min(len(body), 100)]))
		} else if rng.IntN(3) == 0 { // CSV bodies and answers (POST /v1/screen)
			req.Header.Set("Content-Type", "text/csv")
			req.Header.Set("Accept", []string{"text/csv", "application/json", "text/csv;q=0.5, */*"}[rng.IntN(3)])
		}
		rec := httptest.NewRecorder()
		w.srv.ServeHTTP(rec, req)
		codes[rec.Code]++
		if rec.Code >= 500 {
			t.Fatalf("request %d %s %.200s: %d %.500s", i, method, path, rec.Code, rec.Body.Bytes())
		}
	}
	t.Logf("%d requests, status counts %v", n, codes)
	ts := httptest.NewServer(w.srv)
	defer ts.Close()
	for _, c := range []struct{ path, body string }{
		{"/v1/screen", `["` + w.addr + `","` + w.sanctioned + `"]`},
		{"/public/v1/sanctions/screening", `[{"address":"` + w.addr + `"}]`},
		{"/v1/screen", `["` + w.addr},
	} {
		resp, err := http.Post(ts.URL+c.path, "application/json", &slowReader{[]byte(c.body), 5 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("slow body to %s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	checkStore(t, w.db)
	if _, err := w.pl.AttributionChanged(context.Background(), false); err != nil {
		t.Fatalf("the pipeline after the hostile requests: %v", err)
	}
}

// boundStream gives a request to the alert stream a short deadline: the
// stream otherwise runs until the client goes, which a recorder never does.
func boundStream(req *http.Request) (*http.Request, context.CancelFunc) {
	if !strings.Contains(req.URL.Path, "stream") {
		return req, func() {}
	}
	ctx, cancel := context.WithTimeout(req.Context(), 20*time.Millisecond)
	return req.WithContext(ctx), cancel
}

// seedAlerts gives the world a watchlist of its address, its alerts and a
// webhook endpoint with their deliveries, for the routes that read them.
func (w *world) seedAlerts(t testing.TB) {
	t.Helper()
	w.srv.opts.LoopbackWebhooks = true
	for _, c := range []struct{ path, body string }{
		{"/v1/webhooks", `{"url":"http://127.0.0.1:1/hook"}`},
		{"/v1/watchlists", `{"name":"seed","addresses":["` + w.addr + `"]}`},
	} {
		if resp := w.do(t, "POST", c.path, strings.NewReader(c.body)); resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("seed %s: %d %s", c.path, resp.StatusCode, b)
		}
	}
	w.srv.opts.LoopbackWebhooks = false
	if w.scanAlerts(t) == 0 {
		t.Fatal("seed: no alerts")
	}
}
