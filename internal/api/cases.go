package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/casefile"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// Cases: /v1/cases and its sub-routes (package casefile owns the cases;
// edits run in the pipeline's writer guard, reads in its read guard).

func (s *Server) routeCases() {
	s.handle("GET", "/v1/cases", s.listCases)
	s.handle("POST", "/v1/cases", s.createCase)
	s.handle("GET", "/v1/cases/{id}", s.getCase)
	s.handle("POST", "/v1/cases/{id}/sources", s.caseSources)
	s.handle("POST", "/v1/cases/{id}/notes", s.caseNote)
	s.handle("POST", "/v1/cases/{id}/labels", s.caseLabel)
	s.handle("POST", "/v1/cases/{id}/status", s.caseStatus)
	s.handle("POST", "/v1/cases/{id}/traces", s.caseTrace)
	s.handle("GET", "/v1/cases/{id}/audit", s.caseAudit)
	s.handle("GET", "/v1/cases/{id}/report", s.caseReport)
}

// withCases runs fn with the cases store: the shared one (Options.Cases,
// PostgreSQL) as it is, the embedded one inside the pipeline's guard
// (write: the writer guard, so an edit never races the ingest).
func (s *Server) withCases(write bool, fn func(st casefile.Store) error) error {
	if s.opts.Cases != nil {
		return fn(s.opts.Cases)
	}
	if write {
		return s.pl.Write(func(db *index.DB) error { return fn(casefile.NewDB(db)) })
	}
	return s.read(func(db *index.DB) error { return fn(casefile.NewDB(db)) })
}

// caseProblem answers casefile's errors: 422 naming the field of a
// refused edit, 404 for a missing case; others go to writeError.
func (s *Server) caseProblem(w http.ResponseWriter, r *http.Request, err error) error {
	var inv *casefile.InvalidError
	switch {
	case errors.As(err, &inv):
		s.writeProblem(w, r, Problem{Status: http.StatusUnprocessableEntity, Field: "body." + inv.Field, Detail: inv.Error()})
		return nil
	case errors.Is(err, casefile.ErrNotFound):
		s.writeProblem(w, r, Problem{Status: http.StatusNotFound, Detail: err.Error()})
		return nil
	}
	return err
}

func caseID(r *http.Request) (uint64, error) {
	id, err := strconv.ParseUint(r.PathValue("id"), 10, 64)
	if err != nil || id == 0 {
		return 0, badInputf("path:id", "want a case id (a positive integer), got %q", r.PathValue("id"))
	}
	return id, nil
}

func pageLimit(r *http.Request, def, max int) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, badInputf("query:limit", "want 1 to %d, got %q", max, v)
	}
	return n, nil
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) error {
	limit, err := pageLimit(r, 50, 1000)
	if err != nil {
		return err
	}
	var p casefile.Page[casefile.Summary]
	err = s.withCases(false, func(st casefile.Store) (err error) {
		p, err = st.List(r.Context(), r.URL.Query().Get("cursor"), limit)
		return err
	})
	var inv *casefile.InvalidError
	if errors.As(err, &inv) {
		return badInputf("query:cursor", "%v", inv.Err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, p)
}

// caseEdit runs one edit in the writer guard and answers the case.
func (s *Server) caseEdit(w http.ResponseWriter, r *http.Request, status int, fn func(st casefile.Store) (casefile.Case, error)) error {
	var c casefile.Case
	err := s.withCases(true, func(st casefile.Store) (err error) {
		c, err = fn(st)
		return err
	})
	if err != nil {
		return s.caseProblem(w, r, err)
	}
	w.Header().Set("Content-Type", "application/json")
	if status == http.StatusCreated {
		w.Header().Set("Location", "/v1/cases/"+strconv.FormatUint(c.ID, 10))
	}
	w.WriteHeader(status)
	return writeJSON(w, c)
}

func (s *Server) createCase(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name        string   `json:"name"`
		Description string   `json:"description"`
		Sources     []string `json:"sources"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusCreated, func(st casefile.Store) (casefile.Case, error) {
		return st.Create(r.Context(), actor(r), body.Name, body.Description, body.Sources)
	})
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var c casefile.Case
	err = s.withCases(false, func(st casefile.Store) (err error) {
		c, err = st.Get(r.Context(), id)
		return err
	})
	if err != nil {
		return s.caseProblem(w, r, err)
	}
	return writeJSON(w, c)
}

func (s *Server) caseSources(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var body struct {
		Sources []string `json:"sources"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusOK, func(st casefile.Store) (casefile.Case, error) {
		return casefile.AddSources(r.Context(), st, id, actor(r), body.Sources)
	})
}

func (s *Server) caseNote(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var body struct {
		Text string `json:"text"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusOK, func(st casefile.Store) (casefile.Case, error) {
		return casefile.AddNote(r.Context(), st, id, actor(r), body.Text)
	})
}

func (s *Server) caseLabel(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var body casefile.LabelRef
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusOK, func(st casefile.Store) (casefile.Case, error) {
		return casefile.AddLabel(r.Context(), st, id, actor(r), body)
	})
}

func (s *Server) caseStatus(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var body struct {
		Status string `json:"status"`
	}
	if err := decodeBody(r, &body); err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusOK, func(st casefile.Store) (casefile.Case, error) {
		return casefile.SetStatus(r.Context(), st, id, actor(r), body.Status)
	})
}

func (s *Server) caseAudit(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	limit, err := pageLimit(r, 100, 1000)
	if err != nil {
		return err
	}
	after, err := casefile.ParseCursor(r.URL.Query().Get("cursor"))
	if err != nil {
		return badInputf("query:cursor", "%v", err.(*casefile.InvalidError).Err)
	}
	var p casefile.Page[casefile.Event]
	err = s.withCases(false, func(st casefile.Store) (err error) {
		p, err = st.Audit(r.Context(), id, after, limit)
		return err
	})
	if err != nil {
		return s.caseProblem(w, r, err)
	}
	return writeJSON(w, p)
}

// reportBTC and reportPct format the report's amounts and shares, the
// same in its HTML and its PDF.
func reportBTC(sats int64) string {
	sign := ""
	if sats < 0 {
		sign, sats = "-", -sats
	}
	return fmt.Sprintf("%s%d.%08d BTC", sign, sats/1e8, sats%1e8)
}

func reportPct(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) }

// reportMethodology is the report's methodology section (HTML and PDF).
const reportMethodology = "Entities: sleuth's multi-input clustering (inputs spent together belong to one owner), CoinJoins and other collaborative transactions recognised and not merged; change heuristics only where the store was clustered with them. Tracing follows the tainted value hop by hop under the policy each trace names, and stops at entities the labels name as services (cash-out points); taint through a CoinJoin that cannot be attributed to one participant is reported as uncertain and not followed. Every trace above names its parameters and the chain height it ran at, so it can be run again."

// reportLimits says what the measured figures do not cover.
const reportLimits = "The figures are measured on simulated chains with an answer key (docs/ACCURACY.md of the sleuth version that served this report), not on real cases. An entity the labels do not name as a service is followed through, so an unlabelled service looks like the money kept moving; poison is not scored (it spreads without bound and overstates by design)."

// accuracyRow is one measured figure the report's methodology cites.
type accuracyRow struct{ What, Figure, Where string }

// reportAccuracy: the figures of docs/ACCURACY.md the report cites (a test
// holds each number to that file).
var reportAccuracy = []accuracyRow{
	{"Multi-input clustering", "precision 1.000000, recall 0.6310", "simulated chain, seed 1, 986,748 txs"},
	{"+ change heuristics (default)", "precision 0.99999999, recall 0.6311", "the same chain"},
	{"+ coordinators, PayJoins and batches no detector knows", "precision 0.999273, recall 0.3537", "seed 1, 9,928 txs"},
	{"CoinJoin detection", "3,467 of 3,467 found, 30 false positives", "seed 1"},
	{"Trace, FIFO, 50 hops, to labelled services", "recall 0.9906, false exposure 0.27%", "10M chain, theft of 3,827.67 BTC"},
	{"Trace, haircut", "recall 0.9905, false exposure 0.28%", "the same theft"},
	{"Trace, LIFO", "recall 0.9904, false exposure 0.28%", "the same theft"},
	{"Trace, TIHO", "recall 0.9902, false exposure 0.28%", "the same theft"},
	{"Trace, all four policies", "recall 0.9942, false exposure 0.00%", "10M chain, ransomware (376.58 BTC)"},
}

// tracePolicies lists the policies and directions of a case's traces
// ("fifo forward" when the parameters leave them out).
func tracePolicies(traces []casefile.Trace) string {
	var out []string
	seen := map[string]bool{}
	for _, t := range traces {
		var p struct{ Policy, Direction string }
		_ = json.Unmarshal(t.Params, &p) // parameters the server stored; a bad one reads as the defaults
		if p.Policy == "" {
			p.Policy = "fifo"
		}
		if p.Direction == "" {
			p.Direction = "forward"
		}
		if k := p.Policy + " " + p.Direction; !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	if len(out) == 0 {
		return "none (no traces)"
	}
	return strings.Join(out, ", ")
}

// reportTmpl is the case report: html/template escapes every value.
var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"btc": reportBTC,
	"pct": reportPct,
	"inc": func(i int) int { return i + 1 },
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Case {{.Case.ID}}: {{.Case.Name}}</title>
<style>body{font:14px system-ui,sans-serif;max-width:60rem;margin:2rem auto;color:#1b1f24}td,th{border-bottom:1px solid #ccc;padding:.2rem .5rem;text-align:left;vertical-align:top}code{word-break:break-all}.m{color:#57606a}</style></head>
<body><h1>Case {{.Case.ID}}: {{.Case.Name}}</h1>
<p class="m">Status {{.Case.Status}} · opened {{.Case.Created.Format "2006-01-02 15:04 UTC"}} by {{.Case.CreatedBy}} · last change {{.Case.Updated.Format "2006-01-02 15:04 UTC"}} · chain tip {{.Tip}} at the time of this report</p>
{{with .Case.Description}}<p>{{.}}</p>{{end}}
<h2>Sources</h2>{{if .Case.Sources}}<ul>{{range .Case.Sources}}<li><code>{{.}}</code></li>{{end}}</ul>{{else}}<p class="m">None.</p>{{end}}
<h2>Traces: where the money went</h2>{{range $i, $t := .Traces}}<h3>Trace {{inc $i}}: {{$t.At.Format "2006-01-02 15:04"}} by {{$t.By}}, chain height {{$t.Height}}</h3>
<p class="m">Parameters: <code>{{printf "%s" $t.Params}}</code></p>
{{with $t.Sum}}<p>Traced {{btc .Totals.Source}}; cashed out {{btc .Totals.CashedOut}}; still held {{btc .Totals.Held}}; fees {{btc .Totals.Fee}}; through CoinJoins (uncertain) {{btc .Totals.CoinJoin}}; {{.TxsRead}} transactions read{{if .Truncated}} (truncated){{end}}.</p>
{{if .CashOuts}}<table><tr><th>Cash-out entity</th><th>Category</th><th>Received</th><th>Share</th><th>Hops</th><th>First … last</th></tr>
{{range .CashOuts}}<tr><td>{{if .Label}}{{.Label}}{{else}}entity {{.ID}}{{end}}</td><td>{{.Category}}</td><td>{{btc .Sats}}</td><td>{{pct .Share}}</td><td>{{.MinHops}}–{{.MaxHops}}</td><td>{{.First}} … {{.Last}}</td></tr>{{end}}</table>
<p><b>Evidence paths</b></p><ol>{{range .CashOuts}}{{$e := .}}{{range .Paths}}<li>{{if $e.Label}}{{$e.Label}}{{else}}entity {{$e.ID}}{{end}}: {{btc .Sats}} via {{range $j, $x := .TxIDs}}{{if $j}} → {{end}}<code>{{$x}}</code>{{end}}</li>{{end}}{{end}}</ol>
{{else}}<p class="m">No cash-out entity reached.</p>{{end}}{{end}}{{else}}<p class="m">None.</p>{{end}}
<h2>Labels added</h2>{{if .Case.Labels}}<table><tr><th>When</th><th>By</th><th>Address or entity</th><th>Label</th><th>Category</th></tr>
{{range .Case.Labels}}<tr><td>{{.At.Format "2006-01-02 15:04"}}</td><td>{{.By}}</td><td><code>{{.Ref}}</code></td><td>{{.Label}}</td><td>{{.Category}}</td></tr>{{end}}</table>{{else}}<p class="m">None.</p>{{end}}
<h2>Notes</h2>{{range .Case.Notes}}<p><span class="m">{{.At.Format "2006-01-02 15:04"}} {{.By}}:</span> {{.Text}}</p>{{else}}<p class="m">None.</p>{{end}}
<h2>Audit log</h2><table><tr><th>#</th><th>When</th><th>Who</th><th>What</th><th>Detail</th></tr>
{{range .Audit}}<tr><td>{{.Seq}}</td><td>{{.At.Format "2006-01-02 15:04:05"}}</td><td>{{.By}}</td><td>{{.Action}}</td><td>{{.Detail}}</td></tr>{{end}}</table>
<h2>Methodology</h2><p>{{.Methodology}}</p>
<p>Policies of this case's traces: {{.Policies}}.</p>
<table><tr><th>Measured</th><th>Result</th><th>On</th></tr>
{{range .Accuracy}}<tr><td>{{.What}}</td><td>{{.Figure}}</td><td>{{.Where}}</td></tr>{{end}}</table>
<p class="m">{{.Limits}}</p>
</body></html>
`))

// reportTrace is a trace of the case with its summary decoded (nil when
// the case holds none that decodes).
type reportTrace struct {
	casefile.Trace
	Sum *caseTraceSummary
}

// caseReportData is what the case report shows, in HTML or in PDF.
type caseReportData struct {
	Case        casefile.Case
	Traces      []reportTrace
	Audit       []casefile.Event
	Tip         string
	Methodology string
	Policies    string
	Accuracy    []accuracyRow
	Limits      string
}

// caseReport is GET /v1/cases/{id}/report: HTML, or with ?format=pdf the
// same content as a PDF (package pdf; no browser involved).
func (s *Server) caseReport(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "html" && format != "pdf" {
		return badInputf("query:format", "%.32q: want html or pdf", format)
	}
	data := caseReportData{Methodology: reportMethodology, Accuracy: reportAccuracy, Limits: reportLimits}
	err = s.withCases(false, func(st casefile.Store) error {
		c, err := st.Get(r.Context(), id)
		if err != nil {
			return err
		}
		data.Case = c
		after := uint64(0)
		for {
			p, err := st.Audit(r.Context(), id, after, 1000)
			if err != nil {
				return err
			}
			data.Audit = append(data.Audit, p.Items...)
			if p.NextCursor == "" {
				break
			}
			after = p.Items[len(p.Items)-1].Seq
		}
		return nil
	})
	if err == nil {
		err = s.read(func(db *index.DB) error {
			tip := db.Tip()
			data.Tip = fmt.Sprintf("%d (%s)", tip.Height, tip.Hash)
			return nil
		})
	}
	if err != nil {
		return s.caseProblem(w, r, err)
	}
	data.Policies = tracePolicies(data.Case.Traces)
	for _, t := range data.Case.Traces {
		rt := reportTrace{Trace: t}
		var sum caseTraceSummary
		if len(t.Summary) > 0 && json.Unmarshal(t.Summary, &sum) == nil {
			rt.Sum = &sum
		}
		data.Traces = append(data.Traces, rt)
	}
	var b bytes.Buffer
	if format == "pdf" {
		if err := caseReportPDF(&data).Write(&b); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/pdf")
		w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="case-%d-report.pdf"`, id))
	} else {
		if err := reportTmpl.Execute(&b, data); err != nil {
			return err
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	_, err = w.Write(b.Bytes())
	return err
}

// caseTraceSummary is what a case keeps of a trace: the totals, the
// cash-out entities with their amounts and evidence paths, and how much
// was read (the parameters and the height are kept beside it).
type caseTraceSummary struct {
	Totals    trace.Totals   `json:"totals"`
	CashedOut int64          `json:"cashed_out"`
	CashOuts  []trace.Entity `json:"cash_outs"`
	TxsRead   int            `json:"txs_read"`
	Truncated bool           `json:"truncated"`
}

// caseTrace is POST /v1/cases/{id}/traces: it runs the trace the body
// asks for (the body of POST /v1/trace, under the same limits), stores
// its parameters, the tip height and the summary in the case, and answers
// the case; GET /v1/cases/{id}/report lists it.
func (s *Server) caseTrace(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	req := &query.TraceRequest{}
	if err := decodeJSON(r, req, "a JSON object (see TraceRequest in /openapi.json)", true); err != nil {
		return err
	}
	// The case must exist before the work of a trace.
	if err := s.withCases(false, func(st casefile.Store) error { _, err := st.Get(r.Context(), id); return err }); err != nil {
		return s.caseProblem(w, r, err)
	}
	v, height, err := s.runTrace(w, r, req)
	if err != nil {
		return err
	}
	sum := caseTraceSummary{Totals: v.Totals, CashedOut: v.Totals.CashedOut, CashOuts: []trace.Entity{}, TxsRead: v.TxsRead, Truncated: v.Truncated}
	for _, e := range v.Entities {
		if e.CashOut {
			e.Addresses = nil
			sum.CashOuts = append(sum.CashOuts, e)
		}
	}
	params, err := json.Marshal(req)
	if err != nil {
		return err
	}
	summary, err := json.Marshal(sum)
	if err != nil {
		return err
	}
	return s.caseEdit(w, r, http.StatusOK, func(st casefile.Store) (casefile.Case, error) {
		return casefile.AddTrace(r.Context(), st, id, actor(r), params, summary, height)
	})
}
