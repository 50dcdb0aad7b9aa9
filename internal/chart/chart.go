package chart

import (
	"bufio"
	"fmt"
	"html"
	"io"
	"math"
	"strconv"
	"strings"
)

// Series is one line: points (X[i], Y[i]).
type Series struct {
	Name string
	X, Y []float64
}

// Panel is one plot of the chart, with its own y axis.
type Panel struct {
	YLabel string
	Series []Series
}

// Chart is panels stacked over a shared x axis.
type Chart struct {
	Title  string
	XLabel string
	Panels []Panel
}

const (
	width   = 760
	panelH  = 220
	left    = 80
	right   = 20
	top     = 40
	gap     = 50
	bottomX = 50
)

var colours = []string{"#1f5fa8", "#b8430f", "#2e7d32", "#6a1b9a"}

// WriteSVG writes c as an SVG document.
func (c *Chart) WriteSVG(w io.Writer) error {
	bw := bufio.NewWriter(w)
	xmin, xmax := math.Inf(1), math.Inf(-1)
	for _, p := range c.Panels {
		for _, s := range p.Series {
			for _, x := range s.X {
				xmin, xmax = math.Min(xmin, x), math.Max(xmax, x)
			}
		}
	}
	if math.IsInf(xmin, 0) {
		xmin, xmax = 0, 1
	}
	xmin = math.Min(xmin, 0)
	xticks := ticks(xmin, xmax)
	xmax = math.Max(xmax, xticks[len(xticks)-1])
	height := top + len(c.Panels)*(panelH+gap) + bottomX - gap
	plotW := float64(width - left - right)
	fmt.Fprintf(bw, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(bw, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(bw, `<text x="%d" y="22" font-size="13" font-weight="bold">%s</text>`+"\n", left, esc(c.Title))
	sx := func(x float64) float64 { return float64(left) + (x-xmin)/(xmax-xmin)*plotW }
	for pi, p := range c.Panels {
		y0 := float64(top + pi*(panelH+gap))
		ymin, ymax := 0.0, math.Inf(-1)
		for _, s := range p.Series {
			for _, y := range s.Y {
				ymin, ymax = math.Min(ymin, y), math.Max(ymax, y)
			}
		}
		if math.IsInf(ymax, 0) || ymax == ymin {
			ymax = ymin + 1
		}
		yticks := ticks(ymin, ymax)
		ymax = math.Max(ymax, yticks[len(yticks)-1])
		sy := func(y float64) float64 { return y0 + panelH - (y-ymin)/(ymax-ymin)*panelH }
		fmt.Fprintf(bw, `<g><rect x="%d" y="%.1f" width="%.0f" height="%d" fill="none" stroke="#888"/>`+"\n", left, y0, plotW, panelH)
		for _, t := range yticks {
			fmt.Fprintf(bw, `<line x1="%d" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
				left, float64(left)+plotW, sy(t), sy(t), left-6, sy(t)+4, num(t))
		}
		for _, t := range xticks {
			fmt.Fprintf(bw, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%.1f" y="%.1f" text-anchor="middle">%s</text>`+"\n",
				sx(t), sx(t), y0, y0+panelH, sx(t), y0+panelH+16, num(t))
		}
		fmt.Fprintf(bw, `<text transform="translate(16 %.1f) rotate(-90)" text-anchor="middle">%s</text>`+"\n", y0+panelH/2, esc(p.YLabel))
		for si, s := range p.Series {
			if len(s.X) == 0 {
				continue
			}
			col := colours[si%len(colours)]
			var pts strings.Builder
			for i := range s.X {
				if i < len(s.Y) {
					fmt.Fprintf(&pts, "%.1f,%.1f ", sx(s.X[i]), sy(s.Y[i]))
				}
			}
			fmt.Fprintf(bw, `<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>`+"\n", col, strings.TrimSpace(pts.String()))
			fmt.Fprintf(bw, `<rect x="%.1f" y="%.1f" width="12" height="3" fill="%s"/><text x="%.1f" y="%.1f">%s</text>`+"\n",
				float64(left)+10, y0+14+float64(si)*16, col, float64(left)+28, y0+19+float64(si)*16, esc(s.Name))
		}
		fmt.Fprintln(bw, `</g>`)
	}
	fmt.Fprintf(bw, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n", float64(left)+plotW/2, height-10, esc(c.XLabel))
	fmt.Fprintln(bw, `</svg>`)
	return bw.Flush()
}

// ticks returns round tick values covering [lo, hi], about five.
func ticks(lo, hi float64) []float64 {
	span := hi - lo
	if span <= 0 || math.IsNaN(span) || math.IsInf(span, 0) {
		return []float64{lo, lo + 1}
	}
	step := math.Pow(10, math.Floor(math.Log10(span/5)))
	for _, m := range []float64{1, 2, 5, 10} {
		if span/(step*m) <= 6 {
			step *= m
			break
		}
	}
	var out []float64
	for t := math.Floor(lo/step) * step; ; t += step {
		out = append(out, t)
		if t >= hi || len(out) > 12 {
			break
		}
	}
	return out
}

// num prints a tick: 1.5M, 20k, 0.25.
func num(x float64) string {
	a := math.Abs(x)
	switch {
	case a >= 1e9:
		return strconv.FormatFloat(x/1e9, 'f', -1, 64) + "G"
	case a >= 1e6:
		return strconv.FormatFloat(x/1e6, 'f', -1, 64) + "M"
	case a >= 1e3:
		return strconv.FormatFloat(x/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(x, 'f', -1, 64)
}

func esc(s string) string { return html.EscapeString(s) }
