package main

import (
	"context"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// traceOptions are the flags of `sleuth trace`.
type traceOptions struct {
	store     storeFlags
	from      multiFlag
	incidents multiFlag
	fromFile  string
	direction string
	policy    string
	hops      int
	minSats   int64
	paths     int
	before    string
	after     string
	perps     string
	csv       bool
	graph     bool
	all       bool
	detail    int
	followCJ  bool
}

func (o *traceOptions) addFlags(fs *flag.FlagSet) {
	o.store.add(fs, true)
	fs.Var(&o.from, "from", "what to trace: TXID:VOUT, a txid (all outputs), an address (all it received) or an entity id; repeat it to trace several sources together (an incident's txids) as one result")
	fs.Var(&o.incidents, "incident", "trace an incident (its id or name as sleuth incident list prints them; a name takes every incident of that name); repeatable, together with --from")
	fs.StringVar(&o.fromFile, "from-file", "", "file of sources to trace together, one per line as --from takes them ('#' starts a comment)")
	fs.StringVar(&o.direction, "direction", "forward", "forward (where the funds went) or backward (where they came from; labelled services are the sources of funds)")
	fs.StringVar(&o.policy, "policy", "fifo", "taint policy: fifo, haircut, poison, lifo or tiho")
	fs.IntVar(&o.hops, "hops", trace.DefaultMaxHops, "follow taint at most this many transactions")
	fs.Int64Var(&o.minSats, "min-sats", trace.DefaultMinSats, "do not follow tainted outputs carrying fewer sats")
	fs.IntVar(&o.paths, "paths", trace.DefaultPaths, "example paths kept per entity")
	fs.StringVar(&o.after, "after", "", "follow only transactions at or after this time (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.before, "before", "", "follow only transactions before this time (RFC 3339 or YYYY-MM-DD)")
	fs.StringVar(&o.perps, "perpetrator", "", "comma list of entity ids to follow even if labelled as services")
	fs.BoolVar(&o.csv, "csv", false, "print CSV: one row per entity and per address")
	fs.BoolVar(&o.graph, "graph", false, "print the trace as a graph (nodes, edges) in JSON")
	fs.BoolVar(&o.all, "all", false, "list every entity reached, not only cash-out points, each with addresses and paths (implies --detail -1)")
	fs.IntVar(&o.detail, "detail", trace.DefaultDetail, "how many entities (cash-out points first, then most sats) get address strings and example paths; -1 for all")
	fs.BoolVar(&o.followCJ, "follow-coinjoins", false, "follow the taint a CoinJoin's per-participant split cannot attribute (shared over indistinguishable outputs) instead of reporting it as uncertain")
}

func runTrace(ctx context.Context, args []string) error {
	var o traceOptions
	fs := flag.NewFlagSet("trace", flag.ContinueOnError)
	o.addFlags(fs)
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	// Arguments after the flags are more sources (trace A B C).
	o.from = append(o.from, fs.Args()...)
	req := query.TraceRequest{Sources: o.from, Incidents: o.incidents, Direction: o.direction, Policy: o.policy,
		Hops: o.hops, MinSats: o.minSats, Paths: o.paths, Detail: o.detail, After: o.after, Before: o.before,
		FollowCoinJoins: o.followCJ, Graph: o.graph}
	nlines := 0
	if o.fromFile != "" {
		f, err := os.Open(o.fromFile)
		if err != nil {
			return usagef("--from-file: %w", err)
		}
		lines, err := trace.ParseSourceList(f)
		f.Close()
		if err != nil {
			return usagef("--from-file %s: %w", o.fromFile, err)
		}
		req.WithSourceFile("--from-file "+o.fromFile, lines)
		nlines = len(lines)
	}
	if o.all {
		req.Detail = -1
	}
	if o.perps != "" {
		for _, f := range splitComma(o.perps) {
			e, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return usagef("bad --perpetrator entity %q", f)
			}
			req.Perpetrators = append(req.Perpetrators, e)
		}
	}
	// Parameters are checked before the store is opened.
	if _, err := req.Options(); err != nil {
		return traceUsage(err)
	}
	db, err := o.store.open(false)
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := query.Trace(ctx, db, &req, 0)
	if err != nil {
		return traceUsage(err)
	}
	r := v.Result
	switch {
	case o.graph:
		return printJSON(r.Graph)
	case o.store.json:
		return printJSON(r)
	case o.csv:
		return printTraceCSV(r)
	}
	if v.Services == 0 {
		fmt.Fprintln(os.Stderr, "note: no service labels in the store (import a TagPack with 'sleuth labels import'): nothing counts as a cash-out or labelled source")
	}
	return printTrace(r, len(o.from)+len(o.incidents)+nlines, o.all)
}

// traceUsage marks a bad parameter or source of a trace request as the
// user's error, naming the flag.
func traceUsage(err error) error {
	var fe *query.FieldError
	if !errors.As(err, &fe) {
		return err
	}
	flag := fe.Field
	if i := strings.IndexByte(flag, '['); i >= 0 {
		flag = flag[:i]
	}
	names := map[string]string{"sources": "--from", "incidents": "--incident", "min_sats": "--min-sats", "max_txs": "--max-txs"}
	if n, ok := names[flag]; ok {
		flag = n
	} else if !strings.HasPrefix(flag, "--") {
		flag = "--" + flag
	}
	if errors.Is(err, index.ErrNotFound) && !errors.Is(err, trace.ErrSource) {
		return fmt.Errorf("%s: %w", flag, fe.Err) // not the user's syntax: the store lacks it
	}
	return usagef("%s: %w", flag, fe.Err)
}

func splitComma(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if i > start {
				out = append(out, s[start:i])
			}
			start = i + 1
		}
	}
	return out
}

func printTrace(r *trace.Result, sources int, all bool) error {
	t := r.Totals
	fmt.Printf("traced %s from %d source(s), %d output(s), policy %s, %s, max %d hops, min %s: %d transactions read in %.3fs\n",
		btcString(t.Source), sources, len(r.Sources), r.Policy, r.Direction, r.MaxHops, btcString(r.MinSats), r.TxsRead, r.Elapsed)
	if r.Policy == "poison" {
		fmt.Println("poison: amounts are whole output values and overstate the taint")
	}
	pct := func(x int64) string {
		if t.Source == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f%%", 100*float64(x)/float64(t.Denominator()))
	}
	back := r.Direction == trace.Backward.String()
	evidence, none := "EVIDENCE (txids from the source)", "(no cash-out point reached)"
	if back {
		evidence, none = "EVIDENCE (txids from the source back)", "(no labelled source of funds reached)"
		fmt.Printf("from labelled sources %s (%s), mined %s (%s), unknown %s (%s), through CoinJoins (uncertain, not followed) %s (%s), untracked %s (below min %s, beyond hops %s, outside window %s, truncated %s)\n\n",
			btcString(t.CashedOut), pct(t.CashedOut), btcString(t.Mined), pct(t.Mined), btcString(t.Unknown), pct(t.Unknown),
			btcString(t.CoinJoin), pct(t.CoinJoin),
			btcString(t.Lost()), btcString(t.BelowMin), btcString(t.BeyondHops), btcString(t.OutsideWindow), btcString(t.Truncated))
	} else {
		if t.Beyond > 0 {
			fmt.Printf("beyond the indexed range %s (%s): on outputs of standalone blocks whose later spends are not indexed (not held: they may be spent)\n",
				btcString(t.Beyond), pct(t.Beyond))
		}
		fmt.Printf("cashed out %s (%s), held %s (%s), fees %s, through CoinJoins (uncertain, not followed) %s (%s), untracked %s (below min %s, beyond hops %s, outside window %s, truncated %s)\n\n",
			btcString(t.CashedOut), pct(t.CashedOut), btcString(t.Held), pct(t.Held), btcString(t.Fee), btcString(t.CoinJoin), pct(t.CoinJoin),
			btcString(t.Lost()), btcString(t.BelowMin), btcString(t.BeyondHops), btcString(t.OutsideWindow), btcString(t.Truncated))
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ENTITY\tLABEL\tCATEGORY\tRECEIVED\tSHARE\tHOPS\tFIRST\t"+evidence)
	n := 0
	for _, e := range r.Entities {
		if !e.CashOut && !all {
			continue
		}
		n++
		name, cat := e.Label, e.Category
		if !e.CashOut {
			name, cat = "-", "held"
			switch {
			case back:
				cat = "passed"
			case e.Held == 0 && e.Beyond > 0:
				cat = "beyond index"
			case e.Held == 0:
				cat = "passed"
			}
		}
		ev := ""
		if len(e.Paths) > 0 {
			for i, id := range e.Paths[0].TxIDs {
				if i > 0 {
					ev += " > "
				}
				ev += id[:12]
			}
		}
		sats := e.CashedOut
		if !e.CashOut {
			sats = e.Sats
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%.2f%%\t%d-%d\t%s\t%s\n", e.ID, name, cat, btcString(sats), 100*e.Share, e.MinHops, e.MaxHops, e.First, ev)
	}
	if n == 0 {
		fmt.Fprintln(tw, none)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n > 0 {
		ended := "cashed out, held, beyond the indexed range or untracked"
		if back {
			ended = "from a labelled source or untracked"
		}
		fmt.Printf("RECEIVED: taint that came to the entity from others; SHARE: of the traced taint, what ended there (%s)\n", ended)
	}
	if len(r.CoinJoins) > 0 || len(r.PeelChains) > 0 {
		fmt.Printf("\nthrough %d CoinJoin(s) (split per participant; %d by change match, %d by clustering, %d not attributable) and %d peel chain(s); --json lists them\n",
			len(r.CoinJoins), countMethod(r, trace.MixChange), countMethod(r, trace.MixCluster), countMethod(r, trace.MixNone), len(r.PeelChains))
	}
	return nil
}

func printTraceCSV(r *trace.Result) error {
	w := csv.NewWriter(os.Stdout)
	_ = w.Write([]string{"entity", "address", "label", "category", "cash_out", "sats", "share", "cashed_out", "held",
		"untracked", "min_hops", "max_hops", "first", "last", "path", "beyond_indexed"})
	for _, e := range r.Entities {
		path := ""
		if len(e.Paths) > 0 {
			for i, id := range e.Paths[0].TxIDs {
				if i > 0 {
					path += " "
				}
				path += id
			}
		}
		_ = w.Write([]string{strconv.FormatUint(e.ID, 10), "", e.Label, e.Category, strconv.FormatBool(e.CashOut),
			strconv.FormatInt(e.Sats, 10), strconv.FormatFloat(e.Share, 'f', 6, 64), strconv.FormatInt(e.CashedOut, 10),
			strconv.FormatInt(e.Held, 10), strconv.FormatInt(e.Untracked, 10), strconv.Itoa(e.MinHops), strconv.Itoa(e.MaxHops),
			e.First, e.Last, path, strconv.FormatInt(e.Beyond, 10)})
		for _, a := range e.Addresses {
			_ = w.Write([]string{strconv.FormatUint(e.ID, 10), a.Address, e.Label, e.Category, strconv.FormatBool(e.CashOut),
				strconv.FormatInt(a.Sats, 10), strconv.FormatFloat(a.Share, 'f', 6, 64), strconv.FormatInt(a.CashedOut, 10),
				strconv.FormatInt(a.Held, 10), strconv.FormatInt(a.Untracked, 10), strconv.Itoa(a.MinHops), strconv.Itoa(a.MaxHops),
				a.First, a.Last, "", strconv.FormatInt(a.Beyond, 10)})
		}
	}
	w.Flush()
	return w.Error()
}

func countMethod(r *trace.Result, m string) int {
	n := 0
	for _, c := range r.CoinJoins {
		if c.Method == m {
			n++
		}
	}
	return n
}
