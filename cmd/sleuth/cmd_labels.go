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
	"sort"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

func runLabels(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return usagef("usage: sleuth labels import FILE... | show ADDR|ENTITY | stats | export | remove-source NAME")
	}
	switch args[0] {
	case "import":
		return sharedHint(labelsImport(ctx, args[1:]))
	case "remove-source":
		return sharedHint(labelsRemoveSource(ctx, args[1:]))
	case "show":
		return labelsShow(ctx, args[1:])
	case "stats":
		return labelsStats(ctx, args[1:])
	case "export":
		return labelsExport(ctx, args[1:])
	}
	return usagef("labels %q: want import, show, stats, export or remove-source", args[0])
}

func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		return t, usagef("date %q: want YYYY-MM-DD", s)
	}
	return t, nil
}

func labelsImport(ctx context.Context, args []string) error {
	var s storeFlags
	var format, date string
	var skipInvalid, strict, noRisk bool
	var dsn string
	fs := flag.NewFlagSet("labels import", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&dsn, "shared", "", sharedLabelUsage)
	fs.StringVar(&format, "format", "", "tagpack, actorpack, sdn_csv, address_list or sdn_advanced_xml (default: detected)")
	fs.StringVar(&date, "date", "", "publication date of a sanctions list whose file does not state it (YYYY-MM-DD)")
	fs.BoolVar(&noRisk, "no-risk", false, "do not recompute exposure now (sleuth risk update does it later)")
	fs.BoolVar(&strict, "strict", false, "refuse a file with any invalid entry (by default a sound file is imported without its invalid tags or list entries, each reported at file:line)")
	fs.BoolVar(&skipInvalid, "skip-invalid", false, "accepted for compatibility: skipping invalid entries is now the default (see --strict)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("labels import: give one or more files")
	}
	d, err := parseDate(date)
	if err != nil {
		return err
	}
	if dsn != "" {
		return labelsImportShared(ctx, dsn, &s, fs.Args(), label.ImportOptions{Format: format, Date: d, Strict: strict && !skipInvalid})
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	start := time.Now()
	var results []*label.FileResult
	var failed []string
	for _, path := range fs.Args() {
		r, err := label.ImportFile(ctx, db, path, label.ImportOptions{Format: format, Date: d, Strict: strict && !skipInvalid})
		if err != nil {
			if errors.Is(err, context.Canceled) {
				return err
			}
			failed = append(failed, err.Error())
			continue
		}
		results = append(results, r)
	}
	rsum, err := attributionChanged(ctx, db, noRisk || len(results) == 0)
	if err != nil {
		return fmt.Errorf("labels imported, but %w", err)
	}
	if s.json {
		if err := printJSON(struct {
			Imported []*label.FileResult `json:"imported"`
			Failed   []string            `json:"failed"`
			Elapsed  float64             `json:"elapsed_s"`
			Exposure *risk.Summary       `json:"exposure,omitempty"`
		}{results, append([]string{}, failed...), time.Since(start).Seconds(), rsum}); err != nil {
			return err
		}
	} else {
		total := 0
		for _, r := range results {
			what := fmt.Sprintf("%d labels, %d new addresses", r.Labels, r.Added)
			if r.Actors > 0 {
				what = fmt.Sprintf("%d actors", r.Actors)
			}
			if r.Unchanged {
				what = "unchanged since the last import"
			}
			if r.Incidents > 0 {
				what += fmt.Sprintf(", %d transaction tags as incidents", r.Incidents)
			}
			fmt.Printf("%s (%s → %q): %s\n", r.File, r.Format, r.Source, what)
			for _, w := range r.Rejected {
				fmt.Printf("  rejected %s\n", w)
			}
			total += r.Labels
		}
		fmt.Printf("imported %d of %d files, %d labels in %s\n", len(results), fs.NArg(), total, time.Since(start).Round(time.Millisecond))
		printExposure(rsum)
		if len(results) > 0 {
			fmt.Println("run 'sleuth rescreen' to find past transactions of newly listed addresses")
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d files not imported (each file is imported whole or not at all):\n%s",
			len(failed), fs.NArg(), strings.Join(failed, "\n"))
	}
	return nil
}

// attributionChanged brings what depends on labels and incidents up to
// date before a command returns (pipeline.AttributionChanged).
func attributionChanged(ctx context.Context, db *index.DB, skip bool) (*risk.Summary, error) {
	return pipeline.New(db, pipeline.Options{}).AttributionChanged(ctx, skip)
}

// printJSONExposure prints v (a JSON object) with the exposure update
// added as "exposure" when there was one.
func printJSONExposure(v any, sum *risk.Summary) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if sum != nil {
		m["exposure"] = sum
	}
	return printJSON(m)
}

// printExposure says how exposure followed an attribution change.
func printExposure(sum *risk.Summary) {
	switch {
	case sum == nil:
	case sum.Incremental:
		fmt.Printf("exposure updated incrementally: %d changed entities or incident outputs, %d addresses affected, %d transactions recomputed (%d changed), %d aggregates updated by difference, %d transactions re-aggregated, %s\n",
			sum.Changed, sum.Affected, sum.Recomputed, sum.Revectored, sum.Delta, sum.Reaggregated, sum.Elapsed.Round(time.Millisecond))
	default:
		printRiskSummary(*sum)
	}
}

func labelsRemoveSource(ctx context.Context, args []string) error {
	var noRisk bool
	st, fs, s, err := stateCommand(ctx, "labels remove-source", args, 1, "one source NAME (as labels stats prints it)", func(fs *flag.FlagSet) {
		fs.BoolVar(&noRisk, "no-risk", false, "do not update exposure now (sleuth risk update does it later)")
	}, true, false)
	if err != nil {
		return err
	}
	defer st.Close()
	if st.pg != nil {
		return st.logLabels(ctx, s, labelsync.Edit{Kind: labelsync.KindRemoveSource, Source: fs.Arg(0)})
	}
	db := st.db
	r, err := label.RemoveSource(ctx, db, fs.Arg(0))
	if err != nil {
		return err
	}
	return printRemoved(ctx, db, s, r, noRisk)
}

// printRemoved updates what depends on the removed labels and reports.
func printRemoved(ctx context.Context, db *index.DB, s *storeFlags, r label.Removed, noRisk bool) error {
	rsum, err := attributionChanged(ctx, db, noRisk)
	if err != nil {
		return fmt.Errorf("labels removed, but %w", err)
	}
	if s.json {
		return printJSONExposure(r, rsum)
	}
	what := ""
	if r.Source != "" {
		what = fmt.Sprintf(" and source %q", r.Source)
	}
	if r.Incidents > 0 {
		what += fmt.Sprintf(" with %d incidents", r.Incidents)
	}
	fmt.Printf("removed %d labels on %d addresses%s\n", r.Labels, len(r.Addresses), what)
	printExposure(rsum)
	return nil
}

func labelsShow(ctx context.Context, args []string) error {
	var asOf string
	src, fs, s, err := readCommand(ctx, "labels show", args, 1, "one ADDRESS or entity ID", func(fs *flag.FlagSet) {
		fs.StringVar(&asOf, "as-of", "", "only labels that applied on this date (YYYY-MM-DD)")
	})
	if err != nil {
		return err
	}
	defer src.Close()
	at, err := parseDate(asOf)
	if err != nil {
		return err
	}
	views, err := src.Labels(ctx, fs.Arg(0), at)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(views)
	}
	if len(views) == 0 {
		fmt.Println("no labels")
		return nil
	}
	for _, v := range views {
		fmt.Printf("%-8s %s  [%s%s]  confidence %d  %s  listed %s … %s  (%s; %s)\n", v.Via, v.Label, v.Category,
			optSuffix(v.Abuse), v.Confidence, v.Address, optString(v.ListedFrom, "?"), optString(v.ListedTo, "now"), v.List, v.Source)
	}
	return nil
}

func optSuffix(s string) string {
	if s == "" {
		return ""
	}
	return "/" + s
}

func labelsStats(ctx context.Context, args []string) error {
	db, _, s, err := lookupCommand("labels stats", args, 0, "no arguments", nil)
	if err != nil {
		return err
	}
	defer db.Close()
	st, err := label.ReadStats(ctx, db)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(st)
	}
	fmt.Printf("%d labels on %d addresses (%d on chain) from %d sources; %d incidents\n", st.Labels, st.Addresses, st.OnChain, len(st.Sources), st.Incidents)
	for _, src := range st.Sources {
		pubs := ""
		if n := len(src.Publications); n > 0 {
			pubs = fmt.Sprintf(", %d publications %s … %s", n, src.Publications[0], src.Publications[n-1])
		}
		fmt.Printf("  %-8s %-50s %6d addresses%s\n", src.Kind, src.Name, src.Labels, pubs)
	}
	printCounts("by category", st.ByCategory)
	printCounts("by abuse", st.ByAbuse)
	return nil
}

func printCounts(title string, m map[string]int) {
	if len(m) == 0 {
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return m[keys[i]] > m[keys[j]] || (m[keys[i]] == m[keys[j]] && keys[i] < keys[j]) })
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	fmt.Printf("%s: %s\n", title, strings.Join(parts, ", "))
}

func labelsExport(ctx context.Context, args []string) error {
	var out string
	db, _, _, err := lookupCommand("labels export", args, 0, "no arguments", func(fs *flag.FlagSet) {
		fs.StringVar(&out, "out", "", "write the TagPack to this file (default: standard output)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	w := os.Stdout
	if out != "" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	return label.Export(ctx, db, w)
}

// runLabel is `sleuth label add ADDR|ENTITY --category C --label L --source S [--confidence N]`
// and `sleuth label remove [ADDRESS] [--id N] [--source S]`.
func runLabel(ctx context.Context, args []string) error {
	if len(args) > 0 && args[0] == "remove" {
		return sharedHint(labelRemove(ctx, args[1:]))
	}
	return sharedHint(labelAdd(ctx, args))
}

// labelAdd is `sleuth label add`.
func labelAdd(ctx context.Context, args []string) error {
	if len(args) == 0 || args[0] != "add" {
		return usagef("usage: sleuth label add ADDRESS|ENTITY --category C --label L --source S [--confidence N] [--shared DSN] | label remove [ADDRESS] [--id N] [--source S] [--shared DSN]")
	}
	var s storeFlags
	var l label.Label
	var conf int
	var noRisk bool
	var dsn string
	fs := flag.NewFlagSet("label add", flag.ContinueOnError)
	fs.BoolVar(&noRisk, "no-risk", false, "do not update exposure now (sleuth risk update does it later)")
	s.add(fs, true)
	fs.StringVar(&dsn, "shared", "", sharedLabelUsage)
	fs.StringVar(&l.Category, "category", "", "concept id: exchange, mixing_service, ransomware, … (the GraphSense concept taxonomy)")
	fs.StringVar(&l.Label, "label", "", "the label, e.g. \"Yapizon hot wallet\"")
	fs.StringVar(&l.Source, "source", "", "where the finding comes from (case number, report URL)")
	fs.StringVar(&l.Abuse, "abuse", "", "abuse concept id, e.g. theft, ransomware (optional)")
	fs.StringVar(&l.Actor, "actor", "", "actor id (optional)")
	fs.IntVar(&conf, "confidence", 70, "0..100 (70: forensic investigation)")
	if err := parseInterspersed(fs, args[1:]); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usagef("label add: want one ADDRESS or entity ID")
	}
	l.Confidence = conf
	if dsn != "" {
		return labelAddShared(ctx, dsn, &s, fs.Arg(0), l)
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	// An entity id is labelled through its oldest address.
	arg, entity, err := query.LabelTarget(db, fs.Arg(0))
	if err != nil {
		return err
	}
	r, err := label.AddOwn(ctx, db, arg, entity, l)
	if err != nil {
		return err
	}
	rsum, err := attributionChanged(ctx, db, noRisk)
	if err != nil {
		return fmt.Errorf("label added (id %d), but %w", r.Import, err)
	}
	if s.json {
		return printJSONExposure(r, rsum)
	}
	what := "address"
	if entity {
		what = "entity of"
	}
	fmt.Printf("labelled %s %s %q (%s), label id %d (sleuth label remove --id %d takes it back)\n", what, arg, l.Label, l.Category, r.Import, r.Import)
	printExposure(rsum)
	return nil
}

// labelRemove is `sleuth label remove [ADDRESS] [--id N] [--source S]`.
func labelRemove(ctx context.Context, args []string) error {
	var spec label.RemoveSpec
	var id uint
	var noRisk bool
	var dsn string
	fs := flag.NewFlagSet("label remove", flag.ContinueOnError)
	var s storeFlags
	s.add(fs, true)
	fs.StringVar(&dsn, "shared", "", sharedLabelUsage)
	fs.UintVar(&id, "id", 0, "the label id (the import number label add printed)")
	fs.StringVar(&spec.Source, "source", "", "only labels of this source (its name as labels stats prints it, e.g. investigator)")
	fs.BoolVar(&noRisk, "no-risk", false, "do not update exposure now (sleuth risk update does it later)")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 1 || (fs.NArg() == 0 && id == 0 && spec.Source == "") {
		return usagef("label remove: give a label --id, or an ADDRESS with or without --source")
	}
	if fs.NArg() == 0 && id == 0 {
		return usagef("label remove: to remove a whole source use sleuth labels remove-source %q", spec.Source)
	}
	spec.Address, spec.Import = fs.Arg(0), uint32(id)
	if dsn != "" {
		return labelRemoveShared(ctx, dsn, &s, spec)
	}
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := label.Remove(ctx, db, spec)
	if err != nil {
		return err
	}
	return printRemoved(ctx, db, &s, r, noRisk)
}

func runRescreen(ctx context.Context, args []string) error {
	var s storeFlags
	var since int64
	var dry bool
	var out string
	fs := flag.NewFlagSet("rescreen", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&out, "out", "", "write the report to this file (default: standard output); the rescreen counts as done only once it is written")
	fs.Int64Var(&since, "since-import", -1, "screen the addresses added by imports after this one (default: since the last rescreen)")
	fs.BoolVar(&dry, "dry-run", false, "do not record that these imports were screened")
	if err := parseInterspersed(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usagef("rescreen takes no arguments")
	}
	db, err := s.open(!dry)
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := label.Rescreen(ctx, db, since, false)
	if err != nil {
		return err
	}
	if err := writeOutput(out, func(w io.Writer) error { return writeRescreen(w, r, s.json) }); err != nil {
		return fmt.Errorf("rescreen not recorded as done (its report was not written): %w", err)
	}
	if dry {
		return nil
	}
	return r.Commit(db)
}

// writeOutput writes through fn to file path (standard output when empty),
// and returns any error of writing or closing.
func writeOutput(path string, fn func(io.Writer) error) error {
	if path == "" {
		bw := bufio.NewWriter(os.Stdout)
		return errors.Join(fn(bw), bw.Flush())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(f)
	return errors.Join(fn(bw), bw.Flush(), f.Close())
}

func writeRescreen(w io.Writer, r *label.RescreenResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	if _, err := fmt.Fprintf(w, "imports %d..%d: %d newly listed addresses, %d of them on chain, %d new transactions (%d hits reported by an earlier rescreen left out)\n",
		r.FromImport+1, r.ToImport, r.Addresses, r.OnChain, r.Transactions, r.Reported); err != nil {
		return err
	}
	for _, h := range r.Hits {
		when := ""
		if h.BeforeListing {
			when = "  BEFORE LISTING (" + optString(h.ListedFrom, "?") + ")"
		}
		if _, err := fmt.Fprintf(w, "%s  %-8s %s  %-8s %s  %s  %s%s\n", h.Time, optHeight(h.Height), h.TxID, h.Direction, optBTC(h.Value), h.Address, h.Label, when); err != nil {
			return err
		}
	}
	return nil
}
