package ui_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sleuth-forensics/sleuth/internal/api"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pdf/pdftest"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/ui"
)

var screenshots = flag.String("screenshots", "", "write a PNG of each page of the browser test into this directory (docs/ui)")

// caseServer serves the simulated case (the theft, the public TagPack,
// entities and exposure) the way sleuth serve does.
func caseServer(t *testing.T) (url string, theft []string) {
	t.Helper()
	out := simtest.Chain(t, 1, 0.2)
	db := indextest.Open(t, t.TempDir())
	pl := pipeline.New(db, pipeline.Options{})
	ctx := context.Background()
	if _, err := pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")}}); err != nil {
		t.Fatal(err)
	}
	err := pl.Write(func(db *index.DB) error {
		_, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pl.AttributionChanged(ctx, false); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(pl, api.Options{}))
	t.Cleanup(srv.Close)
	return srv.URL, simtest.TheftTxIDs(t, out)
}

func chromium(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	for _, p := range []string{os.Getenv("SLEUTH_CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skip("no Chromium: run scripts/chromium.sh install (Debian's chromium package)")
	return ""
}

// browser starts Chromium headless at 1280×800 with the flags this
// machine's closed network needs; the context ends it within 3 minutes.
func browser(t *testing.T, bin string) (context.Context, context.CancelFunc) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.WindowSize(1280, 800),
		chromedp.UserDataDir(t.TempDir()))
	tctx, cancel1 := context.WithTimeout(context.Background(), 3*time.Minute)
	actx, cancel2 := chromedp.NewExecAllocator(tctx, opts...)
	ctx, cancel3 := chromedp.NewContext(actx)
	return ctx, func() { cancel3(); cancel2(); cancel1() }
}

// traceAnswer is the API's own answer for the trace the browser runs,
// the figures the page must show, and the number of nodes of its graph.
func traceAnswer(t *testing.T, url string, sources []string) (map[string]any, int) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"sources": sources, "direction": "forward", "policy": "fifo", "hops": 50})
	resp, err := http.Post(url+"/v1/trace", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || resp.StatusCode != 200 {
		t.Fatalf("POST /v1/trace: %d %v", resp.StatusCode, err)
	}
	g, _ := v["graph"].(map[string]any)
	nodes, _ := g["nodes"].([]any)
	return v, len(nodes) // the result's fields sit at the top of the answer
}

// openCase opens a case with the incident's sources through the API.
func openCase(t *testing.T, url string, sources []string) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Browser test: the simulated theft", "sources": sources})
	resp, err := http.Post(url+"/v1/cases", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct {
		ID int `json:"id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != 201 {
		t.Fatalf("POST /v1/cases: %d %v", resp.StatusCode, err)
	}
	return c.ID
}

func btcText(sats float64) string {
	s := int64(sats)
	return fmt.Sprintf("%s.%08d BTC", commas(s/1e8), s%1e8)
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// TestBrowser drives Chromium through the demo case: search the theft
// transaction, trace forward from it, check that the graph and the
// cash-out table show the exchanges with the API's amounts, and print the
// page to PDF, whose text (pdftotext) holds those amounts.
func TestBrowser(t *testing.T) {
	bin := chromium(t)
	url, theft := caseServer(t)
	want, graphNodes := traceAnswer(t, url, theft)
	var outs []cashOut
	for _, e := range want["entities"].([]any) {
		m := e.(map[string]any)
		if m["cash_out"] == true {
			l, _ := m["label"].(string)
			outs = append(outs, cashOut{int64(m["entity"].(float64)), l, int64(m["sats"].(float64))})
		}
	}
	caseID := openCase(t, url, theft)
	if len(outs) < 2 {
		t.Fatalf("the case's trace reaches %d cash-out entities; the test needs at least 2", len(outs))
	}

	ctx, cancel := browser(t, bin)
	defer cancel()
	if *screenshots != "" {
		if err := os.MkdirAll(*screenshots, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	// shot writes the viewport, or for the trace views the picture
	// itself (#viz), as a PNG.
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			if *screenshots == "" {
				return nil
			}
			take := chromedp.CaptureScreenshot()
			if strings.HasPrefix(name, "trace-") {
				take = chromedp.Screenshot(chromedp.CSS(`#viz`))
			}
			b, err := take(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(*screenshots, name+".png"), b, 0o644)
		})
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return v
	}
	step := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		start := time.Now()
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		t.Logf("%s: %s", what, time.Since(start).Round(time.Millisecond))
	}

	// Home, then search the theft transaction.
	step("home and search",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#main .panel`)),
		shot("home"),
		chromedp.SendKeys(chromedp.ID(`q`), theft[0]),
		chromedp.Click(chromedp.CSS(`#search button`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[contains(., "Transaction")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main table`)),
		shot("transaction"))
	if title := text(`#main h1`); !strings.Contains(title, theft[0]) {
		t.Fatalf("transaction page title %q lacks %s", title, theft[0])
	}
	// Trace from every theft transaction, as the incident lists them.
	var q strings.Builder
	for _, s := range theft {
		q.WriteString("from=" + s + "&")
	}
	traceURL := url + "/#/trace?" + q.String() + "direction=forward&policy=fifo&hops=50&case=" + strconv.Itoa(caseID)
	step("trace",
		chromedp.Navigate(traceURL),
		chromedp.WaitVisible(chromedp.ID(`trace-summary`)),
		chromedp.WaitVisible(chromedp.CSS(`#viz svg`)),
		shot("trace-graph"))
	t.Run("contrast", func(t *testing.T) {
		checkContrast(t, ctx, []string{"main h1", "main .note", "dl.kv dt", "dl.kv dd", "main a", "th", "td", `form.trace button[type="submit"]`,
			"button.secondary", `.tabs button[aria-selected="true"]`, `.tabs button[aria-selected="false"]`, "form.trace label", ".legend span", "footer", "#viz svg text"})
		// Every risk level's badge and the error box, drawn by the
		// page's own style sheet in a sample appended to the page.
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("main").appendChild(Object.assign(document.createElement("div"), { id: "palette",
  innerHTML: ["severe", "high", "medium", "low", "none", "unassessed"].map(l => '<span class="risk ' + l + '">' + l + '</span>').join(" ") + '<div class="error">refused</div>' })) && 1`)); err != nil {
			t.Fatal(err)
		}
		var sels []string
		for _, l := range []string{"severe", "high", "medium", "low", "none", "unassessed"} {
			sels = append(sels, "#palette .risk."+l)
		}
		checkContrast(t, ctx, append(sels, "#palette .error"))
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.getElementById("palette").remove() || 1`)); err != nil {
			t.Fatal(err)
		}
	})
	dir := allowDownloads(t, ctx)
	t.Run("exports", func(t *testing.T) { checkExports(t, ctx, dir, outs, graphNodes) })
	nodes, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#viz svg g.node.cashout").length`))
	if err != nil {
		t.Fatal(err)
	}
	graph, err := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#viz svg`)))
	if err != nil {
		t.Fatal(err)
	}
	step("sankey and timeline",
		chromedp.Click(chromedp.CSS(`button[data-view="sankey"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#viz svg path.ribbon`)),
		shot("trace-sankey"),
		chromedp.Click(chromedp.CSS(`button[data-view="timeline"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#viz svg rect.bar`)),
		shot("trace-timeline"))
	table := text(`table[aria-label="cash-out entities"]`)
	if nodes < len(outs) {
		t.Errorf("the graph draws %d cash-out entities, the API reached %d", nodes, len(outs))
	}
	for _, o := range outs {
		amount := btcText(float64(o.sats))
		if !strings.Contains(table, amount) {
			t.Errorf("cash-out table lacks %s %s:\n%s", o.label, amount, table)
		}
		if !strings.Contains(graph, fmt.Sprintf("%.8f BTC", float64(o.sats)/1e8)) {
			t.Errorf("graph lacks the amount of %s (%.8f BTC)", o.label, float64(o.sats)/1e8)
		}
		if o.label != "" && !strings.Contains(graph, o.label[:min(len(o.label), 26)]) {
			t.Errorf("graph lacks the cash-out entity %q", o.label)
		}
	}

	// Print to PDF: the report the investigator hands over.
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("print to PDF: %v", err)
	}
	pdfText := pdftest.Text(t, pdf)
	for _, o := range outs {
		if !strings.Contains(pdfText, btcText(float64(o.sats))) {
			t.Errorf("the PDF lacks %s %s", o.label, btcText(float64(o.sats)))
		}
	}
	// The server's PDF report of the case the trace is saved to.
	t.Run("server PDF", func(t *testing.T) { checkServerPDF(t, ctx, dir, caseID, outs) })
	// The entity and address pages of the first cash-out entity.
	step("entity and address pages",
		chromedp.Navigate(traceURL),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-label="cash-out entities"]`)),
		chromedp.Click(chromedp.CSS(`table[aria-label="cash-out entities"] tbody tr a`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(., "Entity")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main dl.kv a.mono`)),
		shot("entity"),
		chromedp.Click(chromedp.CSS(`#main dl.kv a.mono`)),
		chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(., "Address")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#main .risk`)),
		chromedp.WaitVisible(chromedp.ID(`label-form`)),
		shot("address"))
	t.Run("labels", func(t *testing.T) { checkLabels(t, ctx, url, caseID) })
	t.Run("entity label", func(t *testing.T) { checkEntityLabel(t, ctx) })
	t.Run("stale page", func(t *testing.T) { checkStalePage(t, ctx) })
	t.Run("keyboard", func(t *testing.T) { checkKeyboard(t, ctx, url, theft) })
}

// checkStalePage holds the entity page's answers back (by wrapping
// fetch), moves on to the trace workspace and types there: the entity
// page, finishing late, must neither replace the workspace nor take the
// focus from its sources. (A CI run lost the keyboard test's typed
// sources that way: the page re-rendered after a label was removed
// finished while the test typed.)
func checkStalePage(t *testing.T, ctx context.Context) {
	entity, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.hash`))
	if err != nil || !strings.HasPrefix(entity, "#/entity/") {
		t.Fatalf("the test should start on an entity page, not %q (%v)", entity, err)
	}
	const hold = `window.__held = 0; window.__fetch = window.fetch;
window.fetch = (...args) => String(args[0]).includes("/v1/entities/") ?
  (window.__held++, new Promise(res => setTimeout(res, 1500)).then(() => window.__fetch(...args)).finally(() => window.__held--)) : window.__fetch(...args); 1`
	for _, js := range []string{hold, `location.hash = "#/"; location.hash = ` + strconv.Quote(entity) + `; 1`, `location.hash = "#/trace"; 1`} {
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](js)); err != nil {
			t.Fatal(err)
		}
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.ID(`sources`)),
		chromedp.Click(chromedp.ID(`sources`)),
		chromedp.KeyEvent("typed while the entity page loads")); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.__held`))
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d entity requests still held after 30 s", n)
		}
	}
	got, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`({ focus: document.activeElement && document.activeElement.id, value: (document.getElementById("sources") || {}).value, h1: document.querySelector("#main h1").textContent })`))
	if err != nil {
		t.Fatal(err)
	}
	if got["h1"] != "Trace" || got["focus"] != "sources" || got["value"] != "typed while the entity page loads" {
		t.Errorf("after the stale entity page finished: %v; want the Trace page, focus in its sources and the typing kept", got)
	}
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[int](`window.fetch = window.__fetch; location.hash = "#/"; 1`)); err != nil {
		t.Fatal(err)
	}
}

// TestGraphScale lays out and draws trace graphs of 500 to 8,000 entities
// in Chromium (synthetic: a source fanning out over 8 hops, four edges per
// entity) and logs the time of the layout and of the drawing with the
// default top-edge filter and with every edge. docs/BENCHMARKS.md records
// the figures; nothing is asserted about time.
func TestGraphScale(t *testing.T) {
	bin := chromium(t)
	srv := httptest.NewServer(ui.Handler())
	defer srv.Close()
	ctx, cancel := browser(t, bin)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/ui/style.css")); err != nil {
		t.Fatal(err)
	}
	const script = `(async () => {
  const { buildFlow } = await import("/ui/flow.js");
  const { drawGraph } = await import("/ui/graph.js");
  const { drawSankey } = await import("/ui/sankey.js");
  const out = [];
  for (const n of [500, 2000, 8000]) {
    const nodes = [{ id: "e0", entity: 0, source: true, sats: 1e12, addresses: 1 }];
    const edges = [];
    let x = 1;
    for (let i = 1; i < n; i++) {
      nodes.push({ id: "e" + i, entity: i, sats: 1e6 * ((i * 7919) % 1000 + 1), cash_out: i % 97 === 0, label: i % 97 === 0 ? "exchange " + i : undefined, addresses: 1 });
      for (let k = 0; k < 4; k++) { x = (x * 48271) % 2147483647; edges.push({ txid: "t" + i + "_" + k, from: "e" + (x % i), to: "e" + i, sats: 1e5 * (x % 10000 + 1) }); }
    }
    const result = { entities: nodes.map(v => ({ entity: v.entity, sats: v.sats, share: 0.001, min_hops: 1, max_hops: 2, cash_out: !!v.cash_out })) };
    for (const top of [150, Infinity]) {
      const t0 = performance.now();
      const flow = buildFlow(result, { nodes, edges }, { topEdges: top });
      const t1 = performance.now();
      const svg = drawGraph(flow);
      document.body.replaceChildren(svg);
      svg.getBBox();
      const t2 = performance.now();
      const sk = drawSankey(flow);
      document.body.replaceChildren(sk);
      sk.getBBox();
      const t3 = performance.now();
      out.push({ entities: n, edges: edges.length, top: top === Infinity ? "all" : top, drawn: flow.edges.length, layout_ms: t1 - t0, graph_ms: t2 - t1, sankey_ms: t3 - t2 });
    }
  }
  return out;
})()`
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](script, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 6 {
		t.Fatalf("%d measurements", len(rows))
	}
	for _, r := range rows {
		if r["top"] != "all" && r["drawn"].(float64) > 300 {
			t.Errorf("the top-edge filter drew %v edges of %v", r["drawn"], r["edges"])
		}
		t.Logf("entities %5.0f edges %6.0f top %-4v drawn %6.0f: layout %7.1f ms, graph %7.1f ms, Sankey %7.1f ms",
			r["entities"], r["edges"], r["top"], r["drawn"], r["layout_ms"], r["graph_ms"], r["sankey_ms"])
	}
}

// The browser test's further steps: every export button's file, the
// server's PDF report, labels written from the page, keyboard operation
// and contrast. Each runs in TestBrowser's browser, on its demo case.

// cashOut is a cash-out entity of the API's trace answer.
type cashOut struct {
	entity int64
	label  string
	sats   int64
}

// reportBTC is how the server's report writes an amount (no thousands
// separators, unlike the page).
func reportBTC(sats int64) string { return fmt.Sprintf("%d.%08d BTC", sats/1e8, sats%1e8) }

// allowDownloads makes the browser save downloads into a new directory.
func allowDownloads(t *testing.T, ctx context.Context) string {
	t.Helper()
	dir := t.TempDir()
	events := true
	if _, err := chromedp.CallBrowser(ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir, EventsEnabled: &events}); err != nil {
		t.Fatalf("allow downloads: %v", err)
	}
	return dir
}

// download clicks sel and returns the file named name that the browser
// saves (it waits up to 30 s for the download to finish).
func download(t *testing.T, ctx context.Context, dir, sel, name string) []byte {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(sel))); err != nil {
		t.Fatalf("click %s: %v", sel, err)
	}
	p := filepath.Join(dir, name)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(p + ".crdownload"); err == nil {
			continue
		}
		if b, err := os.ReadFile(p); err == nil && len(b) > 0 {
			return b
		}
	}
	ls, _ := os.ReadDir(dir)
	t.Fatalf("%s: no %s downloaded within 30 s (directory holds %v)", sel, name, ls)
	return nil
}

// checkExports clicks each export of the trace workspace (the page shows
// the graph) and checks each file's content against the API's answer.
func checkExports(t *testing.T, ctx context.Context, dir string, outs []cashOut, graphNodes int) {
	t.Run("flows CSV", func(t *testing.T) {
		rows, err := csv.NewReader(bytes.NewReader(download(t, ctx, dir, `button[data-export="csv"]`, "trace-flows.csv"))).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("CSV: %v, %d rows", err, len(rows))
		}
		col := map[string]int{}
		for i, h := range rows[0] {
			col[h] = i
		}
		got := map[string]string{}
		for _, r := range rows[1:] {
			if r[col["cash_out"]] == "true" && r[col["address"]] == "" {
				got[r[col["entity"]]] = r[col["sats"]]
			}
		}
		for _, o := range outs {
			if got[strconv.FormatInt(o.entity, 10)] != strconv.FormatInt(o.sats, 10) {
				t.Errorf("CSV: cash-out entity %d (%s) has %q sats, the API %d", o.entity, o.label, got[strconv.FormatInt(o.entity, 10)], o.sats)
			}
		}
		if len(got) != len(outs) {
			t.Errorf("CSV: %d cash-out entity rows, the API has %d", len(got), len(outs))
		}
	})
	t.Run("graph JSON", func(t *testing.T) {
		var g struct {
			Nodes []map[string]any `json:"nodes"`
			Edges []map[string]any `json:"edges"`
		}
		if err := json.Unmarshal(download(t, ctx, dir, `button[data-export="json"]`, "trace-graph.json"), &g); err != nil {
			t.Fatalf("graph JSON: %v", err)
		}
		if len(g.Nodes) != graphNodes || len(g.Edges) == 0 {
			t.Errorf("graph JSON: %d nodes and %d edges; the API answered %d nodes", len(g.Nodes), len(g.Edges), graphNodes)
		}
	})
	drawn, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => { const s = document.querySelector("#viz svg");
  return [document.querySelectorAll("#viz svg g.node").length, s.width.baseVal.value, s.height.baseVal.value]; })()`))
	if err != nil {
		t.Fatal(err)
	}
	t.Run("SVG", func(t *testing.T) {
		b := download(t, ctx, dir, `button[data-export="svg"]`, "trace.svg")
		dec := xml.NewDecoder(bytes.NewReader(b))
		nodes, texts := 0, ""
		for {
			tok, err := dec.Token()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("SVG is not XML: %v", err)
			}
			switch e := tok.(type) {
			case xml.StartElement:
				for _, a := range e.Attr {
					if e.Name.Local == "g" && a.Name.Local == "class" && strings.HasPrefix(a.Value, "node ") {
						nodes++
					}
				}
			case xml.CharData:
				texts += string(e) + "\n"
			}
		}
		if nodes != int(drawn[0]) || nodes == 0 {
			t.Errorf("SVG: %d nodes, the page draws %v", nodes, drawn[0])
		}
		for _, o := range outs {
			if !strings.Contains(texts, fmt.Sprintf("%.8f BTC", float64(o.sats)/1e8)) {
				t.Errorf("SVG lacks the amount of %s", o.label)
			}
		}
	})
	t.Run("PNG", func(t *testing.T) {
		img, err := png.Decode(bytes.NewReader(download(t, ctx, dir, `button[data-export="png"]`, "trace.png")))
		if err != nil {
			t.Fatalf("PNG: %v", err)
		}
		if b := img.Bounds(); b != image.Rect(0, 0, int(drawn[1]), int(drawn[2])) {
			t.Errorf("PNG is %v, the graph %v×%v", b, drawn[1], drawn[2])
		}
		// Not blank: the nodes are drawn in colour on white.
		colours := map[[3]uint32]bool{}
		for y := img.Bounds().Min.Y; y < img.Bounds().Max.Y; y += 3 {
			for x := img.Bounds().Min.X; x < img.Bounds().Max.X; x += 3 {
				r, g, b, _ := img.At(x, y).RGBA()
				colours[[3]uint32{r >> 12, g >> 12, b >> 12}] = true
			}
		}
		if len(colours) < 4 {
			t.Errorf("PNG has %d colours: blank", len(colours))
		}
	})
	t.Run("HTML report", func(t *testing.T) {
		html := string(download(t, ctx, dir, `button[data-export="html"]`, "trace-report.html"))
		for _, o := range outs {
			if !strings.Contains(html, btcText(float64(o.sats))) {
				t.Errorf("HTML report lacks %s %s", o.label, btcText(float64(o.sats)))
			}
		}
	})
}

// checkServerPDF saves the trace to the case (the server runs it again)
// and downloads the server's PDF report from the trace page and the HTML
// one from the case page: both hold every cash-out amount.
func checkServerPDF(t *testing.T, ctx context.Context, dir string, caseID int, outs []cashOut) {
	sel := fmt.Sprintf(`select[aria-label="case to save the trace to"] option[value="%d"]`, caseID)
	if err := chromedp.Do(ctx, chromedp.WaitReady(chromedp.CSS(sel)),
		chromedp.Click(chromedp.Search(`//button[text()="Save"]`)),
		chromedp.WaitVisible(chromedp.CSS(`button[data-export="report-pdf"]`))); err != nil {
		t.Fatalf("save the trace to case %d: %v", caseID, err)
	}
	text := pdftest.Squeeze(pdftest.Text(t, download(t, ctx, dir, `button[data-export="report-pdf"]`, fmt.Sprintf("case-%d-report.pdf", caseID))))
	for _, o := range outs {
		if !strings.Contains(text, pdftest.Squeeze(reportBTC(o.sats))) {
			t.Errorf("the server's PDF report lacks %s %s", o.label, reportBTC(o.sats))
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(fmt.Sprintf("%s#/case/%d", baseURL(t, ctx), caseID)),
		chromedp.WaitVisible(chromedp.CSS(`button[data-export="report-html"]`))); err != nil {
		t.Fatal(err)
	}
	html := string(download(t, ctx, dir, `button[data-export="report-html"]`, fmt.Sprintf("case-%d-report.html", caseID)))
	for _, o := range outs {
		if !strings.Contains(html, reportBTC(o.sats)) {
			t.Errorf("the server's HTML report lacks %s %s", o.label, reportBTC(o.sats))
		}
	}
}

func baseURL(t *testing.T, ctx context.Context) string {
	u, err := chromedp.Run(ctx, chromedp.Evaluate[string](`location.origin + "/"`))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// checkLabels adds a label on the address page open in the browser: an
// unknown category is refused inline; a sanction label in the case shows
// in the labels, changes the risk and reaches the case's audit log; the
// Remove button takes it away and the risk returns.
func checkLabels(t *testing.T, ctx context.Context, url string, caseID int) {
	risk := func() string {
		v, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#main .risk`)))
		if err != nil {
			t.Fatalf("risk: %v", err)
		}
		return v
	}
	before := risk()
	fill := func(category string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			for _, a := range []struct {
				what string
				do   chromedp.Action[chromedp.Void]
			}{
				{"clear the form", clearInputs("lf-category", "lf-label")},
				{"type the category", chromedp.SendKeys(chromedp.ID(`lf-category`), category)},
				{"type the label", chromedp.SendKeys(chromedp.ID(`lf-label`), "Browser-test wallet")},
				{"wait for the case", chromedp.WaitReady(chromedp.CSS(fmt.Sprintf(`#lf-case option[value="%d"]`, caseID)))},
				{"choose the case", chromedp.SetValue(chromedp.ID(`lf-case`), strconv.Itoa(caseID))},
				{"submit", chromedp.Click(chromedp.CSS(`#label-form button[type="submit"]`))},
			} {
				if err := chromedp.Do(ctx, a.do); err != nil {
					return fmt.Errorf("%s: %w", a.what, err)
				}
			}
			return nil
		})
	}
	if err := chromedp.Do(ctx, fill("no_such_concept"), chromedp.WaitVisible(chromedp.CSS(`#lf-msg .error`))); err != nil {
		t.Fatalf("refused label: %v", err)
	}
	if msg, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`#lf-msg .error`))); !strings.Contains(msg, "taxonomy") {
		t.Errorf("the refused label shows %q; want the server's problem (the taxonomy, the field)", msg)
	}
	checkContrast(t, ctx, []string{".risk", ".explain", "#label-form label", "#lf-msg .error", "#label-form button", "td", "th", "dl.kv dt"})
	if err := chromedp.Do(ctx, fill("sanction"),
		chromedp.WaitVisible(chromedp.Search(`//table[@aria-label="labels"]//td[text()="Browser-test wallet"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-label="labels added from this browser"] button`))); err != nil {
		t.Fatalf("add a label: %v", err)
	}
	after := risk()
	t.Logf("risk %q before the sanction label, %q after", before, after)
	if after == before || !strings.EqualFold(after, "severe") {
		t.Errorf("risk %q after a sanction label (before %q); want Severe", after, before)
	}
	resp, err := http.Get(fmt.Sprintf("%s/v1/cases/%d/audit", url, caseID))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(b), `"add_label"`) || !strings.Contains(string(b), "Browser-test wallet") {
		t.Errorf("the case's audit log lacks the label: %s", b)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`table[aria-label="labels added from this browser"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`table[aria-label="labels added from this browser"]`))); err != nil {
		t.Fatalf("remove the label: %v", err)
	}
	if labels, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#main`))); strings.Contains(labels, "Browser-test wallet") {
		t.Error("the removed label is still shown")
	}
	if r := risk(); r != before {
		t.Errorf("risk %q after removing the label, want %q again", r, before)
	}
}

// checkEntityLabel labels the entity of the address page open in the
// browser, with markup in its name: the entity page shows the name as
// text (U2), and Remove takes the label away.
func checkEntityLabel(t *testing.T, ctx context.Context) {
	const name = `<b id="injected">Browser-test</b> (entity)`
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#main dl.kv a[href^="#/entity/"]`)),
		chromedp.WaitVisible(chromedp.ID(`label-form`)),
		chromedp.SendKeys(chromedp.ID(`lf-category`), "exchange"), chromedp.SendKeys(chromedp.ID(`lf-label`), name),
		chromedp.SetValue(chromedp.ID(`lf-case`), ""),
		chromedp.Click(chromedp.CSS(`#label-form button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS(`table[aria-label="labels added from this browser"] button`))); err != nil {
		t.Fatalf("label the entity: %v", err)
	}
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('table[aria-label="labels"] td')].map(td => td.textContent)`))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(cells, "\n"), name) {
		t.Errorf("the entity's labels lack %q: %v", name, cells)
	}
	if n, _ := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("#injected").length`)); n != 0 {
		t.Error("a label's name became markup")
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`table[aria-label="labels added from this browser"] button`)),
		chromedp.WaitNotPresent(chromedp.CSS(`table[aria-label="labels added from this browser"]`))); err != nil {
		t.Fatalf("remove the entity's label: %v", err)
	}
	if text, _ := chromedp.Run(ctx, chromedp.TextContent(chromedp.CSS(`#main`))); strings.Contains(text, "Browser-test</b>") {
		t.Error("the removed label is still shown")
	}
}

// clearInputs empties the inputs with these ids (chromedp.SetValue
// cannot set "").
func clearInputs(ids ...string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		arg, _ := json.Marshal(ids)
		_, err := chromedp.Evaluate[int](`(`+string(arg)+`).map(id => { document.getElementById(id).value = ""; return 1; }).length`)(ctx, t)
		return err
	})
}

// checkKeyboard works the trace workspace with Tab and Enter only: type
// the sources, tab through the parameters to the Trace button, run it,
// tab on to a node of the graph and open its entity.
func checkKeyboard(t *testing.T, ctx context.Context, url string, theft []string) {
	active := `(() => { const e = document.activeElement; if (!e || e === document.body) return "body";
  return e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + (e.name ? "[" + e.name + "]" : "") + (e.getAttribute("class") ? "." + e.getAttribute("class").split(" ").join(".") : "") + (e.tagName === "BUTTON" ? ":" + e.textContent : ""); })()`
	// tabTo presses Tab until the focused element matches want (at most
	// max presses) and returns the order it went through.
	tabTo := func(want func(string) bool, max int) []string {
		var order []string
		for range max {
			if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
				t.Fatal(err)
			}
			a, err := chromedp.Run(ctx, chromedp.Evaluate[string](active))
			if err != nil {
				t.Fatal(err)
			}
			if len(order) == 0 || order[len(order)-1] != a {
				order = append(order, a)
			}
			if want(a) {
				return order
			}
		}
		t.Fatalf("%d Tabs did not reach the element; focus went %v", max, order)
		return nil
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(url+"/#/trace"), chromedp.WaitVisible(chromedp.ID(`sources`))); err != nil {
		t.Fatal(err)
	}
	tabTo(func(a string) bool { return strings.HasPrefix(a, "textarea#sources") }, 30)
	typed := strings.Join(theft, " ")
	if err := chromedp.Do(ctx, chromedp.KeyEvent(typed)); err != nil {
		t.Fatal(err)
	}
	if v, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("sources").value`)); err != nil || v != typed {
		t.Fatalf("the sources hold %q after typing (%v); want %q", v, err, typed)
	}
	order := tabTo(func(a string) bool { return a == "button:Trace" }, 40)
	t.Logf("focus order to the Trace button: %v", order)
	for _, want := range []string{"select[direction]", "select[policy]", "input[hops]", "input[top]"} {
		if !strings.Contains(strings.Join(order, " "), want) {
			t.Errorf("Tab skips %s on the way to the Trace button: %v", want, order)
		}
	}
	// The trace ends in its summary or in an error box; either way the
	// test goes on at once (an error is reported with its text).
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.CSS(`#trace-summary, #trace-out .error`))); err != nil {
		t.Fatalf("Enter on the Trace button: %v", err)
	}
	if msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector("#trace-out .error") || {}).textContent || ""`)); msg != "" {
		t.Fatalf("Enter on the Trace button: the trace failed: %s", msg)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`#viz svg g.node`))); err != nil {
		t.Fatalf("the trace's graph: %v", err)
	}
	a11y, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`(() => { const ns = [...document.querySelectorAll("#viz svg g.node")];
  return { nodes: ns.length, focusable: ns.filter(n => n.getAttribute("tabindex") === "0").length, labelled: ns.filter(n => (n.getAttribute("aria-label") || "").length > 3).length,
    svgRole: document.querySelector("#viz svg").getAttribute("role") }; })()`))
	if err != nil {
		t.Fatal(err)
	}
	if n := a11y["nodes"].(float64); n == 0 || a11y["focusable"] != n || a11y["labelled"] != n || a11y["svgRole"] == "img" {
		t.Errorf("graph nodes: %v; want every node focusable (tabindex 0) and labelled, in an SVG that is not role=img (which hides its children)", a11y)
	}
	order = tabTo(func(a string) bool { return strings.HasPrefix(a, "g.node") }, 60)
	t.Logf("focus order from the Trace button to the first graph node: %d stops", len(order))
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.Search(`//h1[starts-with(., "Entity")]`))); err != nil {
		t.Fatalf("Enter on a graph node: %v", err)
	}
}

// contrastJS computes the WCAG 2 contrast ratio of the first element
// matching each selector: its text colour (fill for SVG text) against
// the first opaque background up its ancestors (white at the root).
const contrastJS = `((sels) => {
  const parse = (c) => { const p = c.match(/[\d.]+/g).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
  const lum = ({ r, g, b }) => { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); };
  const bg = (el) => { for (let e = el; e; e = e.parentElement) { const c = parse(getComputedStyle(e).backgroundColor); if (c.a > 0) return c; } return { r: 255, g: 255, b: 255, a: 1 }; };
  return sels.map((sel) => {
    const el = document.querySelector(sel);
    if (!el) return { sel, found: false };
    const st = getComputedStyle(el);
    const fg = parse(el instanceof SVGElement ? st.fill : st.color), b = bg(el instanceof SVGElement ? el.closest("div") : el);
    const [hi, lo] = [lum(fg), lum(b)].sort((x, y) => y - x);
    return { sel, found: true, fg: st.color, ratio: (hi + 0.05) / (lo + 0.05) };
  });
})`

// checkContrast asserts a contrast of at least 4.5:1 (WCAG AA for normal
// text) for the first element of each selector; each must be on the page.
func checkContrast(t *testing.T, ctx context.Context, sels []string) {
	t.Helper()
	arg, _ := json.Marshal(sels)
	rows, err := chromedp.Run(ctx, chromedp.Evaluate[[]map[string]any](contrastJS+"("+string(arg)+")"))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if r["found"] != true {
			t.Errorf("contrast: nothing matches %s on this page", r["sel"])
			continue
		}
		if ratio := r["ratio"].(float64); ratio < 4.5 {
			t.Errorf("contrast of %s (%v): %.2f:1, want at least 4.5:1", r["sel"], r["fg"], ratio)
		} else {
			t.Logf("contrast of %-34s %5.2f:1", r["sel"], ratio)
		}
	}
}
