package chart

import (
	"bytes"
	"encoding/xml"
	"io"
	"strconv"
	"strings"
	"testing"
)

// TestWriteSVG: the chart parses as XML (C1), has one polyline per
// non-empty series with one point per sample, inside the plot area, and
// the same input gives the same bytes (C2).
func TestWriteSVG(t *testing.T) {
	c := &Chart{Title: "ingest <10M>", XLabel: "transactions", Panels: []Panel{
		{YLabel: "tx/s", Series: []Series{{Name: "rate", X: []float64{0, 1e6, 2e6, 9.7e6}, Y: []float64{80e3, 61e3, 50e3, 37e3}}}},
		{YLabel: "RSS (MB)", Series: []Series{{Name: "rss", X: []float64{0, 5e6, 9.7e6}, Y: []float64{300, 2100, 3150}}, {Name: "empty"}}},
	}}
	var a, b bytes.Buffer
	if err := c.WriteSVG(&a); err != nil {
		t.Fatal(err)
	}
	c.WriteSVG(&b)
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatal("two writes of one chart differ")
	}
	d := xml.NewDecoder(bytes.NewReader(a.Bytes()))
	var lines [][]string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "polyline" {
			for _, at := range se.Attr {
				if at.Name.Local == "points" {
					lines = append(lines, strings.Fields(at.Value))
				}
			}
		}
	}
	if len(lines) != 2 || len(lines[0]) != 4 || len(lines[1]) != 3 {
		t.Fatalf("polylines %v, want 2 with 4 and 3 points", lines)
	}
	for _, l := range lines {
		for _, p := range l {
			xs, ys, _ := strings.Cut(p, ",")
			x, _ := strconv.ParseFloat(xs, 64)
			y, _ := strconv.ParseFloat(ys, 64)
			if x < left || x > width-right || y < top || y > float64(top+2*(panelH+gap)) {
				t.Errorf("point %s outside the plot", p)
			}
		}
	}
	if !strings.Contains(a.String(), "ingest &lt;10M&gt;") {
		t.Error("title not escaped")
	}
}

func TestTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		first  float64
		step   float64
	}{
		{0, 9.7e6, 0, 2e6},
		{0, 83000, 0, 20000},
		{0, 1, 0, 0.2},
		{5, 5, 5, 1},
	} {
		got := ticks(tc.lo, tc.hi)
		if got[0] != tc.first || got[1]-got[0] != tc.step || got[len(got)-1] < tc.hi {
			t.Errorf("ticks(%g, %g) = %v", tc.lo, tc.hi, got)
		}
	}
}
