package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
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

// runScreen is `sleuth screen ADDR... | --csv FILE`.
func runScreen(ctx context.Context, args []string) error {
	var s storeFlags
	var csvIn, out, rules string
	fs := flag.NewFlagSet("screen", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&csvIn, "csv", "", "screen the addresses of FILE (one per line, or a column named address; - for stdin)")
	fs.StringVar(&out, "out", "", "output: text, csv or json (default text; json with --json)")
	fs.StringVar(&rules, "rules", "", "risk rules (JSON; default: the built-in rules, see internal/risk DefaultRules)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	addrs := fs.Args()
	if csvIn != "" {
		more, err := readAddresses(csvIn)
		if err != nil {
			return err
		}
		addrs = append(addrs, more...)
	}
	if len(addrs) == 0 {
		return usagef("usage: sleuth screen ADDR... | --csv FILE [--out csv|json] [--rules FILE]")
	}
	if out == "" {
		out = "text"
		if s.json {
			out = "json"
		}
	}
	if out != "text" && out != "csv" && out != "json" {
		return usagef("--out %q: want text, csv or json", out)
	}
	sc, db, err := openScreener(&s, rules)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	var w *csv.Writer
	var enc *json.Encoder
	switch out {
	case "csv":
		w = csv.NewWriter(os.Stdout)
		defer w.Flush()
		w.Write([]string{"address", "entity", "risk", "reasons", "received", "sent", "exposure", "error"})
	case "json":
		fmt.Println("[")
		enc = json.NewEncoder(os.Stdout)
	}
	n, worst := 0, risk.Low
	err = sc.ScreenMany(ctx, addrs, func(r *risk.Report) error {
		worst = max(worst, r.Risk)
		switch out {
		case "csv":
			ent := ""
			if r.Entity != nil {
				ent = strconv.FormatUint(*r.Entity, 10)
			}
			var ex []string
			for _, x := range r.Exposure {
				ex = append(ex, fmt.Sprintf("%s:%s:%s:%d:%.4f:%d", x.Category, x.Direction, x.Kind, x.Sats, x.Share, x.MinHops))
			}
			return w.Write([]string{r.Address, ent, r.Risk.String(), strings.Join(r.Reasons, "; "),
				strconv.FormatUint(r.Received, 10), strconv.FormatUint(r.Sent, 10), strings.Join(ex, " "), r.Error})
		case "json":
			if n > 0 {
				fmt.Println(",")
			}
			n++
			return enc.Encode(r)
		}
		n++
		printReport(os.Stdout, r)
		return nil
	})
	if out == "json" {
		fmt.Println("]")
	}
	if err != nil {
		return err
	}
	if out == "text" && len(addrs) > 1 {
		fmt.Printf("screened %d addresses in %s; worst risk %s\n", len(addrs), time.Since(start).Round(time.Millisecond), worst)
	}
	return nil
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
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("usage: sleuth exposure ADDR|ENTITY-ID|TXID [--json] [--paths [--policy P] [--hops N]]")
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
	q := fs.Arg(0)
	sc, db, err := openScreener(&s, rules)
	if err != nil {
		return err
	}
	defer db.Close()
	var r *risk.Report
	if id, perr := strconv.ParseUint(q, 10, 64); perr == nil {
		r, err = sc.Entity(ctx, id)
	} else if len(q) == 64 {
		var h btc.Hash
		if h, err = btc.ParseHash(q); err == nil {
			r, err = sc.Tx(ctx, h)
		}
	} else {
		r, err = sc.Screen(ctx, q)
	}
	if err != nil {
		return err
	}
	if !paths {
		if s.json {
			return printJSON(r)
		}
		printReport(os.Stdout, r)
		return nil
	}
	if r.Address == "" {
		return usagef("--paths explains an address's exposure, not an entity's or a transaction's")
	}
	pr, err := sc.Paths(ctx, q, topts)
	if err != nil {
		return err
	}
	spr, err := sc.SentPaths(ctx, q, topts)
	if err != nil {
		return err
	}
	if s.json {
		// paths: received (as before sent existed); sent_paths: sent.
		return printJSON(struct {
			*risk.Report
			Paths     *risk.PathReport `json:"paths"`
			SentPaths *risk.PathReport `json:"sent_paths"`
		}{r, pr, spr})
	}
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

func openScreener(s *storeFlags, rules string) (*risk.Screener, interface{ Close() error }, error) {
	var rs *risk.Rules
	if rules != "" {
		var err error
		if rs, err = risk.LoadRules(rules); err != nil {
			return nil, nil, usageError{err}
		}
	}
	db, err := s.open(false)
	if err != nil {
		return nil, nil, err
	}
	sc, err := risk.NewScreener(db, rs)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return sc, db, nil
}

// readAddresses reads one address per line, or the column named address
// of a CSV file with a header.
func readAddresses(path string) ([]string, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	rows, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := 0
	if len(rows) > 0 {
		for i, c := range rows[0] {
			if strings.EqualFold(strings.TrimSpace(c), "address") {
				col, rows = i, rows[1:]
				break
			}
		}
	}
	var out []string
	for _, row := range rows {
		if col < len(row) {
			if a := strings.TrimSpace(row[col]); a != "" && !strings.HasPrefix(a, "#") {
				out = append(out, a)
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New(path + ": no addresses")
	}
	return out, nil
}

func printReport(w io.Writer, r *risk.Report) {
	head := r.Query
	if r.Entity != nil && r.Address != "" {
		head += fmt.Sprintf("  entity %d", *r.Entity)
	}
	if r.Error != "" {
		fmt.Fprintf(w, "%s  ERROR %s\n", head, r.Error)
		return
	}
	fmt.Fprintf(w, "%s  risk %s", head, r.Risk)
	if len(r.Reasons) > 0 {
		fmt.Fprintf(w, " (%s)", strings.Join(r.Reasons, "; "))
	}
	fmt.Fprintln(w)
	if r.Partial {
		fmt.Fprintf(w, "  (summed over the first %d members only)\n", r.Members)
	}
	for _, x := range r.Exposure {
		fmt.Fprintf(w, "  %-14s %-8s %-8s %14s %6.2f%%  hops %d", x.Category, x.Direction, x.Kind, btcString(int64(x.Sats)), 100*x.Share, x.MinHops)
		if e := x.Explanation; e != nil {
			fmt.Fprintf(w, "  ← %q (%s, %s, confidence %d) at %s", e.Label, e.Concept, e.List, e.Confidence, e.Address)
			if e.TxID != "" {
				fmt.Fprintf(w, " via tx %s", e.TxID)
			}
		}
		fmt.Fprintln(w)
	}
}
