package pdf

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/pdf/pdftest"
)

// unliteral reads the string literal at the start of b (appendLiteral's
// output) and returns its bytes and what follows it.
func unliteral(b []byte) (out, rest []byte, err error) {
	if len(b) == 0 || b[0] != '(' {
		return nil, nil, fmt.Errorf("no '(' at the start")
	}
	for i := 1; i < len(b); i++ {
		switch c := b[i]; {
		case c == ')':
			return out, b[i+1:], nil
		case c == '(':
			return nil, nil, fmt.Errorf("unescaped '(' at %d", i)
		case c == '\\':
			if i+1 >= len(b) {
				return nil, nil, fmt.Errorf("escape at the end")
			}
			if d := b[i+1]; d >= '0' && d <= '7' {
				if i+3 >= len(b) {
					return nil, nil, fmt.Errorf("short octal escape at %d", i)
				}
				v, err := strconv.ParseUint(string(b[i+1:i+4]), 8, 16)
				if err != nil || v > 255 {
					return nil, nil, fmt.Errorf("octal escape %q at %d", b[i+1:i+4], i)
				}
				out = append(out, byte(v))
				i += 3
			} else {
				out = append(out, d)
				i++
			}
		case c < 0x20 || c > 0x7E:
			return nil, nil, fmt.Errorf("raw byte %#x at %d", c, i)
		default:
			out = append(out, c)
		}
	}
	return nil, nil, fmt.Errorf("no closing ')'")
}

func TestEncodeAndLiteral(t *testing.T) {
	for _, tc := range []struct{ in, lit string }{
		{"plain 1.50000000 BTC", "(plain 1.50000000 BTC)"},
		{"a(b)c\\d", `(a\(b\)c\\d)`},
		{")) unbalanced ((", `(\)\) unbalanced \(\()`},
		{"café – naïve … €", `(caf\351 \226 na\357ve \205 \200)`},
		{"→ 日本 \U0001F600", "(? ?? ?)"},
		{"tab\tnl\nnul\x00", "(tab nl nul )"},
		{"bad \xff utf-8", "(bad ? utf-8)"},
	} {
		got := string(appendLiteral(nil, Encode(tc.in)))
		if got != tc.lit {
			t.Errorf("%q: literal %s, want %s", tc.in, got, tc.lit)
		}
	}
}

func TestWidths(t *testing.T) {
	for _, tc := range []struct {
		f    Font
		s    string
		want float64
	}{
		{Helvetica, "A", 6.67}, {Helvetica, "ÿ", 5}, {Helvetica, "€", 5.56}, {Helvetica, "~", 5.84},
		{Helvetica, "i l", 7.22}, {Courier, "0123456789", 60}, {Bold, "i", 2.78}, {Bold, "Wm", 18.33}, {Bold, "é", 6.11},
	} {
		if got := width(tc.f, Encode(tc.s), 10); fmt.Sprintf("%.3f", got) != fmt.Sprintf("%.3f", tc.want) {
			t.Errorf("width(%d, %q, 10) = %.3f, want %.3f", tc.f, tc.s, got, tc.want)
		}
	}
}

func TestWrap(t *testing.T) {
	txid := strings.Repeat("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16", 3)
	for _, tc := range []struct {
		name  string
		runs  []Run
		w     float64
		lines int
	}{
		{"one line", []Run{{Helvetica, "Traced 1.00000000 BTC"}}, 300, 1},
		{"words wrap", []Run{{Helvetica, strings.Repeat("word ", 40)}}, 100, 0},
		{"txid cut in a narrow cell", []Run{{Courier, txid}}, 80, 0},
		{"mixed runs", []Run{{Helvetica, "exchange A: 1.0 BTC via "}, {Courier, txid}, {Helvetica, " > done"}}, 200, 0},
		{"newlines", []Run{{Helvetica, "a\nb\n\nc"}}, 200, 3},
		{"empty", []Run{{Helvetica, ""}}, 200, 0},
	} {
		lines := wrap(tc.runs, tc.w, bodySize)
		if tc.lines != 0 && len(lines) != tc.lines {
			t.Errorf("%s: %d lines, want %d", tc.name, len(lines), tc.lines)
		}
		var got, want strings.Builder
		for _, l := range lines {
			for _, s := range l {
				if end := s.x + width(s.font, s.b, bodySize); end > tc.w+1e-9 {
					t.Errorf("%s: %q ends at %.1f, past the width %.1f", tc.name, s.b, end, tc.w)
				}
				got.WriteString(strings.ReplaceAll(string(s.b), " ", ""))
			}
		}
		for _, r := range tc.runs {
			want.WriteString(strings.Join(strings.Fields(string(Encode(r.Text))), ""))
		}
		if got.String() != want.String() {
			t.Errorf("%s: wrapped text %q, want %q", tc.name, got.String(), want.String())
		}
	}
}

var objRe = regexp.MustCompile(`^(\d+) 0 obj\n`)

// checkFile holds a rendered file to the format: header, every object
// where the cross-reference table says, the trailer, and string literals
// that parse (P1).
func checkFile(t testing.TB, b []byte) {
	t.Helper()
	if !bytes.HasPrefix(b, []byte("%PDF-1.4\n")) || !bytes.HasSuffix(b, []byte("%%EOF\n")) {
		t.Fatalf("no PDF header or trailer")
	}
	i := bytes.LastIndex(b, []byte("startxref\n"))
	if i < 0 {
		t.Fatal("no startxref")
	}
	xref, err := strconv.Atoi(string(bytes.TrimSpace(bytes.TrimSuffix(b[i+10:], []byte("%%EOF\n")))))
	if err != nil || xref >= len(b) || !bytes.HasPrefix(b[xref:], []byte("xref\n0 ")) {
		t.Fatalf("startxref %d does not point at the xref table (%v)", xref, err)
	}
	var size int
	if _, err := fmt.Sscanf(string(b[xref:]), "xref\n0 %d\n", &size); err != nil {
		t.Fatal(err)
	}
	rows := b[xref+bytes.IndexByte(b[xref+5:], '\n')+6:]
	for n := 1; n < size; n++ {
		row := rows[20*n : 20*n+20]
		off, err := strconv.Atoi(string(row[:10]))
		if err != nil {
			t.Fatalf("xref row %d: %q", n, row)
		}
		m := objRe.FindSubmatch(b[off:])
		if m == nil || string(m[1]) != strconv.Itoa(n) {
			t.Fatalf("xref says object %d is at %d; there: %.20q", n, off, b[off:])
		}
	}
	// Literals outside streams (the title) parse and close.
	if j := bytes.Index(b, []byte("/Title (")); j >= 0 {
		if _, rest, err := unliteral(b[j+7:]); err != nil || !bytes.HasPrefix(rest, []byte(" >>")) {
			t.Fatalf("title literal: %v", err)
		}
	}
}

// sample is a document with every element, hostile text in each.
func sample(hostile string, rows int) *Doc {
	d := New("Case 1: "+hostile, "sleuth case 1 "+hostile)
	d.Heading(1, "Case 1: "+hostile)
	d.Paragraph(Run{Helvetica, "Traced 12.34500000 BTC; " + hostile + " ("}, Run{Courier, hostile})
	d.Heading(2, "Where the money went")
	var table [][]Run
	for i := range rows {
		table = append(table, []Run{{Helvetica, fmt.Sprintf("exchange %d %s", i, hostile)}, {Helvetica, "exchange"},
			{Helvetica, fmt.Sprintf("%d.%08d BTC", i, i)}, {Courier, strings.Repeat("ab", 40) + hostile}})
	}
	d.Table([]Column{{"Entity", 0.3, false}, {"Category", 0.15, false}, {"Received", 0.2, true}, {"Txid", 0.35, false}}, table)
	d.Item(1, Run{Helvetica, "path: "}, Run{Courier, hostile})
	return d
}

func render(t testing.TB, d *Doc) []byte {
	var b bytes.Buffer
	if err := d.Write(&b); err != nil {
		t.Fatal(err)
	}
	checkFile(t, b.Bytes())
	return b.Bytes()
}

// TestPdftotext renders documents with hostile text and long tables and
// reads them back with poppler: every page numbered, the text there.
func TestPdftotext(t *testing.T) {
	longTxid := strings.Repeat("0123456789abcdef", 64)
	for _, tc := range []struct {
		name, hostile string
		rows          int
		want          []string
	}{
		{"parentheses and backslashes", `a) (b \) \\ (c`, 3, []string{`a) (b \) \\ (c`, "2.00000002 BTC"}},
		{"non-Latin-1", "Dürer → 東京 €5", 2, []string{"Dürer ? ?? €5"}},
		{"long txid", longTxid, 2, []string{longTxid[:40], "1.00000001 BTC"}},
		{"many pages", "x", 400, []string{"exchange 399 x", "399.00000399 BTC", "page 1 of ", "Entity"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := sample(tc.hostile, tc.rows)
			text := pdftest.Text(t, render(t, d))
			for _, w := range tc.want {
				if !strings.Contains(pdftest.Squeeze(text), pdftest.Squeeze(w)) {
					t.Errorf("pdftotext lacks %q:\n%.3000s", w, text)
				}
			}
			n := len(d.pages)
			if !strings.Contains(text, fmt.Sprintf("page %d of %d", n, n)) {
				t.Errorf("no footer on the last of %d pages", n)
			}
			if tc.rows > 100 && n < 3 {
				t.Errorf("%d rows on %d pages", tc.rows, n)
			}
			if strings.Count(text, "Entity") < n-1 {
				t.Errorf("the table's header is on %d of %d pages", strings.Count(text, "Entity"), n)
			}
		})
	}
}

// TestTallRow: a cell longer than a page (an audit event listing a
// thousand sources) continues on the next pages, whole and in order.
func TestTallRow(t *testing.T) {
	long := strings.Repeat("0123456789", 1500)
	d := New("tall", "tall")
	d.Table([]Column{{"Detail", 1, false}}, [][]Run{{{Courier, long}}, {{Helvetica, "after"}}})
	text := pdftest.Squeeze(pdftest.Text(t, render(t, d)))
	if len(d.pages) < 3 {
		t.Errorf("%d characters on %d pages", len(long), len(d.pages))
	}
	// Each page repeats the header and ends with its footer.
	var body strings.Builder
	for _, page := range strings.Split(text, "Detail")[1:] {
		body.WriteString(page[:strings.Index(page, "tallpage")])
	}
	if body.String() != long+"after" {
		t.Errorf("the cell reads back as %d characters, want %d and then the next row", len(body.String()), len(long)+5)
	}
}

func FuzzEscape(f *testing.F) {
	for _, s := range []string{"", "a(b)c", `\\(`, "é€→", "\x00\xff\n", ")))"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := Encode(s)
		lit := appendLiteral(nil, enc)
		got, rest, err := unliteral(lit)
		if err != nil || len(rest) != 0 {
			t.Fatalf("literal %q of %q: %v (rest %q)", lit, s, err, rest)
		}
		if !bytes.Equal(got, enc) {
			t.Fatalf("literal %q reads back %q, want %q", lit, got, enc)
		}
	})
}

func FuzzDocument(f *testing.F) {
	for _, s := range []string{"", "a(b)c", strings.Repeat("ff", 300), "é\n€→\\", "\t\r\n "} {
		f.Add(s, uint8(3))
	}
	f.Fuzz(func(t *testing.T, s string, rows uint8) {
		if len(s) > 2000 {
			s = s[:2000]
		}
		render(t, sample(s, int(rows%16)))
	})
}

// BenchmarkReport lays out and writes a large case report's shape: a
// 1,000-row table (the audit log of a busy case) with a txid column and
// 200 numbered evidence paths. docs/BENCHMARKS.md records the figures.
func BenchmarkReport(b *testing.B) {
	txid := "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	rows := make([][]Run, 1000)
	for i := range rows {
		rows[i] = []Run{{Helvetica, strconv.Itoa(i + 1)}, {Helvetica, "2026-12-06 23:00:53"}, {Helvetica, "write client (key 3)"},
			{Helvetica, "add_sources"}, {Courier, "added 2 sources: " + txid + ", 1BqDEJf2XJKFbAvABF3KPqcxVRRErWtCgJ"}}
	}
	cols := []Column{{"#", 0.06, true}, {"When", 0.22, false}, {"Who", 0.16, false}, {"What", 0.13, false}, {"Detail", 0.43, false}}
	var size int
	b.ReportAllocs()
	for b.Loop() {
		d := New("Case 1: benchmark", "sleuth case report")
		d.Heading(1, "Case 1: benchmark")
		for i := range 200 {
			d.Item(i+1, Run{Helvetica, "Exchange A: 1.00000000 BTC via "}, Run{Courier, txid}, Run{Helvetica, " > "}, Run{Courier, txid})
		}
		d.Table(cols, rows)
		var out bytes.Buffer
		if err := d.Write(&out); err != nil {
			b.Fatal(err)
		}
		size = out.Len()
	}
	b.ReportMetric(float64(size), "bytes/report")
}
