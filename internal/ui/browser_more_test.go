package ui_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/sleuth-forensics/sleuth/internal/pdf/pdftest"
)

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
	if err := chromedp.Do(ctx, chromedp.KeyEvent(strings.Join(theft, " "))); err != nil {
		t.Fatal(err)
	}
	order := tabTo(func(a string) bool { return a == "button:Trace" }, 40)
	t.Logf("focus order to the Trace button: %v", order)
	for _, want := range []string{"select[direction]", "select[policy]", "input[hops]", "input[top]"} {
		if !strings.Contains(strings.Join(order, " "), want) {
			t.Errorf("Tab skips %s on the way to the Trace button: %v", want, order)
		}
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Enter), chromedp.WaitVisible(chromedp.ID(`trace-summary`)), chromedp.WaitVisible(chromedp.CSS(`#viz svg g.node`))); err != nil {
		t.Fatalf("Enter on the Trace button: %v", err)
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
