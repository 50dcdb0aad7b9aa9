package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
)

// lookupCommand parses a read-only command's flags (the store's, plus any
// extra ones), checks it got nargs arguments and opens the index.
func lookupCommand(name string, args []string, nargs int, want string, extra func(*flag.FlagSet)) (*index.DB, *flag.FlagSet, *storeFlags, error) {
	return storeCommand(name, args, nargs, want, extra, false)
}

// storeCommand is lookupCommand opening the store for writing when write.
func storeCommand(name string, args []string, nargs int, want string, extra func(*flag.FlagSet), write bool) (*index.DB, *flag.FlagSet, *storeFlags, error) {
	return openCommand(name, args, nargs, want, extra, func(s *storeFlags) (*index.DB, error) { return s.open(write) })
}

// readCommand is lookupCommand for the commands that answer through the
// sleuth serve owning the store when there is one.
func readCommand(ctx context.Context, name string, args []string, nargs int, want string, extra func(*flag.FlagSet)) (*source, *flag.FlagSet, *storeFlags, error) {
	return openCommand(name, args, nargs, want, extra, func(s *storeFlags) (*source, error) { return s.openSource(ctx) })
}

// openCommand parses a command's flags (the store's, plus any extra
// ones), checks it got nargs arguments and opens what it answers from.
func openCommand[T any](name string, args []string, nargs int, want string, extra func(*flag.FlagSet), open func(*storeFlags) (T, error)) (T, *flag.FlagSet, *storeFlags, error) {
	var none T
	s := &storeFlags{}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	s.add(fs, true)
	if extra != nil {
		extra(fs)
	}
	if err := parseInterspersed(fs, args); err != nil {
		return none, nil, nil, err
	}
	if nargs >= 0 && fs.NArg() != nargs { // nargs < 0: the caller checks
		return none, nil, nil, usagef("want %s", want)
	}
	v, err := open(s)
	if err != nil {
		return none, nil, nil, err
	}
	return v, fs, s, nil
}

// parseInterspersed parses flags before and after the positional
// arguments (sleuth entity ADDR --explain OTHER), as users type them.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError{err}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}

func runStats(ctx context.Context, args []string) error {
	db, _, s, err := lookupCommand("stats", args, 0, "no arguments", nil)
	if err != nil {
		return err
	}
	defer db.Close()
	v := db.Stats()
	if s.json {
		return printJSON(v)
	}
	fmt.Printf("network      %s\nheight       %d\nbest hash    %s\nblocks       %d\ntransactions %d\noutputs      %d\ninputs       %d\naddresses    %d\nutxos        %d (%s)\n",
		v.Network, v.Height, v.BestHash, v.Blocks, v.Txs, v.Outputs, v.Inputs, v.Addresses, v.UTXOs, btcString(int64(v.UTXOValue)))
	if v.DetachedBlocks > 0 {
		fmt.Printf("standalone   %d blocks, %d transactions\n", v.DetachedBlocks, v.DetachedTxs)
	}
	return nil
}

func runBlock(ctx context.Context, args []string) error {
	src, fs, s, err := readCommand(ctx, "block", args, 1, "one HEIGHT or HASH", nil)
	if err != nil {
		return err
	}
	defer src.Close()
	v, err := src.Block(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(v)
	}
	where := "best chain"
	if !v.BestChain {
		where = "standalone block from " + v.Source
	}
	fmt.Printf("block   %s\nheight  %s (%s)\ntime    %s\ntxs     %d\nsize    %d bytes, weight %d\nprev    %s\nmerkle  %s\nbits    %s  nonce %d  version %#x\n",
		v.Hash, optHeight(v.Height), where, v.Time, v.TxCount, v.Size, v.Weight, v.Prev, v.MerkleRoot, v.Bits, v.Nonce, uint32(v.Version))
	return nil
}

func runTx(ctx context.Context, args []string) error {
	src, fs, s, err := readCommand(ctx, "tx", args, 1, "one TXID", nil)
	if err != nil {
		return err
	}
	defer src.Close()
	id, err := btc.ParseHash(fs.Arg(0))
	if err != nil {
		return usagef("txid %q: %w", fs.Arg(0), err)
	}
	v, err := src.Tx(ctx, id)
	if err != nil {
		return err
	}
	cj := v.CoinJoin
	if s.json {
		return printJSON(v)
	}
	fee := "unknown (an input's value is not indexed)"
	if v.Fee != nil {
		fee = btcString(*v.Fee)
	}
	fmt.Printf("tx      %s\nblock   %s %s  %s\nsize    %d bytes, vsize %d, weight %d\nfee     %s\n", v.TxID, optHeight(v.Height), v.BlockHash, v.Time, v.Size, v.VSize, v.Weight, fee)
	if cj != nil {
		fmt.Printf("coinjoin %s: %d equal outputs of %s (inputs are not merged)\n", cj.Kind, cj.Participants, btcString(cj.Denomination))
	}
	fmt.Printf("inputs (%d):\n", len(v.Inputs))
	for i, in := range v.Inputs {
		if in.Coinbase {
			fmt.Printf("  %3d  coinbase\n", i)
			continue
		}
		fmt.Printf("  %3d  %s:%d  %s  %s\n", i, in.TxID, *in.Vout, optString(in.Address, "(address unknown)"), optBTC(in.Value))
	}
	fmt.Printf("outputs (%d):\n", len(v.Outputs))
	for _, o := range v.Outputs {
		spent := "unspent"
		switch {
		case o.SpentBy != nil:
			spent = fmt.Sprintf("spent by %s:%d", o.SpentBy.TxID, o.SpentBy.Vin)
		case o.Spent == index.SpendUnknown:
			spent = "spent: unknown (later blocks not indexed)"
		}
		fmt.Printf("  %3d  %-15s %-42s %s  %s\n", o.N, o.Type, optString(o.Address, "-"), btcString(o.Value), spent)
	}
	return nil
}

func runAddress(ctx context.Context, args []string) error {
	var txs bool
	var limit int
	var after string
	src, fs, s, err := readCommand(ctx, "address", args, 1, "one ADDRESS", func(fs *flag.FlagSet) {
		fs.BoolVar(&txs, "txs", false, "list the address's transactions, newest first")
		fs.IntVar(&limit, "limit", 25, "with --txs: rows per page (0: all)")
		fs.StringVar(&after, "after", "", "with --txs: start after this txid (the last row of the previous page)")
	})
	if err != nil {
		return err
	}
	defer src.Close()
	if limit < 0 {
		return usagef("--limit must be ≥ 0")
	}
	if txs {
		rows, err := src.AddressTxs(ctx, fs.Arg(0), limit, after)
		if err != nil {
			return err
		}
		if s.json {
			return printJSON(rows)
		}
		for _, r := range rows {
			fmt.Printf("%s  %-8s %s  +%s  -%s\n", r.Time, optHeight(r.Height), r.TxID, btcString(r.Received), optBTC(r.Sent))
		}
		return nil
	}
	v, err := src.Address(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	ent := v.Entity
	if s.json {
		return printJSON(v)
	}
	balance := optBTC(v.Balance)
	if v.SpendUnknown > 0 && v.Balance == nil {
		balance = fmt.Sprintf("unknown (%d output(s) from standalone blocks: spent: unknown, later blocks not indexed)", v.SpendUnknown)
	}
	fmt.Printf("address   %s (%s)\nbalance   %s\nreceived  %s\nsent      %s\ntxs       %d\nfirst     %s\nlast      %s\n",
		v.Address, v.Type, balance, btcString(v.Received), optBTC(v.Sent), v.TxCount,
		optString(v.FirstSeen, "-"), optString(v.LastSeen, "-"))
	if ent != nil {
		fmt.Printf("entity    %d\n", *ent)
	}
	if v.UnknownSpends > 0 {
		fmt.Printf("note      %d spends from standalone blocks have unknown values\n", v.UnknownSpends)
	}
	return nil
}

func runCheck(ctx context.Context, args []string) error {
	var digests *bool
	db, _, s, err := lookupCommand("check", args, 0, "no arguments", func(fs *flag.FlagSet) {
		digests = fs.Bool("digests", false, "also print a SHA-256 of each stage's keyspaces (the chain's without its read bookkeeping): two stores built from the same chain, labels and options agree, however their runs went")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	r, err := db.Check(ctx)
	if err != nil {
		return err
	}
	var ds []stageDigest
	if *digests {
		if ds, err = stageDigests(ctx, db); err != nil {
			return err
		}
	}
	if s.json {
		if err := printJSON(struct {
			*index.CheckReport
			Digests []stageDigest `json:"digests,omitempty"`
		}{r, ds}); err != nil {
			return err
		}
	} else {
		fmt.Printf("checked %d blocks, %d txs, %d outputs, %d inputs, %d spends, %d utxos, %d addresses\n",
			r.Blocks, r.Txs, r.Outputs, r.Inputs, r.Spends, r.UTXOs, r.Addresses)
		for _, p := range r.Problems {
			fmt.Println("problem:", p)
		}
		for _, d := range ds {
			fmt.Printf("digest %-8s %s\n", d.Stage, d.SHA256)
		}
	}
	if !r.OK() {
		return fmt.Errorf("%d problems found", len(r.Problems))
	}
	return nil
}

func runStatus(ctx context.Context, args []string) error {
	src, _, s, err := readCommand(ctx, "status", args, 0, "no arguments", nil)
	if err != nil {
		return err
	}
	defer src.Close()
	v, err := src.Status(ctx)
	if err != nil {
		return err
	}
	if s.json {
		return printJSON(v)
	}
	printStatus(v)
	return nil
}

func printStatus(v *query.StatusView) {
	fmt.Printf("network      %s\nheight       %d", v.Network, v.Height)
	if v.Hash != "" {
		fmt.Printf(" (%s, %s)", v.Hash, v.Time)
	}
	fmt.Printf("\ntransactions %d\n", v.Txs)
	for _, st := range v.Stages {
		h := "never ran"
		if st.Height != nil {
			h = fmt.Sprintf("height %d", *st.Height)
		}
		fmt.Printf("%-12s %s\n", st.Name, h)
	}
	if len(v.Sources) == 0 {
		fmt.Println("labels       none imported")
	}
	for _, src := range v.Sources {
		latest := ""
		if src.Latest != "" {
			latest = ", latest publication " + src.Latest
		}
		fmt.Printf("labels       %-8s %s: %d, imported %s%s\n", src.Kind, src.Name, src.Labels, src.Imported, latest)
	}
}

// stageDigest is one stage's digest (check --digests).
type stageDigest struct {
	Stage  string `json:"stage"`
	SHA256 string `json:"sha256"`
}

// stageDigests digests the chain's keyspaces (without the bookkeeping of
// how its files were read: index.ReadKeyspaces, nor the stages') and each
// later stage's.
func stageDigests(ctx context.Context, db *index.DB) ([]stageDigest, error) {
	skip := slices.Clone(index.ReadKeyspaces)
	for b := int(index.StageCluster); b < 0x100; b++ {
		skip = append(skip, byte(b))
	}
	chain, err := db.Digest(ctx, skip...)
	if err != nil {
		return nil, err
	}
	out := []stageDigest{{"chain", hex.EncodeToString(chain[:])}}
	for _, st := range []struct {
		name string
		lo   byte
	}{{"cluster", index.StageCluster}, {"label", index.StageLabel}, {"risk", index.StageRisk}} {
		d, err := db.StageDigest(ctx, st.lo, st.lo+0x10)
		if err != nil {
			return nil, err
		}
		out = append(out, stageDigest{st.name, hex.EncodeToString(d[:])})
	}
	return out, nil
}
