// Package demo runs sleuth's demonstration on the real blocks bundled with
// it and on a small simulated case, so that a newcomer sees the pipeline work
// from the repository alone.
//
// # Owns
//
// The bundled excerpt (data/, with its provenance) and the demo's report.
//
// # Does not touch
//
// Anything outside the directories it is given: it writes block files to a
// work directory and the index to the directory the caller chooses.
package demo

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

//go:embed data/blk00000.dat.gz data/block-277647.dat.bz2 data/labels
var data embed.FS

// Facts about the bundled blocks that anyone can check on a block explorer.
const (
	HalTxID    = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16" // height 170
	HalAddress = "1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3"                               // received 10 BTC in it
	// DemoEntityFrom and DemoEntityTo were spent together in one
	// transaction at height 496 (a3b0e9e7…); the demo explains the merge.
	DemoEntityFrom = "18SH9vwx24L5cTabfkgtGMjF8A56pD9AUJ"
	DemoEntityTo   = "1ByLSV2gLRcuqUmfdYcpPQH8Npm8cccsFg"
	Block277647    = "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"
)

// Unpack writes the bundled block files into dir: dir/blocks/blk00000.dat and
// dir/block-277647.dat.bz2. It returns the blocks directory and the
// standalone block file.
func Unpack(dir string) (blocksDir, rawBlock string, err error) {
	blocksDir = filepath.Join(dir, "blocks")
	if err := os.MkdirAll(blocksDir, 0o755); err != nil {
		return "", "", err
	}
	gz, err := data.ReadFile("data/blk00000.dat.gz")
	if err != nil {
		return "", "", err
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return "", "", fmt.Errorf("demo: bundled blk file: %w", err)
	}
	f, err := os.Create(filepath.Join(blocksDir, "blk00000.dat"))
	if err != nil {
		return "", "", err
	}
	if _, err := io.Copy(f, zr); err != nil {
		f.Close()
		return "", "", fmt.Errorf("demo: unpack blk file: %w", err)
	}
	if err := f.Close(); err != nil {
		return "", "", err
	}
	raw, err := data.ReadFile("data/block-277647.dat.bz2")
	if err != nil {
		return "", "", err
	}
	rawBlock = filepath.Join(dir, "block-277647.dat.bz2")
	return blocksDir, rawBlock, os.WriteFile(rawBlock, raw, 0o644)
}

// Run unpacks the bundled blocks under work, ingests them into the index at
// dbDir and writes a report to out.
func Run(ctx context.Context, work, dbDir string, out io.Writer) error {
	blocks, raw, err := Unpack(work)
	if err != nil {
		return err
	}
	db, err := index.Open(dbDir, &index.Options{Network: btc.Mainnet})
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: blocks, RawBlocks: []string{raw}})
	if err != nil {
		return err
	}
	p := func(format string, args ...any) { fmt.Fprintf(out, format, args...) }
	p("sleuth demo: real Bitcoin mainnet blocks bundled with the repository\n")
	p("  heights 0-500 as a Bitcoin Core blk file, and block 277647 (2013-12-30) as a standalone block\n\n")
	st := db.Stats()
	p("Ingested %d blocks and %d transactions in %s; %d standalone block (%d txs).\n",
		st.Blocks, st.Txs, sum.Elapsed.Round(1e6), st.DetachedBlocks, st.DetachedTxs)
	p("Best chain tip %s at height %d; %d addresses; %d unspent outputs holding %s.\n\n",
		st.BestHash, st.Height, st.Addresses, st.UTXOs, btcAmount(int64(st.UTXOValue)))

	h, _ := btc.ParseHash(HalTxID)
	tx, err := db.Tx(h)
	if err != nil {
		return err
	}
	p("The first bitcoin payment between two people (height %d, %s):\n", *tx.Height, tx.Time)
	for _, in := range tx.Inputs {
		p("  in   %s:%d  from %s  %s\n", in.TxID, *in.Vout, str(in.Address), btcAmount(*in.Value))
	}
	for _, o := range tx.Outputs {
		spent := "unspent at height 500"
		if o.SpentBy != nil {
			spent = "spent by " + o.SpentBy.TxID[:16] + "…"
		}
		p("  out  %d  %s %s  %s  (%s)\n", o.N, o.Type, str(o.Address), btcAmount(o.Value), spent)
	}
	a, err := db.Address(HalAddress)
	if err != nil {
		return err
	}
	p("\nAddress %s (Hal Finney's key, paid to as P2PK): received %s in %d txs, balance %s, first seen %s\n\n",
		a.Address, btcAmount(a.Received), a.TxCount, btcAmount(*a.Balance), *a.FirstSeen)

	b, err := db.Block(Block277647)
	if err != nil {
		return err
	}
	p("Standalone block %s (height %d, %s): %d txs, %d bytes.\n", b.Hash, *b.Height, b.Time, b.TxCount, b.Size)
	counts, unknown, revealed, err := blockSummary(db, b)
	if err != nil {
		return err
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	p("  output types:")
	for _, k := range keys {
		p(" %s %d", k, counts[k])
	}
	p("\n  its parents are not indexed: %d input values are unknown (never guessed); %d inputs still reveal their address\n", unknown, revealed)
	if err := realEntities(ctx, db, p); err != nil {
		return err
	}
	if err := realLabels(ctx, db, work, p); err != nil {
		return err
	}
	return runSimulated(ctx, work, dbDir+"-sim", p)
}

// runSimulated writes a small simulated 2017-style case (exchange theft and
// ransomware, blk files obfuscated as Bitcoin Core 28+ does), indexes it in
// its own store (it shares the real genesis block, so it cannot share the
// real chain's store) and compares the index with the answer key.
func runSimulated(ctx context.Context, work, dbDir string, p func(string, ...any)) error {
	out := filepath.Join(work, "sim")
	s, err := sim.Run(ctx, sim.Options{Out: out, Seed: 2017, Scale: 0.3, XOR: true, MaxFileSize: 1 << 20})
	if err != nil {
		return err
	}
	db, err := index.Open(dbDir, &index.Options{Network: btc.Mainnet})
	if err != nil {
		return err
	}
	defer db.Close()
	sum, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	if err != nil {
		return err
	}
	st := db.Stats()
	held, err := answerKeyHoldings(filepath.Join(out, "truth", "balances.csv"))
	if err != nil {
		return err
	}
	p("\nSimulated 2017-style case (seed 2017): %d blk files obfuscated with xor.dat, %d blocks written before their parent, %d stale.\n",
		s.Files, s.OutOfOrder, s.StaleBlocks)
	p("  index:      %d blocks, %d transactions, %d stale blocks set aside, unspent %s\n", st.Blocks, st.Txs, sum.Stale, btcAmount(int64(st.UTXOValue)))
	p("  answer key: %d blocks, %d transactions, %d stale blocks,          held   %s\n", s.Blocks, s.Txs, s.StaleBlocks, btcAmount(held))
	verdict := "agree"
	if st.Blocks != s.Blocks || int64(st.Txs) != s.Txs || int64(sum.Stale) != s.StaleBlocks || int64(st.UTXOValue) != held {
		verdict = "DISAGREE"
	}
	p("  they %s. In this chain %s was stolen from an exchange and %s paid in ransoms.\n", verdict, btcAmount(s.StolenSats), btcAmount(s.RansomSats))
	if verdict != "agree" {
		return fmt.Errorf("demo: index and answer key disagree")
	}
	p("\n  Entities, scored against the answer key (pairwise precision / recall over %d addresses):\n", s.Addresses)
	for _, c := range []struct {
		name string
		cfg  cluster.Config
	}{
		{"multi-input only           ", cluster.Config{}},
		{"multi-input + change links ", cluster.Config{Change: cluster.ScriptType | cluster.Fresh | cluster.Optimal | cluster.Round | cluster.Fingerprint | cluster.Peel}},
	} {
		cfg := c.cfg
		cs, err := cluster.Update(ctx, db, cluster.Options{Config: &cfg, Rebuild: true})
		if err != nil {
			return err
		}
		ev, err := cluster.Evaluate(ctx, db, out)
		if err != nil {
			return err
		}
		r := ev.Clusters
		p("    %s %.4f / %.4f  (%d merges, %d change links; %d CoinJoins detected, %d of %d in the key)\n",
			c.name, r.Precision, r.Recall, cs.TotalMerges, cs.ChangeMerges, ev.CoinJoins.Detected, ev.CoinJoins.Found, ev.CoinJoins.Truth)
	}

	// The investigation, from what is public: the incident report and the
	// labels (the simulated services' public tags, and the real lists).
	res, rs, err := importLabels(ctx, db, true, filepath.Join(work, "labels-sim"), filepath.Join(out, "public", "tagpack.yaml"))
	if err != nil {
		return err
	}
	n := 0
	for _, r := range res {
		n += r.Labels
	}
	p("\nInvestigation of the simulated case: %d labels imported (the simulated services' public TagPack and the bundled\n"+
		"real OFAC list and TagPacks); exposure computed for %d transactions in %s.\n", n, rs.Txs+rs.Standalone, rs.Elapsed.Round(time.Millisecond))
	return investigate(ctx, db, out, p)
}

// realEntities clusters the real chain and explains one real merge.
func realEntities(ctx context.Context, db *index.DB, p func(string, ...any)) error {
	cs, err := pipeline.New(db, pipeline.Options{}).UpdateClusters(ctx, cluster.Options{})
	if err != nil {
		return err
	}
	p("\nEntities (multi-input clustering, CoinJoins excluded): %d merges over %d transactions.\n", cs.TotalMerges, cs.Txs+cs.Standalone)
	a, err := db.AddrID(DemoEntityFrom)
	if err != nil {
		return err
	}
	b, err := db.AddrID(DemoEntityTo)
	if err != nil {
		return err
	}
	e, err := cluster.EntityOf(db, a)
	if err != nil {
		return err
	}
	v, err := cluster.Entity(ctx, db, e)
	if err != nil {
		return err
	}
	p("  %s is entity %d: %d addresses, received %s, %d txs.\n", DemoEntityFrom, v.ID, v.Size, btcAmount(v.Received), v.TxCount)
	steps, err := cluster.Explain(ctx, db, a, b, 0)
	if err != nil {
		return err
	}
	p("  Why %s is the same owner:\n", DemoEntityTo)
	for _, st := range steps {
		p("    %s spent together with %s in tx %s (height %d, %s)\n", st.FromAddr, st.ToAddr, st.TxID[:16]+"…", *st.Height, st.Heuristic)
	}
	return nil
}

// answerKeyHoldings sums the sats column of the simulator's balances.csv.
func answerKeyHoldings(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	col := slices.Index(rows[0], "sats")
	if col < 0 {
		return 0, fmt.Errorf("%s: no sats column", path)
	}
	var total int64
	for _, r := range rows[1:] {
		v, err := strconv.ParseInt(r[col], 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%s: %w", path, err)
		}
		total += v
	}
	return total, nil
}

// blockSummary counts a standalone block's output types and its inputs.
func blockSummary(db *index.DB, b *index.BlockView) (map[string]int, int, int, error) {
	counts := map[string]int{}
	unknown, revealed := 0, 0
	txids, err := db.BlockTxIDs(b.Hash)
	if err != nil {
		return nil, 0, 0, err
	}
	for _, id := range txids {
		tx, err := db.Tx(id)
		if err != nil {
			return nil, 0, 0, err
		}
		for _, o := range tx.Outputs {
			counts[o.Type]++
		}
		for _, in := range tx.Inputs {
			if in.Coinbase {
				continue
			}
			if in.Value == nil {
				unknown++
			}
			if in.Address != nil {
				revealed++
			}
		}
	}
	return counts, unknown, revealed, nil
}

func str(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}

func btcAmount(sat int64) string { return fmt.Sprintf("%d.%08d BTC", sat/100_000_000, sat%100_000_000) }
