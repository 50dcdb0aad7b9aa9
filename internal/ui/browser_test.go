package ui_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

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
	t.Run("keyboard", func(t *testing.T) { checkKeyboard(t, ctx, url, theft) })
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
