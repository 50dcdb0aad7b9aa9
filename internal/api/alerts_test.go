package api

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/apikey"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// step is one request of a scenario: its answer must have status want
// (0: 200 or 422), carry a request id, validate against openapi.json, and
// pass check.
type step struct {
	name, method, path, body string
	want                     int
	check                    func(t *testing.T, v any)
}

// run sends the steps in order (each sees the state the previous left).
func (w *world) run(t *testing.T, sp *spec, steps []step, hdr ...string) {
	t.Helper()
	for _, c := range steps {
		t.Run(c.name, func(t *testing.T) {
			var body io.Reader
			if c.body != "" || c.method == "POST" {
				body = strings.NewReader(c.body)
			}
			resp := w.do(t, c.method, c.path, body, hdr...)
			b, _ := io.ReadAll(resp.Body)
			if c.want != 0 && resp.StatusCode != c.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, c.want, b)
			}
			if c.want == 0 && resp.StatusCode != 200 && resp.StatusCode != 422 {
				t.Fatalf("status %d, want 200 or 422: %s", resp.StatusCode, b)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Error("no X-Request-Id")
			}
			if resp.StatusCode == http.StatusNoContent {
				return
			}
			if err := sp.check(c.method, c.path, resp, b); err != nil {
				t.Fatalf("%v\n%s", err, b)
			}
			if c.check != nil {
				var v any
				if err := json.Unmarshal(b, &v); err != nil {
					t.Fatal(err)
				}
				c.check(t, v)
			}
		})
	}
}

// field checks a problem's field.
func field(f string) func(t *testing.T, v any) {
	return func(t *testing.T, v any) {
		if got := v.(map[string]any)["field"]; got != f {
			t.Errorf("field %v, want %q", got, f)
		}
	}
}

// items returns a page's items.
func items(v any) []any { return v.(map[string]any)["items"].([]any) }

// num returns a number field of an object.
func num(v any, k string) float64 { f, _ := v.(map[string]any)[k].(float64); return f }

// scanAlerts raises the alerts of every watchlist over the whole chain,
// as the per-block stage does block by block.
func (w *world) scanAlerts(t testing.TB) int {
	t.Helper()
	var res watch.ScanResult
	err := w.pl.Write(func(db *index.DB) error {
		ctx := context.Background()
		set, err := watch.Compile(ctx, db, watch.NewDB(db))
		if err != nil {
			return err
		}
		res, err = watch.Scan(ctx, db, set, alert.NewDB(db), nil, 0)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return res.Alerts
}

// TestWatchlistAlertWebhookRoutes drives the watchlist, alert and webhook
// routes as a client does: a webhook, a watchlist of the world's address
// (bad addresses named by index), alerts raised from it over the chain,
// filtered and paged, reviewed, and the endpoint's deliveries.
func TestWatchlistAlertWebhookRoutes(t *testing.T) {
	w := newWorld(t, 0)
	changed := 0
	w.srv = New(w.pl, Options{LoopbackWebhooks: true, WatchlistsChanged: func() { changed++ }})
	sp := loadSpec(t)
	tip := w.db.Tip()
	w.run(t, sp, []step{
		{"webhook private", "POST", "/v1/webhooks", `{"url":"http://10.1.2.3/hook"}`, 422, field("body.url")},
		{"webhook link-local", "POST", "/v1/webhooks", `{"url":"http://[fe80::1]:8080/hook"}`, 422, field("body.url")},
		{"webhook scheme", "POST", "/v1/webhooks", `{"url":"ftp://example.com/hook"}`, 400, field("body.url")},
		{"webhook secret", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/hook","secret":"whsec_short"}`, 400, field("body.secret")},
		{"webhook empty body", "POST", "/v1/webhooks", ``, 400, field("body")},
		{"webhook loopback", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/hook"}`, 201, func(t *testing.T, v any) {
			if s, _ := v.(map[string]any)["secret"].(string); !strings.HasPrefix(s, "whsec_") || num(v, "id") != 1 {
				t.Errorf("created %v", v)
			}
		}},
		{"webhook given secret", "POST", "/v1/webhooks", `{"url":"https://93.184.215.14/hook","secret":"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}`, 201, func(t *testing.T, v any) {
			if v.(map[string]any)["secret"] != "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" {
				t.Errorf("created %v", v)
			}
		}},
		{"webhooks", "GET", "/v1/webhooks", "", 200, func(t *testing.T, v any) {
			for _, ep := range items(v) {
				if _, ok := ep.(map[string]any)["secret"]; ok {
					t.Errorf("listed with its secret: %v", ep)
				}
			}
			if len(items(v)) != 2 {
				t.Errorf("endpoints %v", v)
			}
		}},
		{"watchlist bad addresses", "POST", "/v1/watchlists", `{"name":"deposits","addresses":["` + w.addr + `","bogus","` + w.sanctioned + `","1BoatSLRHtKNngkdXEeobR76b53LETtpyX"]}`, 422, func(t *testing.T, v any) {
			inv := v.(map[string]any)["invalid"].([]any)
			if len(inv) != 2 || num(inv[0], "index") != 1 || num(inv[1], "index") != 3 || v.(map[string]any)["field"] != "body.addresses" {
				t.Errorf("invalid %v", v)
			}
		}},
		{"watchlist bad rule", "POST", "/v1/watchlists", `{"name":"deposits","rules":[{"rule":"value>=lots"}]}`, 400, field("body.rules[0].rule")},
		{"watchlist bad level", "POST", "/v1/watchlists", `{"name":"deposits","rules":[{"rule":"any","level":"dire"}]}`, 400, field("body.rules[0].level")},
		{"watchlist bad direction", "POST", "/v1/watchlists", `{"name":"deposits","rules":[{"rule":"any","direction":"up"}]}`, 400, field("body.rules[0].direction")},
		{"watchlist bad name", "POST", "/v1/watchlists", `{"name":"a/b"}`, 400, field("body.name")},
		{"watchlist no name", "POST", "/v1/watchlists", `{"addresses":[]}`, 400, field("body.name")},
		{"watchlist bad entity", "POST", "/v1/watchlists", `{"name":"x","entities":[-1]}`, 400, field("body")},
		{"watchlist", "POST", "/v1/watchlists", `{"name":"deposits","addresses":["` + w.addr + `"],"rules":[{"rule":"any"},{"rule":"value>=1000","direction":"in","level":"high"}]}`, 201, func(t *testing.T, v any) {
			if num(v, "id") != 1 || num(v, "address_count") != 1 || len(v.(map[string]any)["rules"].([]any)) != 2 {
				t.Errorf("created %v", v)
			}
		}},
		{"watchlist again", "POST", "/v1/watchlists", `{"name":"deposits"}`, 409, nil},
		{"watchlists", "GET", "/v1/watchlists", "", 200, func(t *testing.T, v any) {
			if len(items(v)) != 1 {
				t.Errorf("lists %v", v)
			}
		}},
		{"add items", "POST", "/v1/watchlists/1/items", `{"addresses":["` + w.sanctioned + `","` + w.addr + `"],"entities":[5,5]}`, 200, func(t *testing.T, v any) {
			if num(v, "address_count") != 2 || num(v, "addresses_changed") != 1 || len(v.(map[string]any)["entities"].([]any)) != 1 {
				t.Errorf("after adding %v", v)
			}
		}},
		{"add bad address", "POST", "/v1/watchlists/1/items", `{"addresses":["nope"]}`, 422, field("body.addresses")},
		{"add renames", "POST", "/v1/watchlists/1/items", `{"name":"other"}`, 400, field("body.name")},
		{"addresses page", "GET", "/v1/watchlists/1/addresses?limit=1", "", 200, func(t *testing.T, v any) {
			if len(items(v)) != 1 || v.(map[string]any)["next_cursor"] == "" {
				t.Errorf("page %v", v)
			}
		}},
		{"addresses cursor", "GET", "/v1/watchlists/1/addresses?cursor=xyz", "", 400, field("query:cursor")},
		{"remove items", "DELETE", "/v1/watchlists/1/items", `{"addresses":["` + w.sanctioned + `"],"entities":[5]}`, 200, func(t *testing.T, v any) {
			if num(v, "address_count") != 1 || num(v, "addresses_changed") != 1 || len(v.(map[string]any)["entities"].([]any)) != 0 {
				t.Errorf("after removing %v", v)
			}
		}},
		{"watchlist one", "GET", "/v1/watchlists/1", "", 200, func(t *testing.T, v any) {
			if v.(map[string]any)["name"] != "deposits" || num(v, "address_count") != 1 {
				t.Errorf("list %v", v)
			}
		}},
		{"watchlist unknown", "GET", "/v1/watchlists/99", "", 404, nil},
		{"watchlist bad id", "GET", "/v1/watchlists/x", "", 400, field("path:id")},
		{"items unknown list", "POST", "/v1/watchlists/99/items", `{"entities":[1]}`, 404, nil},
	})
	if changed != 3 {
		t.Errorf("WatchlistsChanged called %d times, want 3 (create, add, remove)", changed)
	}
	n := w.scanAlerts(t)
	if n < 3 {
		t.Fatalf("%d alerts raised for the world's address; the test needs 3", n)
	}
	var all []any
	w.run(t, sp, []step{
		{"alerts", "GET", "/v1/alerts?limit=1000", "", 200, func(t *testing.T, v any) {
			all = items(v)
			if len(all) != n || v.(map[string]any)["next_cursor"] != "" {
				t.Errorf("%d alerts listed, %d raised", len(all), n)
			}
		}},
	})
	highs, lastHeight := 0, 0.0
	for _, a := range all {
		if a.(map[string]any)["level"] == "high" {
			highs++
		}
		lastHeight = max(lastHeight, num(a, "block_height"))
	}
	count := func(want int) func(t *testing.T, v any) {
		return func(t *testing.T, v any) {
			if len(items(v)) != want {
				t.Errorf("%d alerts, want %d", len(items(v)), want)
			}
		}
	}
	atLast := 0
	for _, a := range all {
		if num(a, "block_height") == lastHeight {
			atLast++
		}
	}
	h := strconv.Itoa(int(lastHeight))
	w.run(t, sp, []step{
		{"page", "GET", "/v1/alerts?limit=2", "", 200, func(t *testing.T, v any) {
			if len(items(v)) != 2 || v.(map[string]any)["next_cursor"] != strconv.Itoa(int(num(items(v)[1], "id"))) {
				t.Errorf("first page %v", v)
			}
		}},
		{"next page", "GET", "/v1/alerts?limit=1000&cursor=2", "", 200, count(n - 2)},
		{"level high", "GET", "/v1/alerts?level=high", "", 200, count(highs)},
		{"watchlist id", "GET", "/v1/alerts?watchlist=1", "", 200, count(n)},
		{"watchlist name", "GET", "/v1/alerts?watchlist=deposits", "", 200, count(n)},
		{"another watchlist", "GET", "/v1/alerts?watchlist=other", "", 200, count(0)},
		{"height range", "GET", "/v1/alerts?min_height=" + h + "&max_height=" + h, "", 200, count(atLast)},
		{"status", "GET", "/v1/alerts?status=open", "", 200, count(n)},
		{"bad status", "GET", "/v1/alerts?status=closed", "", 400, field("query:status")},
		{"bad level", "GET", "/v1/alerts?level=dire", "", 400, field("query:level")},
		{"bad height", "GET", "/v1/alerts?min_height=-1", "", 400, field("query:min_height")},
		{"inverted heights", "GET", "/v1/alerts?min_height=5&max_height=4", "", 400, field("query:min_height")},
		{"unknown watchlist id", "GET", "/v1/alerts?watchlist=77", "", 400, field("query:watchlist")},
		{"bad cursor", "GET", "/v1/alerts?cursor=abc", "", 400, field("query:cursor")},
		{"bad limit", "GET", "/v1/alerts?limit=0", "", 400, field("query:limit")},
		{"alert", "GET", "/v1/alerts/1", "", 200, func(t *testing.T, v any) {
			if num(v, "id") != 1 || v.(map[string]any)["txid"] == "" || num(v, "block_height") > float64(tip.Height) {
				t.Errorf("alert %v", v)
			}
		}},
		{"alert unknown", "GET", "/v1/alerts/999999", "", 404, nil},
		{"alert bad id", "GET", "/v1/alerts/0x1", "", 400, field("path:id")},
		{"review", "POST", "/v1/alerts/1/review", `{"status":"acknowledged","note":"deposit of customer 42"}`, 200, func(t *testing.T, v any) {
			notes := v.(map[string]any)["notes"].([]any)
			if v.(map[string]any)["status"] != "acknowledged" || len(notes) != 1 || notes[0].(map[string]any)["text"] != "deposit of customer 42" {
				t.Errorf("reviewed %v", v)
			}
		}},
		{"note only", "POST", "/v1/alerts/1/review", `{"note":"customer called"}`, 200, func(t *testing.T, v any) {
			if v.(map[string]any)["status"] != "acknowledged" || len(v.(map[string]any)["notes"].([]any)) != 2 {
				t.Errorf("noted %v", v)
			}
		}},
		{"notes visible", "GET", "/v1/alerts/1", "", 200, func(t *testing.T, v any) {
			if len(v.(map[string]any)["notes"].([]any)) != 2 {
				t.Errorf("alert %v", v)
			}
		}},
		{"reviewed filter", "GET", "/v1/alerts?status=acknowledged", "", 200, count(1)},
		{"review nothing", "POST", "/v1/alerts/1/review", `{}`, 400, field("body")},
		{"review bad status", "POST", "/v1/alerts/1/review", `{"status":"closed"}`, 400, field("body.status")},
		{"review long note", "POST", "/v1/alerts/1/review", `{"note":"` + strings.Repeat("x", maxNote+1) + `"}`, 400, field("body.note")},
		{"review unknown", "POST", "/v1/alerts/999999/review", `{"status":"dismissed"}`, 404, nil},
		{"deliveries", "GET", "/v1/webhooks/1/deliveries?limit=2", "", 200, func(t *testing.T, v any) {
			ds := items(v)
			// n alert.created and 2 alert.updated events, newest first.
			if len(ds) != 2 || num(ds[0], "event") != float64(n+2) || ds[0].(map[string]any)["type"] != alert.EventUpdated ||
				ds[0].(map[string]any)["state"] != "pending" || ds[0].(map[string]any)["webhook_id"] != "evt_"+strconv.Itoa(n+2) {
				t.Errorf("deliveries %v", v)
			}
		}},
		{"deliveries unknown", "GET", "/v1/webhooks/9/deliveries", "", 404, nil},
		{"webhook delete", "DELETE", "/v1/webhooks/1", "", 204, nil},
		{"webhook delete again", "DELETE", "/v1/webhooks/1", "", 404, nil},
		{"webhook bad id", "DELETE", "/v1/webhooks/-1", "", 400, field("path:id")},
		{"watchlist delete", "DELETE", "/v1/watchlists/1", "", 204, nil},
		{"watchlist deleted", "GET", "/v1/watchlists/1", "", 404, nil},
		{"alerts of a removed list by name", "GET", "/v1/alerts?watchlist=deposits", "", 200, count(n)},
	})
	// Without loopback (a server listening beyond it), a loopback webhook
	// is refused.
	w.srv = New(w.pl, Options{})
	w.run(t, sp, []step{
		{"webhook loopback refused", "POST", "/v1/webhooks", `{"url":"http://127.0.0.1:9/hook"}`, 422, field("body.url")},
		{"webhook name of loopback refused", "POST", "/v1/webhooks", `{"url":"http://localhost:9/hook"}`, 422, field("body.url")},
		{"webhook v4-mapped loopback refused", "POST", "/v1/webhooks", `{"url":"http://[::ffff:127.0.0.1]:9/hook"}`, 422, field("body.url")},
	})
	checkStore(t, w.db)
}

// TestReviewByKey: with API keys, a review is signed with the key's name,
// reads need scope read and changes scope write.
func TestReviewByKey(t *testing.T) {
	w := newWorld(t, 0)
	ctx := context.Background()
	secrets := map[apikey.Scope]string{}
	if err := w.pl.Write(func(db *index.DB) error {
		for _, sc := range []apikey.Scope{apikey.Read, apikey.Write} {
			_, s, err := apikey.Create(ctx, apikey.NewDB(db), sc.String()+" analyst", sc)
			if err != nil {
				return err
			}
			secrets[sc] = s
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	var keys *apikey.Set
	if err := w.pl.Read(func(db *index.DB) (err error) { keys, err = apikey.Load(ctx, apikey.NewDB(db), 1000); return err }); err != nil {
		t.Fatal(err)
	}
	w.srv = New(w.pl, Options{Keys: keys})
	sp := loadSpec(t)
	w.run(t, sp, []step{{"create", "POST", "/v1/watchlists", `{"name":"mine","addresses":["` + w.addr + `"]}`, 201, nil}}, "X-API-Key", secrets[apikey.Write])
	w.scanAlerts(t)
	for _, c := range []struct {
		name, method, path, body, key string
		want                          int
	}{
		{"read lists", "GET", "/v1/watchlists", "", secrets[apikey.Read], 200},
		{"read creates", "POST", "/v1/watchlists", `{"name":"x"}`, secrets[apikey.Read], 403},
		{"read reviews", "POST", "/v1/alerts/1/review", `{"status":"dismissed"}`, secrets[apikey.Read], 403},
		{"read adds a webhook", "POST", "/v1/webhooks", `{"url":"https://93.184.215.14/"}`, secrets[apikey.Read], 403},
		{"read lists webhooks", "GET", "/v1/webhooks", "", secrets[apikey.Read], 403},
		{"read reads alerts", "GET", "/v1/alerts/1", "", secrets[apikey.Read], 200},
		{"no key", "GET", "/v1/alerts", "", "", 401},
		{"write reviews", "POST", "/v1/alerts/1/review", `{"status":"escalated","note":"to compliance"}`, secrets[apikey.Write], 200},
	} {
		var body io.Reader
		if c.body != "" {
			body = strings.NewReader(c.body)
		}
		resp := w.do(t, c.method, c.path, body, "X-API-Key", c.key)
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != c.want {
			t.Fatalf("%s: %d, want %d: %s", c.name, resp.StatusCode, c.want, b)
		}
	}
	var a alert.Alert
	if err := w.pl.Read(func(db *index.DB) (err error) { a, err = alert.NewDB(db).Get(ctx, 1); return err }); err != nil {
		t.Fatal(err)
	}
	if len(a.Notes) != 1 || a.Notes[0].By != "write analyst" || a.Status != alert.Escalated {
		t.Fatalf("notes %+v, status %s: want one by the write key", a.Notes, a.Status)
	}
}

// sseEvent is one message of a text/event-stream.
type sseEvent struct {
	id, typ, data string
}

// sseReader reads messages, counting comment lines (heartbeats).
type sseReader struct {
	r          *bufio.Reader
	heartbeats int
}

func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.id != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, ":"):
			s.heartbeats++
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.typ = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data += line[6:]
		}
	}
}

// openStream connects to the stream with Last-Event-ID last ("" for none).
func openStream(t *testing.T, url, last string) (*http.Response, *sseReader) {
	t.Helper()
	req, err := http.NewRequest("GET", url+"/v1/alerts/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	if last != "" {
		req.Header.Set("Last-Event-ID", last)
	}
	resp, err := (&http.Client{Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("stream: %d %s", resp.StatusCode, b)
	}
	return resp, &sseReader{r: bufio.NewReader(resp.Body)}
}

// TestAlertStream: a client reads events, disconnects, reconnects with
// Last-Event-ID and gets exactly the ones after it, then a new one as it
// is stored; heartbeats flow while nothing happens, past the server's
// read and write timeouts; streams beyond the per-key limit get 429; and Shutdown
// ends open streams instead of waiting on them.
func TestAlertStream(t *testing.T) {
	w := newWorld(t, 0)
	w.srv = New(w.pl, Options{StreamPoll: 5 * time.Millisecond, Heartbeat: 20 * time.Millisecond, MaxStreams: 2})
	w.run(t, loadSpec(t), []step{{"watch", "POST", "/v1/watchlists", `{"name":"mine","addresses":["` + w.addr + `","` + w.sanctioned + `"]}`, 201, nil}})
	n := w.scanAlerts(t)
	if n < 4 {
		t.Fatalf("%d alerts raised; the test needs 4", n)
	}
	ts := httptest.NewUnstartedServer(w.srv)
	ts.Config.ReadTimeout = 100 * time.Millisecond // a stream must outlive both
	ts.Config.WriteTimeout = 100 * time.Millisecond
	ts.Config.RegisterOnShutdown(w.srv.CloseStreams)
	ts.Start()
	defer ts.Close()
	defer w.srv.CloseStreams() // (before Close, when the test fails early)

	resp, sr := openStream(t, ts.URL, "")
	var got []string
	for range 2 {
		ev, err := sr.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.typ != alert.EventCreated || !json.Valid([]byte(ev.data)) {
			t.Fatalf("event %+v", ev)
		}
		got = append(got, ev.id)
	}
	resp.Body.Close() // disconnect after two events
	resp, sr = openStream(t, ts.URL, got[len(got)-1])
	for len(got) < n {
		ev, err := sr.next()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ev.id)
	}
	var want []string
	for i := 1; i <= n; i++ {
		want = append(want, strconv.Itoa(i))
	}
	if !slices.Equal(got, want) {
		t.Fatalf("event ids %v, want each of 1..%d once, in order", got, n)
	}
	// Idle past the read timeout: heartbeats, and the stream stays open.
	time.Sleep(300 * time.Millisecond)
	if rev := w.do(t, "POST", "/v1/alerts/2/review", strings.NewReader(`{"status":"dismissed"}`)); rev.StatusCode != 200 {
		t.Fatalf("review: %d", rev.StatusCode)
	}
	ev, err := sr.next()
	if err != nil || ev.id != strconv.Itoa(n+1) || ev.typ != alert.EventUpdated || !strings.Contains(ev.data, `"dismissed"`) {
		t.Fatalf("the review's event: %+v, %v", ev, err)
	}
	if sr.heartbeats == 0 {
		t.Error("no heartbeat while the stream was idle")
	}
	// A second stream is allowed, a third refused.
	resp2, _ := openStream(t, ts.URL, strconv.Itoa(n+1))
	defer resp2.Body.Close()
	r3, err := http.Get(ts.URL + "/v1/alerts/stream")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(r3.Body)
	r3.Body.Close()
	if r3.StatusCode != http.StatusTooManyRequests || r3.Header.Get("Retry-After") == "" {
		t.Fatalf("third stream: %d %s", r3.StatusCode, b)
	}
	if err := loadSpec(t).check("GET", "/v1/alerts/stream", r3, b); err != nil {
		t.Fatal(err)
	}
	bad := w.do(t, "GET", "/v1/alerts/stream", nil, "Last-Event-ID", "yesterday")
	if bad.StatusCode != 400 {
		t.Fatalf("bad Last-Event-ID: %d", bad.StatusCode)
	}
	// Shutdown returns with the two streams open, and they end.
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ts.Config.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown with open streams: %v", err)
	}
	if _, err := io.ReadAll(resp.Body); err != nil {
		t.Fatalf("stream after shutdown: %v", err)
	}
	resp.Body.Close()
}
