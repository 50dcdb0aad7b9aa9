package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// changeFlag parses --change: "all", "none" or a comma list of heuristics.
func parseChange(s string) (cluster.Evidence, error) {
	switch s {
	case "", "none":
		return 0, nil
	case "all":
		var all cluster.Evidence
		for _, e := range cluster.AllEvidence {
			all |= e
		}
		return all, nil
	}
	var ev cluster.Evidence
	for _, name := range strings.Split(s, ",") {
		e, err := cluster.ParseEvidence(strings.TrimSpace(name))
		if err != nil {
			return 0, err
		}
		ev |= e
	}
	return ev, nil
}

func runCluster(ctx context.Context, args []string) error {
	var s storeFlags
	var change string
	var threshold float64
	var guard, establishedSize uint
	var maxEstablished, maxScripts int
	var off string
	var rebuild, verbose, refused bool
	var top int
	var cpuProfile string
	var toHeight int64
	fs := flag.NewFlagSet("cluster", flag.ContinueOnError)
	s.add(fs, true)
	fs.StringVar(&change, "change", "", `change heuristics to add to multi-input clustering: "all", or a comma list of script_type, fresh, optimal, round, fingerprint, peel (default: the stored clustering's, else none)`)
	fs.Float64Var(&threshold, "threshold", 0, "combined confidence a change link needs (default 0.9)")
	fs.UintVar(&guard, "guard", 0, "refuse links (change, and co-spends) joining two entities of at least this many addresses (default 100)")
	fs.StringVar(&off, "off", "", "switch detector families off, comma-separated: whirlpool, wasabi2, wasabi1, joinmarket, generic, equal_outputs, denominations, input_entities, script_mix, guard (or protocol, general)")
	fs.UintVar(&establishedSize, "established-size", 0, "an entity of at least this many addresses is established (default 2)")
	fs.IntVar(&maxEstablished, "max-established", 0, "refuse co-spends whose inputs come from more established entities than this (default 2)")
	fs.IntVar(&maxScripts, "max-scripts", 0, "refuse co-spends whose inputs spend more script families than this (default 2)")
	fs.BoolVar(&rebuild, "rebuild", false, "drop the stored clustering and build it again (needed to change heuristics)")
	fs.BoolVar(&verbose, "v", false, "verbose logs")
	fs.BoolVar(&refused, "refused", false, "list the links the guard, the input-structure tests or investigators refused, for review (does not cluster)")
	fs.IntVar(&top, "top", 0, "list the N largest entities (does not cluster)")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the clustering to this file")
	fs.Int64Var(&toHeight, "to-height", 0, "stop at this height (to measure increments)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() != 0 {
		return usagef("cluster takes no arguments")
	}
	if refused || top > 0 {
		db, err := s.open(false)
		if err != nil {
			return err
		}
		defer db.Close()
		if refused {
			return listRefused(ctx, db, &s)
		}
		return listLargest(ctx, db, &s, top)
	}
	if threshold < 0 || threshold > 1 {
		return usagef("--threshold %v: want a confidence between 0 and 1", threshold)
	}
	var opts cluster.Options
	flagSet := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { flagSet[f.Name] = true })
	if flagSet["change"] || flagSet["threshold"] || flagSet["guard"] || flagSet["off"] ||
		flagSet["established-size"] || flagSet["max-established"] || flagSet["max-scripts"] {
		ev, err := parseChange(change)
		if err != nil {
			return usageError{fmt.Errorf("--change: %w", err)}
		}
		fam, err := coinjoin.ParseFamilies(off)
		if err != nil {
			return usageError{fmt.Errorf("--off: %w", err)}
		}
		if maxEstablished < 0 || maxScripts < 0 {
			return usagef("--max-established and --max-scripts must be ≥ 0")
		}
		opts.Config = &cluster.Config{Change: ev, Threshold: threshold, GuardSize: uint32(guard), Off: fam,
			EstablishedSize: uint32(establishedSize), MaxEstablished: maxEstablished, MaxScripts: maxScripts}
	}
	opts.Rebuild = rebuild
	opts.ToHeight = toHeight
	db, err := s.open(true)
	if err != nil {
		return err
	}
	defer db.Close()
	stop, err := cpuProfileTo(cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	opts.Logger = newLogger(verbose)
	sum, err := pipeline.New(db, pipeline.Options{}).UpdateClusters(ctx, opts)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(sum)
	}
	printClusterSummary(sum)
	return nil
}

func printClusterSummary(sum cluster.Summary) {
	if sum.Undone > 0 {
		fmt.Printf("reorg: undid the clustering of %d stale blocks\n", sum.Undone)
	}
	fmt.Printf("clustered %d blocks, %d transactions (+%d standalone) in %s: %d merges (%d change links), %d refused (%d co-spends), %d CoinJoins\n",
		sum.Blocks, sum.Txs, sum.Standalone, sum.Elapsed.Round(time.Millisecond), sum.Merges, sum.ChangeMerges, sum.Refused, sum.RefusedCoSpends, sum.CoinJoins)
	where := "heap"
	if sum.ForestMapped {
		where = "memory-mapped scratch files"
	}
	fmt.Printf("heuristics: %s; %d merges in all; union-find %d MB (%s)\n", sum.Config, sum.TotalMerges, sum.ForestBytes>>20, where)
}

func runEntity(ctx context.Context, args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "merge", "split", "accept", "reject", "overrides", "unset":
			return runEntityOverride(ctx, args[0], args[1:])
		}
	}
	var members bool
	var limit int
	var after, explain string
	src, fs, s, err := readCommand(ctx, "entity", args, 1, "one ADDRESS or entity ID", func(fs *flag.FlagSet) {
		fs.BoolVar(&members, "addresses", false, "list the entity's addresses in id order")
		fs.IntVar(&limit, "limit", 100, "with --addresses: rows per page (0: all)")
		fs.StringVar(&after, "after", "", "with --addresses: start after this address (the last row of the previous page)")
		fs.StringVar(&explain, "explain", "", "print the merges that joined ADDRESS to this other address")
	})
	if err != nil {
		return err
	}
	defer src.Close()
	if limit < 0 {
		return usagef("--limit must be ≥ 0")
	}
	switch {
	case explain != "":
		return explainEntity(ctx, src, s, fs.Arg(0), explain)
	case members:
		return listMembers(ctx, src, s, fs.Arg(0), limit, after)
	}
	v, err := src.Entity(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(v)
	}
	cj := "no"
	if v.CoinJoinParticipant {
		cj = fmt.Sprintf("yes (%d CoinJoins)", v.CoinJoinTxs)
	}
	fmt.Printf("entity    %d (oldest address %s)\naddresses %d\nbalance   %s\nreceived  %s\nsent      %s\ntxs       %d\nfirst     %s\nlast      %s\ncoinjoin  %s\n",
		v.ID, v.RootAddress, v.Size, optBTC(v.Balance), btcString(v.Received), optBTC(v.Sent), v.TxCount,
		optString(v.FirstSeen, "-"), optString(v.LastSeen, "-"), cj)
	return nil
}

func listMembers(ctx context.Context, src query.Reader, s *storeFlags, arg string, limit int, after string) error {
	rows, err := src.Members(ctx, arg, limit, after)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(rows)
	}
	for _, r := range rows {
		fmt.Printf("%s  %s\n", r.Address, r.Type)
	}
	return nil
}

func explainEntity(ctx context.Context, src query.Reader, s *storeFlags, from, to string) error {
	steps, err := src.Explain(ctx, from, to)
	var apart *query.NotJoinedError
	if errors.As(err, &apart) {
		if s.json {
			_ = printJSON(apart.Apart)
		} else if len(apart.Apart.Refused) > 0 {
			fmt.Printf("%s (entity %d) and %s (entity %d) are apart; these links between their entities were refused:\n", from, apart.Apart.EntityA, to, apart.Apart.EntityB)
			for _, r := range apart.Apart.Refused {
				printRefused(r)
			}
		}
		return err
	}
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(steps)
	}
	fmt.Printf("%s and %s are one entity through %d merges:\n", from, to, len(steps))
	for i, st := range steps {
		why := st.Heuristic
		if st.Evidence != "" {
			why += " (" + st.Evidence + fmt.Sprintf(", confidence %.2f, change output %s)", st.Confidence, st.ChangeOutput)
		}
		if st.Heuristic == "manual" {
			fmt.Printf("%3d. %s\n     joined %s\n     by an investigator (%s: %q), applied after height %s\n", i+1, st.FromAddr, st.ToAddr, st.By, st.Reason, optHeight(st.Height))
			continue
		}
		fmt.Printf("%3d. %s\n     joined %s\n     in tx %s at height %s by %s\n", i+1, st.FromAddr, st.ToAddr, st.TxID, optHeight(st.Height), why)
	}
	return nil
}

func listRefused(ctx context.Context, db *index.DB, s *storeFlags) error {
	rows := []cluster.RefusedView{}
	err := cluster.Refused(ctx, db, func(m *cluster.RefusedMerge) error {
		v, err := m.View(db)
		rows = append(rows, v)
		return err
	})
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(rows)
	}
	fmt.Printf("%d links refused (guard, input-structure tests, investigators)\n", len(rows))
	for _, r := range rows {
		printRefused(r)
	}
	return nil
}

func printRefused(r cluster.RefusedView) {
	switch r.Kind {
	case "change":
		fmt.Printf("%s  change link refused by the guard: %s (entity of %d) <- %s (entity of %d)  %s %.2f  change %s\n",
			r.TxID, r.From, r.FromSize, r.To, r.ToSize, r.Evidence, r.Confidence, r.ChangeOutput)
	default:
		fmt.Printf("%s  co-spend refused (%s): inputs from %d entities, %d established; the two largest: %s (%d addresses), %s (%d)\n",
			r.TxID, r.Reason, r.Entities, r.Established, r.From, r.FromSize, r.To, r.ToSize)
	}
}

func listLargest(ctx context.Context, db *index.DB, s *storeFlags, n int) error {
	top, err := cluster.Largest(ctx, db, n)
	if err != nil {
		return err
	}
	if s.json {
		if top == nil {
			top = []cluster.EntitySize{}
		}
		return printJSON(top)
	}
	for _, e := range top {
		addr, _, err := db.AddrString(btc.AddrID(e.ID))
		if err != nil {
			return err
		}
		fmt.Printf("%12d  %10d addresses  (oldest %s)\n", e.ID, e.Size, addr)
	}
	return nil
}
