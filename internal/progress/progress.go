// Package progress shows how far long work has come: a one-line bar redrawn
// in place when the output is a terminal, otherwise a log line every few
// seconds so that redirected output and CI logs stay readable.
//
// # Owns
//
// Rendering of progress; nothing about what is measured.
//
// # Does not touch
//
// The work itself: callers push Update values in.
package progress

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"golang.org/x/term"
)

// Update is one observation of a phase's progress.
type Update struct {
	Phase   string
	Done    int64 // units done
	Total   int64 // units in all (0 if unknown)
	Unit    string
	Txs     uint64 // transactions processed so far, for a rate
	Height  int64
	Elapsed time.Duration
	Final   bool
}

// Reporter draws Updates.
type Reporter struct {
	w        io.Writer
	tty      bool
	log      *slog.Logger
	every    time.Duration
	last     time.Time
	drawn    bool
	curPhase string
}

// New returns a Reporter writing to f: a bar when f is a terminal, log lines
// through logger (every logEvery) otherwise.
func New(f *os.File, logger *slog.Logger, logEvery time.Duration) *Reporter {
	return &Reporter{w: f, tty: term.IsTerminal(int(f.Fd())), log: logger, every: logEvery}
}

// Report draws or logs u.
func (r *Reporter) Report(u Update) {
	if r.tty {
		r.draw(u)
		return
	}
	if u.Final || time.Since(r.last) >= r.every {
		r.last = time.Now()
		r.log.Info(u.Phase, "done", u.Done, "total", u.Total, "height", u.Height, "txs", u.Txs,
			"tx_per_s", int64(rate(u)), "elapsed", u.Elapsed.Round(time.Second))
	}
}

func rate(u Update) float64 {
	if u.Elapsed <= 0 {
		return 0
	}
	return float64(u.Txs) / u.Elapsed.Seconds()
}

func (r *Reporter) draw(u Update) {
	if r.drawn && u.Phase != r.curPhase {
		fmt.Fprintln(r.w)
	}
	r.curPhase, r.drawn = u.Phase, true
	const width = 30
	bar := strings.Repeat(" ", width)
	eta := ""
	if u.Total > 0 {
		n := int(int64(width) * u.Done / u.Total)
		bar = strings.Repeat("=", n) + strings.Repeat(" ", width-n)
		if u.Done > 0 && u.Done < u.Total {
			left := time.Duration(float64(u.Elapsed) * float64(u.Total-u.Done) / float64(u.Done))
			eta = " ETA " + left.Round(time.Second).String()
		}
	}
	fmt.Fprintf(r.w, "\r%-10s [%s] %d/%d %s  %.0f tx/s%s\x1b[K", u.Phase, bar, u.Done, u.Total, u.Unit, rate(u), eta)
	if u.Final {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}

// Done ends a bar left open.
func (r *Reporter) Done() {
	if r.tty && r.drawn {
		fmt.Fprintln(r.w)
		r.drawn = false
	}
}
