package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/client"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// runRisk is `sleuth risk update [--rebuild]`: (re)compute exposure.
func runRisk(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "update" {
		return usagef("usage: sleuth risk update [--rebuild] [--max-hops N] [--epsilon X]")
	}
	var s storeFlags
	var opts risk.Options
	var verbose bool
	fs := flag.NewFlagSet("risk update", flag.ContinueOnError)
	s.add(fs, true)
	fs.BoolVar(&opts.Rebuild, "rebuild", false, "recompute exposure from scratch")
	fs.IntVar(&opts.MaxHops, "max-hops", 5, "indirect exposure stops after this many hops")
	fs.Float64Var(&opts.Epsilon, "epsilon", 0.001, "a category below this share of an output stops propagating")
	fs.BoolVar(&verbose, "v", false, "log progress")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	opts.Logger = newLogger(verbose)
	opts.ListChanged = true // the summary printed names what changed
	sum, err := risk.Update(ctx, db, opts)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(sum)
	}
	printRiskSummary(sum)
	return nil
}

func printRiskSummary(sum risk.Summary) {
	how := "updated"
	if sum.Reason != "" {
		how = "computed from scratch (" + sum.Reason + ")"
	}
	fmt.Printf("exposure %s to height %d: %d blocks, %d txs, %d standalone txs, %d exposed outputs, %d labelled entities, %s\n",
		how, sum.Height, sum.Blocks, sum.Txs, sum.Standalone, sum.Exposed, sum.Entities, sum.Elapsed.Round(time.Millisecond))
}

// notAssessed is returned when some inputs of screen or exposure were
// not assessed (invalid, or not on the indexed chain): exit code 3, after
// every input was answered.
type notAssessed struct{ invalid, notSeen, total int }

func (e notAssessed) Error() string {
	return fmt.Sprintf("%d of %d inputs not assessed (%d invalid, %d not seen on the indexed chain)",
		e.invalid+e.notSeen, e.total, e.invalid, e.notSeen)
}

func (e *notAssessed) count(r *risk.Report) {
	e.total++
	switch r.Status {
	case risk.Invalid:
		e.invalid++
	case risk.NotSeen:
		e.notSeen++
	}
}

func (e *notAssessed) err() error {
	if e.invalid+e.notSeen == 0 {
		return nil
	}
	return *e
}

const screenUsage = `usage: sleuth screen ADDR|TXID... | --csv FILE | --jsonl FILE | --in csv|jsonl (stdin)
       [--column NAME] [--out text|csv|json|jsonl] [--as-of YYYY-MM-DD] [--rules FILE]

Every answer has a status: assessed (risk is set), not_seen (a valid
address or txid the indexed chain does not hold: the reason gives the
tip), or invalid (the reason says why: bad checksum, wrong network, a bad
batch row with its line). Exit status: 0 when every input was assessed,
3 when some were not (all are still answered), 2 on a usage error, 1 on
failure. A CSV batch keeps every input column and adds line, status,
reason, risk, reasons, entity, received, sent, exposure, method,
tip_height and basis_date; a JSON-lines batch keeps every input field and
adds "screen". Flags:`

// runScreen is `sleuth screen ADDR... | --csv FILE | --jsonl FILE`.
func runScreen(ctx context.Context, args []string) error {
	var s storeFlags
	var csvIn, jsonlIn, in, column, out, rules, asOf string
	fs := flag.NewFlagSet("screen", flag.ContinueOnError)
	fs.Usage = func() { fmt.Fprintln(fs.Output(), screenUsage); fs.PrintDefaults() }
	s.add(fs, true)
	fs.StringVar(&csvIn, "csv", "", "screen the rows of CSV `FILE` (- for stdin): a header naming the address column (address, addr, … or --column), or one address per line")
	fs.StringVar(&jsonlIn, "jsonl", "", "screen the lines of JSON-lines `FILE` (- for stdin): objects with an address field (or --column), or bare JSON strings")
	fs.StringVar(&in, "in", "", "read a batch from stdin in this format: csv or jsonl")
	fs.StringVar(&column, "column", "", "the batch's address column (CSV header name, JSON field)")
	fs.StringVar(&out, "out", "", "output: text, csv, json or jsonl (default: a batch's own format; else text, json with --json)")
	fs.StringVar(&rules, "rules", "", "risk rules (JSON; default: the built-in rules, see internal/risk DefaultRules)")
	fs.StringVar(&asOf, "as-of", "", "answer as of this date (YYYY-MM-DD): lists as they stood then, transactions up to its end (traced on demand: slower)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	switch in {
	case "":
	case "csv", "jsonl":
		if csvIn != "" || jsonlIn != "" {
			return usagef("--in reads stdin: not with --csv or --jsonl")
		}
		if in == "csv" {
			csvIn = "-"
		} else {
			jsonlIn = "-"
		}
	default:
		return usagef("--in %q: want csv or jsonl", in)
	}
	if csvIn != "" && jsonlIn != "" {
		return usagef("--csv and --jsonl: one batch at a time")
	}
	if fs.NArg() == 0 && csvIn == "" && jsonlIn == "" {
		return usagef("%s", screenUsage[:strings.Index(screenUsage, "\n\n")])
	}
	if out == "" {
		switch {
		case csvIn != "":
			out = "csv"
		case jsonlIn != "":
			out = "jsonl"
		case s.json:
			out = "json"
		default:
			out = "text"
		}
	}
	if !slices.Contains([]string{"text", "csv", "json", "jsonl"}, out) {
		return usagef("--out %q: want text, csv, json or jsonl", out)
	}
	sc, err := openScreener(ctx, &s, rules, asOf)
	if err != nil {
		return err
	}
	defer sc.Close()
	basis, err := sc.Basis(ctx)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	start := time.Now()
	var na notAssessed
	worst := risk.Low
	var emit func(*risk.Input, *risk.Report) error
	var csvw *risk.CSVWriter
	header := func(cols []string) error {
		if out == "csv" && csvw == nil {
			csvw, err = risk.NewCSVWriter(w, cols, basis)
			return err
		}
		return nil
	}
	switch out {
	case "text":
		fmt.Fprintln(w, basis)
		emit = func(_ *risk.Input, r *risk.Report) error { printReport(w, r); return nil }
	case "json":
		b, err := json.Marshal(basis)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "{\"basis\": %s,\n\"results\": [\n", b)
		enc := json.NewEncoder(w)
		emit = func(_ *risk.Input, r *risk.Report) error {
			if na.total > 1 {
				fmt.Fprint(w, ",")
			}
			return enc.Encode(r)
		}
	case "jsonl":
		jw := risk.NewJSONLWriter(w, basis)
		emit = jw.Write
	case "csv":
		emit = func(in *risk.Input, r *risk.Report) error {
			if csvw == nil { // positional arguments only
				if err := header([]string{"address"}); err != nil {
					return err
				}
			}
			return csvw.Write(in, r)
		}
	}
	// Rows are screened sc.chunk() at a time (one locally, a request's
	// worth through a server) and answered in order.
	var pending []*risk.Input
	flush := func() error {
		if err := ctx.Err(); err != nil {
			return err
		}
		reps, err := sc.ScreenInputs(ctx, pending)
		if err != nil {
			return err
		}
		for i, r := range reps {
			na.count(r)
			if r.Status == risk.Assessed {
				worst = max(worst, r.Risk)
			}
			if err := emit(pending[i], r); err != nil {
				return err
			}
		}
		pending = pending[:0]
		return nil
	}
	screen := func(in *risk.Input) error {
		pending = append(pending, in)
		if len(pending) < sc.chunk() {
			return nil
		}
		return flush()
	}
	for i, a := range fs.Args() {
		if err := screen(&risk.Input{Line: i + 1, Query: strings.TrimSpace(a), Fields: []string{a}}); err != nil {
			return err
		}
	}
	if csvIn != "" || jsonlIn != "" {
		path := csvIn + jsonlIn
		f, closeFn, err := openInput(path)
		if err != nil {
			return err
		}
		defer closeFn()
		if csvIn != "" {
			err = risk.ReadCSV(f, column, header, screen)
		} else {
			err = risk.ReadJSONL(f, column, screen)
		}
		if errors.Is(err, risk.ErrNoColumn) {
			return usageError{fmt.Errorf("%s: %w", path, err)}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	if err := flush(); err != nil {
		return err
	}
	switch out {
	case "json":
		fmt.Fprintln(w, "]}")
	case "csv":
		if csvw != nil {
			if err := csvw.Flush(); err != nil {
				return err
			}
		}
	case "text":
		if na.total > 1 {
			fmt.Fprintf(w, "screened %d inputs in %s: %d assessed (worst risk %s), %d invalid, %d not seen\n", na.total,
				time.Since(start).Round(time.Millisecond), na.total-na.invalid-na.notSeen, worst, na.invalid, na.notSeen)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return na.err()
}

// openInput opens path for reading (- is stdin).
func openInput(path string) (io.Reader, func(), error) {
	if path == "-" {
		return os.Stdin, func() {}, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	return f, func() { f.Close() }, nil
}

// runExposure is `sleuth exposure ADDR|ENTITY|TXID`.
func runExposure(ctx context.Context, args []string) error {
	var s storeFlags
	var rules string
	fs := flag.NewFlagSet("exposure", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&rules, "rules", "", "risk rules (JSON)")
	var paths bool
	var policy string
	var hops int
	fs.BoolVar(&paths, "paths", false, "address only: explain each exposure category, received (backward trace from what it received) and sent (forward trace from what it spent, direct and indirect), by the labelled entity reached, with one transaction path (walks the chain: slower than screening)")
	fs.StringVar(&policy, "policy", "fifo", "with --paths: taint policy of the traces (fifo, haircut, poison, lifo, tiho)")
	fs.IntVar(&hops, "hops", trace.DefaultMaxHops, "with --paths: walk at most this many transactions back (received) or on (sent)")
	var asOf string
	fs.StringVar(&asOf, "as-of", "", "answer as of this date (YYYY-MM-DD): lists as they stood then, transactions up to its end (addresses and transactions)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: sleuth exposure ADDR|ENTITY-ID|TXID [--json] [--as-of DATE] [--paths [--policy P] [--hops N]]\n" +
			"exit status 3 when the input was not assessed (invalid, or not on the indexed chain)")
	}
	var topts trace.Options
	if paths {
		var err error
		if topts.Policy, err = trace.ParsePolicy(policy); err != nil {
			return usageError{err}
		}
		if hops <= 0 {
			return usagef("--hops must be positive")
		}
		topts.MaxHops = hops
	}
	q := strings.TrimSpace(fs.Arg(0))
	sc, err := openScreener(ctx, &s, rules, asOf)
	if err != nil {
		return err
	}
	defer sc.Close()
	basis, err := sc.Basis(ctx)
	if err != nil {
		return err
	}
	r, err := sc.Query(ctx, q)
	if err != nil {
		return err
	}
	var na notAssessed
	na.count(r)
	if !paths || r.Status != risk.Assessed {
		if s.json {
			r.Basis = basis
			if err := printJSON(r); err != nil {
				return err
			}
		} else {
			fmt.Println(basis)
			printReport(os.Stdout, r)
		}
		return na.err()
	}
	if r.Address == "" {
		return usagef("--paths explains an address's exposure, not an entity's or a transaction's")
	}
	if asOf != "" {
		return usagef("--paths with --as-of: an as-of answer already traces, and gives each row's path")
	}
	pr, spr, err := sc.Paths(ctx, q, topts)
	if err != nil {
		return err
	}
	if s.json {
		// paths: received (as before sent existed); sent_paths: sent.
		r.Basis = basis
		return printJSON(struct {
			*risk.Report
			Paths     *risk.PathReport `json:"paths"`
			SentPaths *risk.PathReport `json:"sent_paths"`
		}{r, pr, spr})
	}
	fmt.Println(basis)
	printReport(os.Stdout, r)
	printPaths(os.Stdout, pr)
	printPaths(os.Stdout, spr)
	return nil
}

func printPaths(w io.Writer, pr *risk.PathReport) {
	t := pr.Totals
	if pr.Direction == "sent" {
		fmt.Fprintf(w, "\nsent paths (forward trace of %s sent, policy %s, %d transactions in %.3fs; to labelled entities %s, unspent %s, fees %s, CoinJoins %s, untracked %s):\n",
			btcString(pr.Traced), pr.Policy, pr.TxsRead, pr.Elapsed, btcString(t.CashedOut), btcString(t.Held), btcString(t.Fee),
			btcString(t.CoinJoin), btcString(t.Lost()))
	} else {
		fmt.Fprintf(w, "\nreceived paths (backward trace of %s received, policy %s, %d transactions in %.3fs; from labelled entities %s, mined %s, unknown %s, CoinJoins %s, untracked %s):\n",
			btcString(pr.Traced), pr.Policy, pr.TxsRead, pr.Elapsed, btcString(t.CashedOut), btcString(t.Mined), btcString(t.Unknown),
			btcString(t.CoinJoin), btcString(t.Lost()))
	}
	if len(pr.Rows) == 0 {
		fmt.Fprintln(w, "  (no labelled entity of an exposure category reached)")
	}
	from, sep := "from", " < "
	if pr.Direction == "sent" {
		from, sep = "to", " > "
	}
	for _, x := range pr.Rows {
		fmt.Fprintf(w, "  %-14s %-8s %14s %6.2f%%  %s %d entit", x.Category, x.Kind, btcString(x.Sats), 100*x.Share, from, x.Entities)
		if x.Entities == 1 {
			fmt.Fprint(w, "y")
		} else {
			fmt.Fprint(w, "ies")
		}
		fmt.Fprintf(w, " (fewest hops %d); most (%s) %s entity %d", x.MinHops, btcString(x.EntitySats), from, x.Entity)
		if e := x.Explanation; e != nil {
			fmt.Fprintf(w, " %q (%s, %s) at %s", e.Label, e.Concept, e.List, e.Address)
		}
		fmt.Fprintf(w, ", %d hops\n", x.Hops)
		if len(x.Path) > 0 {
			fmt.Fprintf(w, "      path %s (the entity's output %s)\n", strings.Join(x.Path, sep), x.Out)
		}
	}
}

// screenSource answers screen and exposure: a risk.Screener over the
// store opened read-only, or the sleuth serve that owns the store.
type screenSource interface {
	Basis(ctx context.Context) (*risk.Basis, error)
	// ScreenInputs answers batch rows in order (risk.Screener.ScreenInput).
	ScreenInputs(ctx context.Context, ins []*risk.Input) ([]*risk.Report, error)
	// Query answers an address, entity id or txid.
	Query(ctx context.Context, q string) (*risk.Report, error)
	// Paths explains an address's received and sent exposure.
	Paths(ctx context.Context, addr string, opts trace.Options) (received, sent *risk.PathReport, err error)
	// chunk is how many batch rows to hand ScreenInputs at once.
	chunk() int
	Close() error
}

// localScreen screens with a risk.Screener on the open store.
type localScreen struct {
	sc  *risk.Screener
	db  interface{ Close() error }
	out []*risk.Report // ScreenInputs' answer, reused
}

func (l *localScreen) Basis(ctx context.Context) (*risk.Basis, error) { return l.sc.Basis(ctx) }

// ScreenInputs returns a slice valid until the next call.
func (l *localScreen) ScreenInputs(ctx context.Context, ins []*risk.Input) ([]*risk.Report, error) {
	l.out = l.out[:0]
	for _, in := range ins {
		r, err := l.sc.ScreenInput(ctx, in)
		if err != nil {
			return nil, err
		}
		l.out = append(l.out, r)
	}
	return l.out, nil
}

func (l *localScreen) Query(ctx context.Context, q string) (*risk.Report, error) {
	return l.sc.Query(ctx, q, true)
}

func (l *localScreen) Paths(ctx context.Context, addr string, opts trace.Options) (*risk.PathReport, *risk.PathReport, error) {
	pr, err := l.sc.Paths(ctx, addr, opts)
	if err != nil {
		return nil, nil, err
	}
	spr, err := l.sc.SentPaths(ctx, addr, opts)
	return pr, spr, err
}

func (l *localScreen) chunk() int   { return 1 }
func (l *localScreen) Close() error { return l.db.Close() }

// remoteScreen screens through the sleuth serve that owns the store.
type remoteScreen struct{ *client.Client }

func (r remoteScreen) Paths(ctx context.Context, addr string, opts trace.Options) (*risk.PathReport, *risk.PathReport, error) {
	if opts.Policy != trace.FIFO || opts.MaxHops != trace.DefaultMaxHops {
		return nil, nil, usagef("--policy and --hops: sleuth serve at %s owns this store and traces paths with policy fifo and %d hops only (GET /v1/exposure/{address}?paths=true); drop them or stop the server",
			r.URL(), trace.DefaultMaxHops)
	}
	return r.Client.Paths(ctx, addr)
}

func (r remoteScreen) chunk() int   { return 10_000 }
func (r remoteScreen) Close() error { return nil }

// openScreener opens the store and a risk.Screener with rules (a file,
// else the defaults) as of asOf (YYYY-MM-DD, else now), or, when a sleuth
// serve owns the store, that server (which takes neither).
func openScreener(ctx context.Context, s *storeFlags, rules, asOf string) (screenSource, error) {
	var rs *risk.Rules
	if rules != "" {
		var err error
		if rs, err = risk.LoadRules(rules); err != nil {
			return nil, usageError{err}
		}
	}
	var at time.Time
	if asOf != "" {
		var err error
		if at, err = risk.ParseAsOf(asOf); err != nil {
			return nil, usageError{err}
		}
	}
	src, err := s.openSource(ctx)
	if err != nil {
		return nil, err
	}
	if src.srv != nil {
		if rules != "" || asOf != "" {
			return nil, usagef("--rules and --as-of: sleuth serve at %s owns this store and screens with its own rules, as of now; drop them or stop the server", src.srv.URL())
		}
		return remoteScreen{src.srv}, nil
	}
	sc, err := risk.NewScreener(src.db, rs)
	if err == nil && asOf != "" {
		err = sc.SetAsOf(ctx, at)
	}
	if err != nil {
		src.Close()
		return nil, err
	}
	return &localScreen{sc: sc, db: src.db}, nil
}

func printReport(w io.Writer, r *risk.Report) {
	head := r.Query
	if r.Entity != nil && r.Address != "" {
		head += fmt.Sprintf("  entity %d", *r.Entity)
	}
	switch r.Status {
	case risk.Invalid:
		fmt.Fprintf(w, "%s  INVALID: %s\n", head, r.Reason)
		return
	case risk.NotSeen:
		fmt.Fprintf(w, "%s  NOT SEEN: %s\n", head, r.Reason)
		return
	}
	fmt.Fprintf(w, "%s  risk %s", head, r.Risk)
	if len(r.Reasons) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(r.Reasons, "; "))
	}
	fmt.Fprintln(w)
	if r.Reason != "" {
		fmt.Fprintf(w, "  note: %s\n", r.Reason)
	}
	if r.Method != "" && r.Method != risk.MethodStored {
		fmt.Fprintf(w, "  method: %s\n", r.Method)
	}
	if r.Partial {
		fmt.Fprintf(w, "  (summed over the first %d members only)\n", r.Members)
	}
	for _, f := range r.Former {
		from := "?"
		if f.ListedFrom != nil {
			from = *f.ListedFrom
		}
		fmt.Fprintf(w, "  formerly listed: %q (%s, %s) from %s to %s; not screened on it\n", f.Label, f.Category, f.List, from, f.ListedTo)
	}
	for _, x := range r.Exposure {
		fmt.Fprintf(w, "  %-14s %-8s %-8s %-12s %14s %6.2f%%  hops %d", x.Category, x.Direction, x.Kind, x.Basis, btcString(int64(x.Sats)), 100*x.Share, x.MinHops)
		if e := x.Explanation; e != nil {
			fmt.Fprintf(w, "  ← %q (%s, %s, confidence %d", e.Label, e.Concept, e.List, e.Confidence)
			if e.ListedFrom != nil {
				fmt.Fprintf(w, ", listed %s", *e.ListedFrom)
			}
			if e.ListedTo != nil {
				fmt.Fprintf(w, ", delisted %s", *e.ListedTo)
			}
			fmt.Fprintf(w, ") at %s", e.Address)
			if e.TxID != "" {
				fmt.Fprintf(w, " via tx %s", e.TxID)
			}
		}
		fmt.Fprintln(w)
		if e := x.Explanation; e != nil && e.Entity != nil {
			p := e.Entity
			fmt.Fprintf(w, "      through entity %d (%d addresses), member %s", p.ID, p.Size, p.Member)
			if p.Note != "" {
				fmt.Fprintf(w, "; %s", p.Note)
			}
			fmt.Fprintln(w)
			for _, m := range p.Merges {
				fmt.Fprintf(w, "        %s + %s in tx %s (%s, confidence %.2f)\n", m.FromAddr, m.ToAddr, m.TxID, m.Heuristic, m.Confidence)
			}
		}
		if len(x.Path) > 0 {
			fmt.Fprintf(w, "      path %s\n", strings.Join(x.Path, " "))
		}
	}
	for _, f := range r.Fired {
		fmt.Fprintf(w, "  rule %s: %s (%s; row %d)\n", f.Level, f.Why, f.Threshold, f.Row+1)
	}
}
