package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// labelFiles are the real labels bundled in data/labels (PROVENANCE.md).
var labelFiles = []string{"sanctioned_addresses_XBT_2024-09-27.txt", "lazarus.yaml", "hydra.yaml",
	"blender_io.yaml", "binance_hack.yaml", "mixing_fc2021.yaml"}

// importLabels writes the bundled label files under dir and imports them,
// plus extra files, into db; then what depends on labels follows
// (pipeline.AttributionChanged; exposure only when withExposure).
func importLabels(ctx context.Context, db *index.DB, withExposure bool, dir string, extra ...string) ([]*label.FileResult, *risk.Summary, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, nil, err
	}
	var files []string
	for _, name := range labelFiles {
		b, err := data.ReadFile("data/labels/" + name)
		if err != nil {
			return nil, nil, err
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, nil, err
		}
		files = append(files, p)
	}
	var out []*label.FileResult
	for _, f := range append(files, extra...) {
		r, err := label.ImportFile(ctx, db, f, label.ImportOptions{})
		if err != nil {
			return nil, nil, err
		}
		out = append(out, r)
	}
	rs, err := pipeline.New(db, pipeline.Options{}).AttributionChanged(ctx, !withExposure)
	return out, rs, err
}

// incident is the public part of the simulated case (public/incident.json).
type incident struct {
	Theft struct {
		Victim      string   `json:"victim"`
		Date        string   `json:"date"`
		ReportedBTC float64  `json:"reported_btc"`
		TxIDs       []string `json:"txids"`
	} `json:"theft"`
	Ransomware struct {
		Family    string   `json:"family"`
		Start     string   `json:"campaign_start"`
		Addresses []string `json:"ransom_addresses"`
	} `json:"ransomware"`
}

// investigate works the simulated case as an investigator would, from the
// public incident report and public labels only: it traces the theft and
// the ransom payments to their cash-out points, prints the evidence, and
// then checks the result against the simulator's answer key.
func investigate(ctx context.Context, db *index.DB, out string, p func(string, ...any)) error {
	var inc incident
	b, err := os.ReadFile(filepath.Join(out, "public", "incident.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &inc); err != nil {
		return fmt.Errorf("demo: incident.json: %w", err)
	}
	services, err := label.Services(ctx, db, nil)
	if err != nil {
		return err
	}
	opts := trace.Options{Policy: trace.FIFO, Stop: trace.StopAt(services), Paths: 1, Detail: 8}

	var theft []trace.Taint
	for _, s := range inc.Theft.TxIDs {
		id, err := btc.ParseHash(s)
		if err != nil {
			return err
		}
		src, err := trace.FromTx(db, id)
		if err != nil {
			return err
		}
		theft = append(theft, src...)
	}
	p("\n  The theft: %s reported about %.0f BTC stolen on %s in %d transactions.\n", inc.Theft.Victim, inc.Theft.ReportedBTC, inc.Theft.Date, len(inc.Theft.TxIDs))
	tr, err := report(ctx, db, theft, opts, p)
	if err != nil {
		return err
	}
	// What the compliance team of the first exchange reached sees when it
	// screens the deposit address the stolen coins arrived at.
	for _, e := range tr.Entities {
		if e.CashOut && len(e.Addresses) > 0 && e.Addresses[0].Address != "" {
			if err := screenOne(ctx, db, e.Addresses[0].Address, "a deposit of "+e.Label+" that received stolen coins", p); err != nil {
				return err
			}
			break
		}
	}
	var ransom []trace.Taint
	for _, a := range inc.Ransomware.Addresses {
		id, err := db.AddrID(a)
		if err != nil {
			return err
		}
		src, err := trace.FromAddress(db, id)
		if err != nil {
			return err
		}
		ransom = append(ransom, src...)
	}
	p("\n  The ransomware (%s, from %s): %d payments to its %d addresses.\n", inc.Ransomware.Family, inc.Ransomware.Start, len(ransom), len(inc.Ransomware.Addresses))
	if _, err := report(ctx, db, ransom, opts, p); err != nil {
		return err
	}

	truth, err := trace.LoadTruth(filepath.Join(out, "truth"))
	if err != nil {
		return err
	}
	scores, err := trace.Evaluate(ctx, db, truth, []trace.Policy{trace.FIFO, trace.Haircut}, trace.StopLabels, trace.Options{})
	if err != nil {
		return err
	}
	p("\n  Checked against the answer key (labels as stop points; recall = share of the cashed-out value\n  attributed to the right receiver, false = value attributed to entities that received none):\n")
	for _, s := range scores {
		p("    %-10s %-8s recall %.4f  false exposure %.2f%%  (%d txs read in %.3fs)\n", s.Case, s.Policy, s.Recall, 100*s.FalseShare, s.TxsRead, s.Seconds)
	}
	return nil
}

// report traces src and prints the cash-out points with one evidence path
// each and the totals.
func report(ctx context.Context, db *index.DB, src []trace.Taint, opts trace.Options, p func(string, ...any)) (*trace.Result, error) {
	r, err := trace.Trace(ctx, db, src, opts)
	if err != nil {
		return nil, err
	}
	t := r.Totals
	p("  Traced %s forward by FIFO through %d transactions in %.3fs:\n", btcAmount(t.Source), r.TxsRead, r.Elapsed)
	shown := 0
	for _, e := range r.Entities {
		if !e.CashOut || shown == 5 {
			continue
		}
		shown++
		p("    %-28s %-9s %s (%4.1f%%), %d–%d hops, %s … %s\n", e.Label, e.Category, btcAmount(e.CashedOut), 100*e.Share, e.MinHops, e.MaxHops, day(e.First), day(e.Last))
		if len(e.Paths) > 0 {
			path := e.Paths[0]
			p("      evidence: %s via %s\n", path.Out[:16]+"…", shortPath(path.TxIDs))
		}
	}
	p("    cashed out %s (%.1f%%), still held %s, fees %s, through CoinJoins (uncertain) %s, not followed %s\n",
		btcAmount(t.CashedOut), pct(t.CashedOut, t.Source), btcAmount(t.Held), btcAmount(t.Fee), btcAmount(t.CoinJoin), btcAmount(t.Lost()))
	return r, nil
}

func pct(a, b int64) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func day(s string) string {
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

func shortPath(txids []string) string {
	var parts []string
	for _, id := range txids {
		parts = append(parts, id[:8])
	}
	if len(parts) > 6 {
		parts = append(parts[:3], append([]string{"…"}, parts[len(parts)-2:]...)...)
	}
	return strings.Join(parts, " → ")
}

// screenOne prints what screening says of one address.
func screenOne(ctx context.Context, db *index.DB, addr, who string, p func(string, ...any)) error {
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		return err
	}
	rep, err := sc.Screen(ctx, addr)
	if err != nil {
		return err
	}
	p("  screen %s (%s): %s", addr, who, rep.Risk)
	if len(rep.Reasons) > 0 {
		p(" — %s", rep.Reasons[0])
	}
	theft := "none"
	for _, r := range rep.Exposure {
		if r.Category == "theft" && r.Direction == "received" {
			theft = fmt.Sprintf("%.1f%% of what it received, %d hops", 100*r.Share, r.MinHops)
			if e := r.Explanation; e != nil && e.Via == "incident" {
				theft += ", from the incident " + e.Label
			}
		}
	}
	p("; theft exposure: %s\n", theft)
	return nil
}

// realLabels imports the bundled real labels into the real chain's store
// and shows what they say.
func realLabels(ctx context.Context, db *index.DB, work string, p func(string, ...any)) error {
	res, _, err := importLabels(ctx, db, false, filepath.Join(work, "labels-real"))
	if err != nil {
		return err
	}
	p("\nReal labels bundled with the repository (data/labels/PROVENANCE.md):\n")
	for _, r := range res {
		extra := ""
		if len(r.Rejected) > 0 {
			first := r.Rejected[0][strings.LastIndex(r.Rejected[0], "/")+1:]
			if i := strings.Index(first, ": decode"); i > 0 {
				first = first[:i]
			}
			extra = fmt.Sprintf("; %d reported, not imported: %s (not a Bitcoin address)", len(r.Rejected), first)
		}
		p("  %-40s %4d labels (%s)%s\n", filepath.Base(r.File), r.Labels, r.Format, extra)
	}
	const lazarus = "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak" // in the real lazarus.yaml
	vs, err := label.ShowAddress(ctx, db, lazarus, time.Time{})
	if err != nil {
		return err
	}
	for _, v := range vs {
		p("  %s: %q [%s/%s], confidence %d, from %s\n", lazarus, v.Label, v.Category, v.Abuse, v.Confidence, v.List)
	}
	rs, err := label.Rescreen(ctx, db, -1, true)
	if err != nil {
		return err
	}
	p("  rescreen: %d newly listed addresses, %d on this chain (heights 0–500 predate them all), %d transactions\n",
		rs.Addresses, rs.OnChain, len(rs.Hits))
	return nil
}
