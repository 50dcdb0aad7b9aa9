package api

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// maxLabels bounds the labels of one POST /v1/labels (each is an import
// of its own, removable by its id).
const maxLabels = 1000

// LabelInput is one label of POST /v1/labels, as `sleuth label add`
// takes it: on an address, or on an entity (through its oldest address).
type LabelInput struct {
	Address     string  `json:"address,omitempty"`
	Entity      *uint64 `json:"entity,omitempty"`
	Label       string  `json:"label"`
	Category    string  `json:"category"`
	Abuse       string  `json:"abuse,omitempty"`
	Actor       string  `json:"actor,omitempty"`
	Source      string  `json:"source"`
	Confidence  *int    `json:"confidence,omitempty"` // default 70 (forensic investigation)
	Description string  `json:"description,omitempty"`
	ListedFrom  string  `json:"listed_from,omitempty"` // YYYY-MM-DD, default today
	ListedTo    string  `json:"listed_to,omitempty"`
}

// AddedLabel is one label POST /v1/labels stored.
type AddedLabel struct {
	// ID removes it: DELETE /v1/labels/{id}.
	ID       uint32 `json:"id"`
	Address  string `json:"address"`
	Entity   bool   `json:"entity"` // labels the entity that holds Address
	Label    string `json:"label"`
	Category string `json:"category"`
	// NewAddress: the investigator's labels did not cover Address before.
	NewAddress bool `json:"new_address"`
}

// LabelWrite is the answer of every label write: what changed, the
// exposure update it caused (null when exposure has not been computed
// yet) and the pipeline's generation after it (GET answers from then on
// see the change).
type LabelWrite struct {
	Added      []AddedLabel      `json:"added,omitempty"`
	Removed    *label.Removed    `json:"removed,omitempty"`
	Imported   *label.FileResult `json:"imported,omitempty"`
	Exposure   *risk.Summary     `json:"exposure"`
	Generation uint64            `json:"generation"`
}

// logUnavailable is a 503 (errUnavailable) whose detail is the shared
// log's own error.
type logUnavailable struct{ err error }

func (e logUnavailable) Error() string   { return e.err.Error() }
func (e logUnavailable) Unwrap() []error { return []error{errUnavailable, e.err} }

// editLabels applies label edits through the Editor (Options.Labels: the
// embedded store's, or the shared log's) and answers what the attribution
// update did. The shared log unreachable is a 503 with Retry-After: label
// writes wait for it, screening does not. A COMMIT to the log whose
// answer was lost is a 503 of its own type (problemOutcomeUnknown), with
// no Retry-After: the edit may be stored, and the client reads it back.
func (s *Server) editLabels(w http.ResponseWriter, r *http.Request, edits ...labelsync.Edit) (*LabelWrite, []labelsync.Outcome, error) {
	res, err := s.opts.Labels.Do(r.Context(), actor(r), edits...)
	if errors.Is(err, labelsync.ErrOutcomeUnknown) {
		// No Retry-After: sending it again blindly could apply it twice.
		return nil, nil, logUnavailable{err}
	}
	if errors.Is(err, labelsync.ErrUnavailable) {
		w.Header().Set("Retry-After", "5")
		return nil, nil, logUnavailable{err}
	}
	if err != nil {
		return nil, nil, err
	}
	return &LabelWrite{Exposure: res.Exposure, Generation: s.pl.Generation()}, res.Outcomes, nil
}

func (s *Server) postLabels(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := decodeJSON(r, &raw, "a label object or an array of them", false); err != nil {
		return err
	}
	var in []LabelInput
	prefix := ""
	if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
		prefix = "body"
		if err := strictUnmarshal(raw, &in); err != nil {
			return err
		}
	} else {
		in = make([]LabelInput, 1)
		if err := strictUnmarshal(raw, &in[0]); err != nil {
			return err
		}
	}
	switch {
	case len(in) == 0:
		return badInputf("body", "no labels")
	case len(in) > maxLabels:
		return errLimit{"body", fmt.Sprintf("%d labels in one request; at most %d", len(in), maxLabels)}
	}
	field := func(i int, f string) string {
		if prefix == "" {
			return "body." + f
		}
		return fmt.Sprintf("body[%d].%s", i, f)
	}
	// Parse what needs no store first.
	labels := make([]label.Label, len(in))
	for i, x := range in {
		l := label.Label{Label: x.Label, Category: x.Category, Abuse: x.Abuse, Actor: x.Actor, Source: x.Source,
			Confidence: 70, Context: x.Description}
		if x.Confidence != nil {
			l.Confidence = *x.Confidence
		}
		var err error
		if l.ListedFrom, err = labelDate(x.ListedFrom); err != nil {
			return badInput(field(i, "listed_from"), err)
		}
		if l.ListedTo, err = labelDate(x.ListedTo); err != nil {
			return badInput(field(i, "listed_to"), err)
		}
		if (x.Address == "") == (x.Entity == nil) {
			return badInputf(field(i, "address"), "give an address or an entity, not both")
		}
		labels[i] = l
	}
	// Check every label before storing any: a bad one stores none.
	added := make([]AddedLabel, len(in))
	edits := make([]labelsync.Edit, len(in))
	err := s.read(func(db *index.DB) error {
		for i, x := range in {
			arg, f := x.Address, field(i, "address")
			if x.Entity != nil {
				arg, f = strconv.FormatUint(*x.Entity, 10), field(i, "entity")
			}
			addr, entity, err := query.LabelTarget(db, arg)
			if errors.Is(err, index.ErrNotFound) || errors.Is(err, query.ErrNoAddressString) {
				return &query.FieldError{Field: f, Err: err}
			} else if err != nil {
				return err
			}
			if labels[i], err = label.CheckOwn(db, addr, entity, labels[i]); err != nil {
				if isBadValue(err) {
					return badInput(f, err)
				}
				return badInput(strings.TrimSuffix(field(i, ""), "."), err)
			}
			added[i] = AddedLabel{Address: addr, Entity: entity, Label: labels[i].Label, Category: labels[i].Category}
			edits[i] = labelsync.AddEdit(addr, entity, labels[i])
		}
		return nil
	})
	if err != nil {
		return err
	}
	res, outs, err := s.editLabels(w, r, edits...)
	if err != nil {
		return err
	}
	for i, o := range outs {
		added[i].ID, added[i].NewAddress = o.Added.Import, o.Added.Added > 0
	}
	res.Added = added
	return writeJSON(w, res)
}

// strictUnmarshal decodes JSON into v, refusing unknown fields; a type
// error names the field.
func strictUnmarshal(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) && typ.Field != "" {
			return badInputf("body."+typ.Field, "a JSON %s, want %s", typ.Value, typ.Type)
		}
		return badInput("body", err)
	}
	return nil
}

// labelDate reads YYYY-MM-DD; "" is the zero time.
func labelDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return t, fmt.Errorf("%q: want YYYY-MM-DD", s)
	}
	return t, nil
}

func (s *Server) deleteLabel(w http.ResponseWriter, r *http.Request) error {
	id, err := strconv.ParseUint(r.PathValue("ref"), 10, 32)
	if err != nil || id == 0 {
		return badInputf("path:ref", "%q: want a label id (the id POST /v1/labels answered, 1..4294967295)", r.PathValue("ref"))
	}
	spec := label.RemoveSpec{Import: uint32(id), Address: r.URL.Query().Get("address"), Source: r.URL.Query().Get("source")}
	if spec.Address != "" {
		err := s.read(func(db *index.DB) error {
			_, err := address.Decode(spec.Address, db.Network())
			return err
		})
		if err != nil {
			return badInput("query:address", err)
		}
	}
	res, outs, err := s.editLabels(w, r, labelsync.Edit{Kind: labelsync.KindRemove, Remove: &spec})
	if err != nil {
		if errors.Is(err, label.ErrNoLabel) {
			return fmt.Errorf("%w: %w", index.ErrNotFound, err)
		}
		return err
	}
	res.Removed = outs[0].Removed
	return writeJSON(w, res)
}

// importPattern is the import's route: its body may be larger
// (Options.MaxImportBody).
const importPattern = "POST /v1/labels/import"

// importFormats are the formats ?format= names (label.ImportOptions).
var importFormats = []string{"tagpack", "actorpack", "sdn_csv", "address_list", "sdn_advanced_xml"}

// importName is the file name an import's content is read as (format
// detection, a TagPack's source name, errors): ?name=, else one that
// fits the Content-Type.
func importName(r *http.Request) (string, error) {
	if n := r.URL.Query().Get("name"); n != "" {
		if len(n) > 255 || strings.ContainsAny(n, "/\\\x00") || strings.TrimSpace(n) != n || n == "." || n == ".." {
			return "", badInputf("query:name", "%.64q: want a plain file name", n)
		}
		return n, nil
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml":
		return "upload.yaml", nil
	case "text/csv":
		return "SDN.CSV", nil
	case "application/xml", "text/xml":
		return "SDN_ADVANCED.XML", nil
	case "application/json":
		return "upload.json", nil
	}
	return "upload.txt", nil
}

func (s *Server) importLabels(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var opts label.ImportOptions
	if f := q.Get("format"); f != "" {
		if !slices.Contains(importFormats, f) {
			return badInputf("query:format", "%.64q: want one of %s", f, strings.Join(importFormats, ", "))
		}
		opts.Format = f
	}
	var err error
	if opts.Date, err = labelDate(q.Get("date")); err != nil {
		return badInput("query:date", err)
	}
	switch v := q.Get("strict"); v {
	case "", "false", "0":
	case "true", "1":
		opts.Strict = true
	default:
		return badInputf("query:strict", "strict=%.64q: want true or false", v)
	}
	name, err := importName(r)
	if err != nil {
		return err
	}
	b, err := s.readImport(r)
	if err != nil {
		return err
	}
	res, outs, err := s.editLabels(w, r, labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: name, Body: b, Options: opts}})
	if err != nil {
		return err
	}
	res.Imported = outs[0].Imported
	return writeJSON(w, res)
}

// readImport reads an import's body (gunzipped when it is gzip), at most
// Options.MaxImportBody bytes either way.
func (s *Server) readImport(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(r.Body)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, errTooLarge{tooBig.Limit}
	} else if err != nil {
		return nil, badInput("body", err)
	}
	if len(b) == 0 {
		return nil, badInputf("body", "empty body: want a TagPack, ActorPack or OFAC file")
	}
	if len(b) < 2 || b[0] != 0x1f || b[1] != 0x8b {
		return b, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, badInputf("body", "gzip: %v", err)
	}
	limit := s.opts.MaxImportBody
	b, err = io.ReadAll(io.LimitReader(zr, limit+1))
	if err != nil {
		return nil, badInputf("body", "gzip: %v", err)
	}
	if int64(len(b)) > limit {
		return nil, errTooLarge{limit}
	}
	return b, nil
}
