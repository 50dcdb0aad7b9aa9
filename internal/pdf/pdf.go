package pdf

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"strconv"
)

// Page geometry (A4, points) and type sizes.
const (
	pageW    = 595.28
	pageH    = 841.89
	margin   = 50.0
	contentW = pageW - 2*margin
	bottom   = margin + 14 // the footer sits below
	bodySize = 9.5
	leading  = 1.3
	cellPad  = 3.0
)

// Run is text in one font; a paragraph is a sequence of runs.
type Run struct {
	Font Font
	Text string
}

// Column is one column of a table: its title, its share of the text
// width (the shares of a table's columns should add up to at most 1) and
// whether its cells are right-aligned (amounts).
type Column struct {
	Title string
	Width float64
	Right bool
}

// Doc is a document being laid out; Write renders it. The zero value is
// not usable: call New.
type Doc struct {
	title, footer string
	pages         []*bytes.Buffer
	page          *bytes.Buffer
	y             float64 // the baseline area still free starts here, from the bottom
}

// New starts a document; title goes into its metadata and footer to the
// left of every page's number.
func New(title, footer string) *Doc {
	d := &Doc{title: title, footer: footer}
	d.newPage()
	return d
}

func (d *Doc) newPage() {
	d.page = &bytes.Buffer{}
	d.pages = append(d.pages, d.page)
	d.y = pageH - margin
}

// ensure starts a new page unless h points fit above the bottom margin.
func (d *Doc) ensure(h float64) {
	if d.y-h < bottom && d.y < pageH-margin {
		d.newPage()
	}
}

func num(x float64) string { return strconv.FormatFloat(x, 'f', 2, 64) }

// text draws WinAnsi bytes b at (x, y), the baseline's left end.
func (d *Doc) text(f Font, size, x, y float64, b []byte) {
	buf := d.page
	fmt.Fprintf(buf, "BT /F%d %s Tf 1 0 0 1 %s %s Tm ", f+1, num(size), num(x), num(y))
	buf.Write(appendLiteral(nil, b))
	buf.WriteString(" Tj ET\n")
}

// seg is a piece of a line in one font, x from the line's start.
type seg struct {
	font Font
	x    float64
	b    []byte
}

type line []seg

// token is a word: no spaces inside; space says a space precedes it;
// brk that a line break does.
type token struct {
	font  Font
	b     []byte
	space bool
	brk   bool
}

func tokenize(runs []Run) []token {
	var out []token
	space, brk := false, false
	for _, r := range runs {
		var cur []byte
		flush := func() {
			if len(cur) > 0 {
				out = append(out, token{font: r.Font, b: cur, space: space, brk: brk})
				cur, space, brk = nil, false, false
			}
		}
		for _, c := range r.Text {
			switch c {
			case '\n':
				flush()
				brk = true
			case ' ', '\t', '\r':
				flush()
				space = true
			default:
				cur = append(cur, winAnsiByte(c))
			}
		}
		flush()
	}
	return out
}

// wrap lays runs out in lines at most w points wide; a word wider than a
// line is cut between characters (P2).
func wrap(runs []Run, w, size float64) []line {
	var lines []line
	var cur line
	x := 0.0
	for _, t := range tokenize(runs) {
		if t.brk && (len(cur) > 0 || len(lines) > 0) {
			lines, cur, x = append(lines, cur), nil, 0
		}
		sp := 0.0
		if t.space && x > 0 {
			sp = width(t.font, []byte{' '}, size)
		}
		tw := width(t.font, t.b, size)
		if x > 0 && x+sp+tw > w {
			lines, cur, x, sp = append(lines, cur), nil, 0, 0
		}
		b := t.b
		for x+sp+tw > w && len(b) > 1 {
			// Cut the word: as many characters as fit (at least one).
			n, cw := 1, width(t.font, b[:1], size)
			for n < len(b) {
				next := cw + width(t.font, b[n:n+1], size)
				if x+next > w {
					break
				}
				n, cw = n+1, next
			}
			cur = append(cur, seg{font: t.font, x: x, b: b[:n]})
			lines, cur, x = append(lines, cur), nil, 0
			b = b[n:]
			tw = width(t.font, b, size)
		}
		if n := len(cur); n > 0 && cur[n-1].font == t.font {
			if sp > 0 {
				cur[n-1].b = append(cur[n-1].b, ' ')
			}
			cur[n-1].b = append(cur[n-1].b, b...)
		} else {
			cur = append(cur, seg{font: t.font, x: x + sp, b: append([]byte(nil), b...)})
		}
		x += sp + tw
	}
	if len(cur) > 0 {
		lines = append(lines, cur)
	}
	return lines
}

// Heading writes a heading: level 1 is the title, 2 a section, 3 a
// subsection. It moves to a new page rather than stand alone at a page's
// foot.
func (d *Doc) Heading(level int, text string) {
	size := map[int]float64{1: 16, 2: 12.5}[level]
	if size == 0 {
		size = 10.5
	}
	lines := wrap([]Run{{Bold, text}}, contentW, size)
	d.y -= size * 0.6
	d.ensure(float64(len(lines))*size*leading + 3*bodySize*leading)
	for _, l := range lines {
		d.y -= size * leading
		d.drawLine(l, size, margin)
	}
	d.y -= size * 0.2
}

func (d *Doc) drawLine(l line, size, x float64) {
	for _, s := range l {
		d.text(s.font, size, x+s.x, d.y, s.b)
	}
}

// Paragraph writes runs wrapped to the text width; '\n' breaks a line.
func (d *Doc) Paragraph(runs ...Run) {
	d.indented(0, runs)
}

// Item writes runs as the n-th item of a numbered list.
func (d *Doc) Item(n int, runs ...Run) {
	label := Encode(strconv.Itoa(n) + ".")
	d.ensure(bodySize * leading)
	d.text(Helvetica, bodySize, margin, d.y-bodySize*leading, label)
	d.indented(18, runs)
}

func (d *Doc) indented(indent float64, runs []Run) {
	lh := bodySize * leading
	lines := wrap(runs, contentW-indent, bodySize)
	if len(lines) == 0 {
		lines = []line{nil}
	}
	for _, l := range lines {
		d.ensure(lh)
		d.y -= lh
		d.drawLine(l, bodySize, margin+indent)
	}
	d.y -= bodySize * 0.5
}

// Table writes a table: a bold header row (repeated on each page the
// table continues on), then rows of cells, each one run wrapped to its
// column. A row taller than a page continues on the next.
func (d *Doc) Table(cols []Column, rows [][]Run) {
	lh := bodySize * leading
	xs := make([]float64, len(cols)+1)
	xs[0] = margin
	for i, c := range cols {
		xs[i+1] = xs[i] + c.Width*contentW
	}
	cells := func(row []Run, header bool) [][]line {
		out := make([][]line, len(cols))
		for i := range cols {
			var r Run
			switch {
			case header:
				r = Run{Bold, cols[i].Title}
			case i < len(row):
				r = row[i]
			}
			out[i] = wrap([]Run{r}, xs[i+1]-xs[i]-2*cellPad, bodySize)
		}
		return out
	}
	height := func(c [][]line) int {
		n := 1
		for _, l := range c {
			n = max(n, len(l))
		}
		return n
	}
	head := cells(nil, true)
	// drawRow draws lines [from, to) of each cell.
	drawRow := func(c [][]line, from, to int, header bool) {
		h := float64(to-from)*lh + 2*cellPad
		if header {
			fmt.Fprintf(d.page, "0.92 g %s %s %s %s re f 0 g\n", num(xs[0]), num(d.y-h), num(xs[len(cols)]-xs[0]), num(h))
		}
		for i, ls := range c {
			for j := from; j < to && j < len(ls); j++ {
				x := xs[i] + cellPad
				if cols[i].Right && !header {
					last := ls[j][len(ls[j])-1]
					x = xs[i+1] - cellPad - last.x - width(last.font, last.b, bodySize)
				}
				y := d.y - cellPad - float64(j-from+1)*lh + bodySize*0.25
				for _, s := range ls[j] {
					d.text(s.font, bodySize, x+s.x, y, s.b)
				}
			}
		}
		d.y -= h
		fmt.Fprintf(d.page, "0.75 G 0.5 w %s %s m %s %s l S 0 G\n", num(xs[0]), num(d.y), num(xs[len(cols)]), num(d.y))
	}
	fresh := func() { // a new page for the table, with its header
		d.newPage()
		drawRow(head, 0, height(head), true)
	}
	hh := float64(height(head))*lh + 2*cellPad
	d.ensure(hh + lh + 2*cellPad)
	drawRow(head, 0, height(head), true)
	room := func() int { return int((d.y - bottom - 2*cellPad) / lh) }
	for _, row := range rows {
		c := cells(row, false)
		n := height(c)
		if n > room() && n <= int((pageH-margin-bottom-hh-2*cellPad)/lh) {
			fresh()
		}
		for from, retried := 0, false; from < n; {
			k := min(n-from, room())
			if k <= 0 && !retried {
				fresh()
				retried = true
				continue
			}
			k, retried = max(k, 1), false
			drawRow(c, from, from+k, false)
			from += k
		}
	}
	d.y -= bodySize * 0.5
}

// Write renders the document as a PDF file: each page with its footer
// ("footer", "page i of n"), then the cross-reference table and the
// trailer. It may be called again, after more content too.
func (d *Doc) Write(w io.Writer) error {
	var out bytes.Buffer
	var offsets []int
	obj := func(body []byte) int {
		offsets = append(offsets, out.Len())
		fmt.Fprintf(&out, "%d 0 obj\n", len(offsets))
		out.Write(body)
		out.WriteString("\nendobj\n")
		return len(offsets)
	}
	out.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	n := len(d.pages)
	// Objects 1 (catalog) and 2 (page tree) refer to what follows: fixed
	// numbers, pages from 3+numFonts+1 on, two objects each.
	first := 3 + int(numFonts) + 1
	kids := &bytes.Buffer{}
	for i := range n {
		fmt.Fprintf(kids, "%d 0 R ", first+2*i)
	}
	obj([]byte("<< /Type /Catalog /Pages 2 0 R >>"))
	obj([]byte(fmt.Sprintf("<< /Type /Pages /Count %d /Kids [%s] >>", n, kids)))
	fonts := &bytes.Buffer{}
	for f := range numFonts {
		id := obj([]byte("<< /Type /Font /Subtype /Type1 /BaseFont /" + baseFonts[f] + " /Encoding /WinAnsiEncoding >>"))
		fmt.Fprintf(fonts, "/F%d %d 0 R ", f+1, id)
	}
	info := []byte("<< /Producer (sleuth) /Title ")
	info = appendLiteral(info, Encode(d.title))
	obj(append(info, " >>"...))
	last := d.page
	defer func() { d.page = last }()
	var z bytes.Buffer
	zw := zlib.NewWriter(&z) // one compressor, Reset per page: each costs about a megabyte
	for i, p := range d.pages {
		// The footer goes to a page of its own, written after the body.
		d.page = &bytes.Buffer{}
		label := Encode(fmt.Sprintf("page %d of %d", i+1, n))
		d.text(Helvetica, 8, margin, margin-6, Encode(d.footer))
		d.text(Helvetica, 8, pageW-margin-width(Helvetica, label, 8), margin-6, label)
		z.Reset()
		zw.Reset(&z)
		zw.Write(p.Bytes()) // writes to a bytes.Buffer do not fail
		zw.Write(d.page.Bytes())
		zw.Close()
		obj([]byte(fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %s %s] /Resources << /Font << %s>> >> /Contents %d 0 R >>",
			num(pageW), num(pageH), fonts, len(offsets)+2)))
		obj(append(fmt.Appendf(nil, "<< /Length %d /Filter /FlateDecode >>\nstream\n", z.Len()), append(z.Bytes(), "\nendstream"...)...))
	}
	xref := out.Len()
	fmt.Fprintf(&out, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&out, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&out, "trailer\n<< /Size %d /Root 1 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, first-1, xref)
	_, err := w.Write(out.Bytes())
	return err
}
