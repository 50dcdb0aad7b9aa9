package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// Problem is an RFC 9457 problem detail.
type Problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	Instance  string `json:"instance"`
	RequestID string `json:"request_id"`
	// Field names the bad parameter of a 400 (path:address, query:limit,
	// body[3], header:Content-Type).
	Field string `json:"field,omitempty"`
	// Apart is the view of a 422 for two addresses in different entities.
	Apart *query.Apart `json:"apart,omitempty"`
	// Invalid names each rejected item of a 422 (addresses of a
	// watchlist).
	Invalid []InvalidItem `json:"invalid,omitempty"`
}

// errBadInput marks an error in what the client sent; field names where.
type errBadInput struct {
	field string
	err   error
}

func (e *errBadInput) Error() string { return fmt.Sprintf("%s: %v", e.field, e.err) }
func (e *errBadInput) Unwrap() error { return e.err }

func badInput(field string, err error) error { return &errBadInput{field, err} }

func badInputf(field, format string, args ...any) error {
	return &errBadInput{field, fmt.Errorf(format, args...)}
}

// errUnavailable marks a state of the store that keeps a route from
// answering (exposure not computed yet): 503, not the client's fault.
var errUnavailable = errors.New("not available yet")

// isBadValue reports whether err is a parse error of an address, hash or
// block reference.
func isBadValue(err error) bool {
	return errors.Is(err, address.ErrChecksum) || errors.Is(err, address.ErrWrongNetwork) ||
		errors.Is(err, address.ErrLength) || errors.Is(err, address.ErrFormat) ||
		errors.Is(err, btc.ErrHashLength) || errors.Is(err, btc.ErrHashHex) || errors.Is(err, index.ErrBadRef)
}

// classify maps an error to a status and the field it names.
func classify(err error, field string) (int, string) {
	var bad *errBadInput
	var apart *query.NotJoinedError
	var tooBig errTooLarge
	var tooMany errTooMany
	var invalid *errInvalidItems
	var unprocessable *errUnprocessable
	var conflict *errConflict
	var tooManyStreams *errTooManyStreams
	var fe *query.FieldError
	var limit errLimit
	var badFile *label.InputError
	switch {
	case errors.As(err, &limit):
		return http.StatusUnprocessableEntity, limit.field
	case errors.Is(err, errBusy):
		return http.StatusServiceUnavailable, ""
	case errors.As(err, &fe) && errors.Is(err, query.ErrTooManyOutputs):
		return http.StatusUnprocessableEntity, bodyField(fe.Field)
	case errors.As(err, &fe) && errors.Is(err, index.ErrNotFound):
		return http.StatusNotFound, bodyField(fe.Field)
	case errors.As(err, &fe):
		return http.StatusBadRequest, bodyField(fe.Field)
	case errors.As(err, &badFile):
		return http.StatusUnprocessableEntity, "body"
	case errors.As(err, &tooBig), errors.As(err, &tooMany):
		return http.StatusRequestEntityTooLarge, "body"
	case errors.As(err, &bad):
		return http.StatusBadRequest, bad.field
	case errors.As(err, &apart):
		return http.StatusUnprocessableEntity, ""
	case errors.As(err, &invalid):
		return http.StatusUnprocessableEntity, invalid.field
	case errors.As(err, &unprocessable):
		return http.StatusUnprocessableEntity, unprocessable.field
	case errors.As(err, &conflict), errors.Is(err, alert.ErrNotesFull), errors.Is(err, watch.ErrExists):
		return http.StatusConflict, ""
	case errors.As(err, &tooManyStreams):
		return http.StatusTooManyRequests, ""
	case errors.Is(err, watch.ErrNotFound), errors.Is(err, alert.ErrNotFound):
		return http.StatusNotFound, ""
	case isBadValue(err):
		return http.StatusBadRequest, field
	case errors.Is(err, index.ErrNotFound):
		return http.StatusNotFound, ""
	case errors.Is(err, cluster.ErrNotClustered), errors.Is(err, risk.ErrNotComputed), errors.Is(err, errUnavailable),
		errors.Is(err, alert.ErrUnavailable), errors.Is(err, casefile.ErrUnavailable):
		return http.StatusServiceUnavailable, ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded), errors.Is(err, watch.ErrUnavailable):
		return http.StatusServiceUnavailable, ""
	}
	return http.StatusInternalServerError, ""
}

// bodyField names a query.FieldError's field in the body (sources[2] is
// body.sources[2]).
func bodyField(f string) string {
	if strings.HasPrefix(f, "body") {
		return f
	}
	return "body." + f
}

// writeError answers err as a problem; field is the input the handler was
// reading (named in a 400 from a parse error).
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error, field string) {
	status, f := classify(err, field)
	p := Problem{Status: status, Detail: err.Error(), Field: f}
	var apart *query.NotJoinedError
	if errors.As(err, &apart) {
		p.Apart = &apart.Apart
	}
	var invalid *errInvalidItems
	if errors.As(err, &invalid) {
		p.Invalid = invalid.items
	}
	if errors.Is(err, watch.ErrUnavailable) || errors.Is(err, alert.ErrUnavailable) || errors.Is(err, casefile.ErrUnavailable) {
		w.Header().Set("Retry-After", "2") // the shared store is down or restarting
		s.log.WarnContext(r.Context(), "shared store unavailable", "request_id", requestID(r), "path", r.URL.Path, "err", err)
	}
	if errors.Is(err, labelsync.ErrOutcomeUnknown) {
		p.Type, p.Title = problemOutcomeUnknown, "Outcome unknown"
	}
	if status == http.StatusInternalServerError {
		s.log.ErrorContext(r.Context(), "request failed", "request_id", requestID(r), "path", r.URL.Path, "err", err)
		p.Detail = "internal error (logged with this request id)"
	}
	s.writeProblem(w, r, p)
}

// problemOutcomeUnknown is the type of the 503 of a label write whose
// COMMIT to the shared log lost its answer: it may or may not be stored.
const problemOutcomeUnknown = "https://sleuth-forensics.github.io/problems/outcome-unknown"

func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, p Problem) {
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	if p.Type == "" {
		p.Type = fmt.Sprintf("https://sleuth-forensics.github.io/problems/%d", p.Status)
	}
	p.Instance = r.URL.Path
	p.RequestID = requestID(r)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}
