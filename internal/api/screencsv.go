package api

import (
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// csvScreen reports whether POST /v1/screen reads a CSV body
// (Content-Type: text/csv) and whether it answers CSV (Accept: text/csv).
func csvScreen(r *http.Request) (in, out bool) {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	for _, a := range strings.Split(r.Header.Get("Accept"), ",") {
		if mt, _, _ := mime.ParseMediaType(strings.TrimSpace(a)); mt == "text/csv" {
			out = true
		}
	}
	return ct == "text/csv", out
}

// screenBatch answers POST /v1/screen with a CSV body or a CSV answer, as
// `sleuth screen --csv` does (risk.ReadCSV, Screener.ScreenInput,
// risk.CSVWriter): a header naming the address column (address, addr, …
// or ?column=) or one address per line; a bad row is an invalid report
// naming its line; at most Options.MaxBatch rows (413). A JSON body
// answered as CSV keeps its order, one row per address.
func (s *Server) screenBatch(w http.ResponseWriter, r *http.Request, csvIn, csvOut bool) error {
	var rows []risk.Input
	cols := []string{"address"}
	if csvIn {
		err := risk.ReadCSV(r.Body, r.URL.Query().Get("column"), func(c []string) error {
			cols = c
			return nil
		}, func(in *risk.Input) error {
			if len(rows) == s.opts.MaxBatch {
				return errTooMany{len(rows) + 1, s.opts.MaxBatch}
			}
			rows = append(rows, *in)
			return nil
		})
		var tooBig *http.MaxBytesError
		var tooMany errTooMany
		switch {
		case errors.As(err, &tooBig):
			return errTooLarge{tooBig.Limit}
		case errors.As(err, &tooMany):
			return tooMany
		case errors.Is(err, risk.ErrNoColumn):
			return badInput("body", err)
		case err != nil:
			return badInput("body", err)
		}
	} else {
		var addrs []string
		if err := decodeBody(r, &addrs); err != nil {
			return err
		}
		if len(addrs) > s.opts.MaxBatch {
			return s.tooMany(len(addrs))
		}
		rows = make([]risk.Input, len(addrs))
		for i, a := range addrs {
			rows[i] = risk.Input{Line: i + 1, Query: strings.TrimSpace(a), Fields: []string{a}}
			if rows[i].Query == "" {
				rows[i].Err = "empty address"
			}
		}
	}
	reps := make([]*risk.Report, len(rows))
	var basis *risk.Basis
	err := s.read(func(db *index.DB) error {
		p, err := s.screener(db)
		if err != nil {
			return err
		}
		defer s.putScreener(p)
		if csvOut {
			if basis, err = p.sc.Basis(r.Context()); err != nil {
				return err
			}
		}
		for i := range rows {
			if i%256 == 0 {
				if err := r.Context().Err(); err != nil {
					return err
				}
			}
			if reps[i], err = p.sc.ScreenInput(r.Context(), &rows[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if !csvOut {
		for _, rep := range reps {
			normalize(rep)
		}
		return writeJSON(w, reps)
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	cw, err := risk.NewCSVWriter(w, cols, basis)
	if err != nil {
		return err
	}
	for i := range rows {
		if err := cw.Write(&rows[i], reps[i]); err != nil {
			return err
		}
	}
	return cw.Flush()
}
