package simtest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// Chain writes a simulated chain with the given seed and scale into a
// temporary directory of t and returns the directory (blocks/, truth/,
// public/).
func Chain(t testing.TB, seed int64, scale float64) string {
	t.Helper()
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: seed, Scale: scale}); err != nil {
		t.Fatal(err)
	}
	return out
}

// Block is one block record of a simulated chain, from truth/blocks.csv.
type Block struct {
	Height int
	Stale  bool
	Record []byte // magic, length and block
}

// Blocks returns the block records of the simulated chain in out (a
// directory written by [Chain] or [sim.Run] without XOR) in the order the
// simulator wrote them.
func Blocks(t testing.TB, out string) []Block {
	t.Helper()
	f, err := os.Open(filepath.Join(out, "truth", "blocks.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, c := range rows[0] {
		col[c] = i
	}
	files := map[string][]byte{}
	blocks := make([]Block, len(rows)-1)
	for _, r := range rows[1:] {
		name := r[col["file"]]
		if files[name] == nil {
			if files[name], err = os.ReadFile(filepath.Join(out, "blocks", name)); err != nil {
				t.Fatal(err)
			}
		}
		off, _ := strconv.Atoi(r[col["offset"]])
		size, _ := strconv.Atoi(r[col["size"]])
		seq, _ := strconv.Atoi(r[col["write_seq"]])
		h, _ := strconv.Atoi(r[col["height"]])
		blocks[seq] = Block{Height: h, Stale: r[col["stale"]] == "true", Record: files[name][off-8 : off+size]}
	}
	return blocks
}

// AppendRecords appends block records to dir/blk00000.dat, creating it if
// needed.
func AppendRecords(t testing.TB, dir string, recs ...[]byte) {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(dir, "blk00000.dat"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if _, err := f.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// BestChainDir writes the best chain of a simulated chain (seed, scale)
// as a blocks directory of t, in chain order, and returns it: the input
// of an ingest that has no reorg to follow.
func BestChainDir(t testing.TB, seed int64, scale float64) string {
	t.Helper()
	dir := t.TempDir()
	AppendRecords(t, dir, BestRecords(t, Chain(t, seed, scale))...)
	return dir
}

// ReadCSV returns the rows of a CSV file with a header line (an answer-key
// file of truth/) as maps from column name to value.
func ReadCSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var rows []map[string]string
	for _, rec := range recs[1:] {
		row := map[string]string{}
		for i, h := range recs[0] {
			row[h] = rec[i]
		}
		rows = append(rows, row)
	}
	return rows
}

// TheftTxIDs returns the theft's transactions as the public incident
// report of the simulated chain in out (public/incident.json) names them.
func TheftTxIDs(t testing.TB, out string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(out, "public", "incident.json"))
	if err != nil {
		t.Fatal(err)
	}
	var inc struct {
		Theft struct {
			TxIDs []string `json:"txids"`
		} `json:"theft"`
	}
	if err := json.Unmarshal(b, &inc); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	return inc.Theft.TxIDs
}

// BestRecords returns the best-chain block records (no stale blocks) of
// the simulated chain in out, in height order: appended to a blocks
// directory a few at a time, they grow the chain without reorgs.
func BestRecords(t testing.TB, out string) [][]byte {
	t.Helper()
	blocks := slices.DeleteFunc(Blocks(t, out), func(b Block) bool { return b.Stale })
	slices.SortFunc(blocks, func(a, b Block) int { return a.Height - b.Height })
	recs := make([][]byte, len(blocks))
	for i, b := range blocks {
		recs[i] = b.Record
	}
	return recs
}

// ReorgBranches splits the simulated chain in out at its first stale
// block with transactions other than its coinbase: the best chain before
// the fork, the stale branch, and the best chain from the fork on.
// Appending best and stale, then bestAfter, makes an index reorg.
func ReorgBranches(t testing.TB, out string) (best, stale, bestAfter [][]byte, fork int) {
	t.Helper()
	blocks := Blocks(t, out)
	fork = -1
	for _, b := range blocks {
		if b.Stale && len(b.Record) > 2000 {
			fork = b.Height
			break
		}
	}
	if fork < 0 {
		t.Fatal("the simulated chain has no stale block with transactions")
	}
	for _, b := range blocks {
		switch {
		case b.Stale && b.Height >= fork:
			stale = append(stale, b.Record)
		case !b.Stale && b.Height < fork:
			best = append(best, b.Record)
		case !b.Stale:
			bestAfter = append(bestAfter, b.Record)
		}
	}
	return best, stale, bestAfter, fork
}
