package api

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// Paging bounds.
const (
	defaultTxLimit     = 25
	defaultMemberLimit = 100
	maxLimit           = 1000
)

// limitParam parses ?limit= (1…maxLimit, default def).
func limitParam(r *http.Request, def int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badInputf("query:limit", "want an integer from 1 to %d, got %q", maxLimit, v)
	}
	return n, nil
}

// Page is one page of a list with the cursor of the next (empty at the
// end).
type Page[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

func (s *Server) getStatus(w http.ResponseWriter, r *http.Request) error {
	var v *query.StatusView
	err := s.read(func(db *index.DB) error {
		key := s.stateOf(db)
		s.status.Lock()
		defer s.status.Unlock()
		if s.status.v != nil && s.status.key == key {
			v = s.status.v
			return nil
		}
		var err error
		if v, err = query.Status(r.Context(), db); err != nil {
			return err
		}
		s.status.v, s.status.key = v, key
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, v)
}

func (s *Server) getAddress(w http.ResponseWriter, r *http.Request) error {
	var v *query.AddressView
	err := s.read(func(db *index.DB) (err error) {
		v, err = query.Address(db, r.PathValue("address"))
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:address")
		return nil
	}
	return writeJSON(w, v)
}

func (s *Server) getAddressTxs(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r, defaultTxLimit)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	if cursor != "" {
		if _, err := btc.ParseHash(cursor); err != nil {
			return badInput("query:cursor", err)
		}
	}
	var rows []index.AddressTxView
	err = s.read(func(db *index.DB) (err error) {
		rows, err = db.AddressTxs(r.PathValue("address"), limit, cursor)
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:address")
		return nil
	}
	p := Page[index.AddressTxView]{Items: rows}
	if p.Items == nil {
		p.Items = []index.AddressTxView{}
	}
	if len(rows) == limit {
		p.NextCursor = rows[len(rows)-1].TxID
	}
	return writeJSON(w, p)
}

func (s *Server) getTx(w http.ResponseWriter, r *http.Request) error {
	id, err := btc.ParseHash(r.PathValue("txid"))
	if err != nil {
		return badInput("path:txid", err)
	}
	var v *query.TxView
	err = s.read(func(db *index.DB) (err error) {
		v, err = query.Tx(db, id)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, v)
}

func (s *Server) getBlock(w http.ResponseWriter, r *http.Request) error {
	var v *index.BlockView
	err := s.read(func(db *index.DB) (err error) {
		v, err = db.Block(r.PathValue("ref"))
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:ref")
		return nil
	}
	return writeJSON(w, v)
}

// entityParam resolves {id}: an entity id or an address (its entity).
func entityParam(db *index.DB, r *http.Request) (uint64, error) {
	arg := r.PathValue("id")
	id, err := query.EntityArg(db, arg)
	if isBadValue(err) {
		return 0, badInput("path:id", err)
	}
	if err == nil && id >= uint64(db.Tip().NextAddr) {
		err = index.ErrNotFound
	}
	return id, err
}

func (s *Server) getEntity(w http.ResponseWriter, r *http.Request) error {
	var v *cluster.EntityView
	err := s.read(func(db *index.DB) error {
		id, err := entityParam(db, r)
		if err != nil {
			return err
		}
		v, err = cluster.Entity(r.Context(), db, id)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, v)
}

func (s *Server) getEntityAddresses(w http.ResponseWriter, r *http.Request) error {
	limit, err := limitParam(r, defaultMemberLimit)
	if err != nil {
		return err
	}
	cursor := r.URL.Query().Get("cursor")
	var rows []query.Member
	err = s.read(func(db *index.DB) error {
		id, err := entityParam(db, r)
		if err != nil {
			return err
		}
		if cursor != "" {
			if _, err := db.AddrID(cursor); err != nil {
				if errors.Is(err, index.ErrNotFound) || isBadValue(err) {
					return badInput("query:cursor", err)
				}
				return err
			}
		}
		rows, err = query.Members(r.Context(), db, strconv.FormatUint(id, 10), limit, cursor)
		return err
	})
	if err != nil {
		return err
	}
	p := Page[query.Member]{Items: rows}
	if len(rows) == limit {
		p.NextCursor = rows[len(rows)-1].Address
	}
	return writeJSON(w, p)
}

func (s *Server) getEntityExplain(w http.ResponseWriter, r *http.Request) error {
	other := r.URL.Query().Get("other")
	if other == "" {
		return badInputf("query:other", "give the other address (?other=ADDRESS)")
	}
	var steps []cluster.Step
	err := s.read(func(db *index.DB) error {
		id, err := entityParam(db, r)
		if err != nil {
			return err
		}
		from := r.PathValue("id")
		if _, perr := strconv.ParseUint(from, 10, 64); perr == nil {
			// An entity id is its oldest address's id.
			if from, _, err = db.AddrString(btc.AddrID(id)); err != nil {
				return err
			}
		}
		if _, err := db.AddrID(other); err != nil {
			if errors.Is(err, index.ErrNotFound) || isBadValue(err) {
				return badInput("query:other", err)
			}
			return err
		}
		steps, err = query.Explain(r.Context(), db, from, other)
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, steps)
}

func (s *Server) getLabels(w http.ResponseWriter, r *http.Request) error {
	var asOf time.Time
	if v := r.URL.Query().Get("as_of"); v != "" {
		t, err := time.Parse("2006-01-02", v)
		if err != nil {
			return badInputf("query:as_of", "want YYYY-MM-DD, got %q", v)
		}
		asOf = t
	}
	var views any
	err := s.read(func(db *index.DB) (err error) {
		views, err = query.Labels(r.Context(), db, r.PathValue("ref"), asOf)
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:ref")
		return nil
	}
	return writeJSON(w, views)
}

func (s *Server) getScreen(w http.ResponseWriter, r *http.Request) error {
	var rep *risk.Report
	err := s.read(func(db *index.DB) error {
		p, err := s.screener(db)
		if err != nil {
			return err
		}
		defer s.putScreener(p)
		rep, err = p.sc.Screen(r.Context(), r.PathValue("address"))
		if rep != nil {
			normalize(rep)
		}
		return err
	})
	if err == nil && rep.Status == risk.Invalid {
		// One address in the path: a malformed one is the request's
		// fault (a batch answers it as a row with status "invalid").
		err = badInputf("path:address", "%s", rep.Reason)
	}
	if err != nil {
		s.writeError(w, r, err, "path:address")
		return nil
	}
	return writeJSON(w, rep)
}

// normalize makes a report's lists JSON arrays, never null (the rules
// leave Reasons nil when nothing applies).
func normalize(r *risk.Report) *risk.Report {
	if r.Reasons == nil {
		r.Reasons = []string{}
	}
	if r.Exposure == nil {
		r.Exposure = []risk.Row{}
	}
	return r
}

// decodeBody decodes a JSON body into v: 413 past the body limit, 400
// naming the problem otherwise.
func decodeBody(r *http.Request, v any) error { return decodeJSON(r, v, "a JSON array", false) }

// decodeJSON decodes a JSON body (want says what it should be) into v;
// strict refuses fields v does not have.
func decodeJSON(r *http.Request, v any, want string, strict bool) error {
	dec := json.NewDecoder(r.Body)
	if strict {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return errTooLarge{tooBig.Limit}
		case errors.Is(err, io.EOF):
			return badInputf("body", "empty body: want %s", want)
		case strict && errors.As(err, &typ) && typ.Field != "":
			return badInputf("body."+typ.Field, "a JSON %s, want %s", typ.Value, typ.Type)
		}
		return badInput("body", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return errTooLarge{tooBig.Limit}
		}
		return badInputf("body", "more than one JSON value")
	}
	return nil
}

// errTooLarge is a 413.
type errTooLarge struct{ limit int64 }

func (e errTooLarge) Error() string {
	return "request body larger than " + strconv.FormatInt(e.limit, 10) + " bytes"
}

func (s *Server) tooMany(n int) error {
	return errTooMany{n, s.opts.MaxBatch}
}

// errTooMany is a 413 for a batch over MaxBatch.
type errTooMany struct{ n, max int }

func (e errTooMany) Error() string {
	return strconv.Itoa(e.n) + " addresses in one request; at most " + strconv.Itoa(e.max)
}

// ExposureAnswer is GET /v1/exposure/{ref}: the exposure report of an
// address, entity or transaction, and with paths=true (addresses only) the
// traces that explain it: backward from what the address received to the
// labelled entities behind it, forward from what it spent.
type ExposureAnswer struct {
	Exposure *risk.Report     `json:"exposure"`
	Received *risk.PathReport `json:"received_paths"`
	Sent     *risk.PathReport `json:"sent_paths"`
}

func (s *Server) getExposure(w http.ResponseWriter, r *http.Request) error {
	paths := false
	switch v := r.URL.Query().Get("paths"); v {
	case "", "false", "0":
	case "true", "1":
		paths = true
	default:
		return badInputf("query:paths", "paths=%q: want true or false", v)
	}
	var ans ExposureAnswer
	err := s.read(func(db *index.DB) error {
		p, err := s.screener(db)
		if err != nil {
			return err
		}
		defer s.putScreener(p)
		rep, err := p.sc.Query(r.Context(), r.PathValue("ref"), true)
		if err != nil {
			return err
		}
		ans.Exposure = normalize(rep)
		if rep.Status == risk.Invalid {
			return badInputf("path:ref", "%s", rep.Reason)
		}
		if !paths || rep.Status != risk.Assessed || rep.Address == "" || rep.Address != rep.Query {
			return nil
		}
		var opts trace.Options
		opts.EnsureDefaults()
		if ans.Received, err = p.sc.Paths(r.Context(), rep.Address, opts); err != nil {
			return err
		}
		ans.Sent, err = p.sc.SentPaths(r.Context(), rep.Address, opts)
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:ref")
		return nil
	}
	return writeJSON(w, ans)
}

func (s *Server) postScreen(w http.ResponseWriter, r *http.Request) error {
	if csvIn, csvOut := csvScreen(r); csvIn || csvOut {
		return s.screenBatch(w, r, csvIn, csvOut)
	}
	var addrs []string
	if err := decodeBody(r, &addrs); err != nil {
		return err
	}
	if len(addrs) > s.opts.MaxBatch {
		return s.tooMany(len(addrs))
	}
	out := make([]*risk.Report, 0, len(addrs))
	err := s.read(func(db *index.DB) error {
		p, err := s.screener(db)
		if err != nil {
			return err
		}
		defer s.putScreener(p)
		return p.sc.ScreenMany(r.Context(), addrs, func(rep *risk.Report) error {
			out = append(out, normalize(rep))
			return nil
		})
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

// Identification is one entry of Chainalysis's sanctions API answer.
type Identification struct {
	Category    string  `json:"category"`
	Name        string  `json:"name"`
	Description string  `json:"description"`
	URL         *string `json:"url"`
}

func (s *Server) chainalysisAddress(w http.ResponseWriter, r *http.Request) error {
	var ids []Identification
	err := s.read(func(db *index.DB) error {
		vs, err := query.Sanctions(r.Context(), db, r.PathValue("address"), time.Now())
		for _, v := range vs {
			ids = append(ids, Identification{Category: "sanctions", Name: v.Label,
				Description: v.Label + " is on " + v.List + " (source " + v.Source + ")"})
		}
		return err
	})
	if err != nil {
		s.writeError(w, r, err, "path:address")
		return nil
	}
	if ids == nil {
		ids = []Identification{}
	}
	return writeJSON(w, map[string]any{"identifications": ids})
}

// TRMResult is one entry of TRM's sanctions screening answer.
type TRMResult struct {
	Address      string `json:"address"`
	IsSanctioned bool   `json:"isSanctioned"`
}

func (s *Server) trmScreening(w http.ResponseWriter, r *http.Request) error {
	var req []struct {
		Address *string `json:"address"`
	}
	if err := decodeBody(r, &req); err != nil {
		return err
	}
	if len(req) > s.opts.MaxBatch {
		return s.tooMany(len(req))
	}
	out := make([]TRMResult, len(req))
	err := s.read(func(db *index.DB) error {
		now := time.Now()
		for i, q := range req {
			field := "body[" + strconv.Itoa(i) + "].address"
			if q.Address == nil {
				return badInputf(field, "missing")
			}
			vs, err := query.Sanctions(r.Context(), db, *q.Address, now)
			if isBadValue(err) {
				return badInput(field, err)
			}
			if err != nil {
				return err
			}
			out[i] = TRMResult{Address: *q.Address, IsSanctioned: len(vs) > 0}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	_, err := w.Write(openAPI)
	return err
}

func (s *Server) getHealthz(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, map[string]string{"status": "ok"})
}

func (s *Server) getReadyz(w http.ResponseWriter, r *http.Request) error {
	if !s.ready.Load() {
		s.writeProblem(w, r, Problem{Status: http.StatusServiceUnavailable, Detail: "catching up with the block files"})
		return nil
	}
	return writeJSON(w, map[string]string{"status": "ready"})
}
