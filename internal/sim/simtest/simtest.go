package simtest

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
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

// Split is a simulated chain cut before its last best-chain blocks without
// reading the chain into memory: the base is the blocks directory's files
// up to the cut (every file before it whole, the cut file up to the
// cut), and Held the records of the blocks after it, in height order.
// Benchmarks on chains larger than memory use it to build a base store from
// the chain's own files (hard-linked, not copied) and append Held.
type Split struct {
	Dir        string     // the chain's blocks directory
	Files      []FilePart // the base: these files, each up to Size bytes
	BaseBlocks int        // best-chain blocks in the base (heights 0..BaseBlocks-1)
	Held       [][]byte   // the best-chain blocks after it, as records (magic, length, block)
}

// FilePart is a prefix of one blk file.
type FilePart struct {
	Name  string
	Size  int64
	Whole bool // the whole file (hard-linkable)
}

// SplitChain cuts the simulated chain in out (a directory written by
// [Chain] or [sim.Run] without XOR) before its last held best-chain
// blocks, from truth/blocks.csv. The cut is where the first of those
// blocks was written; stale blocks written after it are in neither part.
// It fails the test when a best-chain block of the base was written after
// the cut (a reorg across it), where no prefix of the files is the base,
// or a stale block at a held height before it (the base's tip would be
// that stale block).
func SplitChain(t testing.TB, out string, held int) Split {
	t.Helper()
	rows := ReadCSV(t, filepath.Join(out, "truth", "blocks.csv"))
	type pos struct {
		file string
		off  int64
	}
	before := func(a, b pos) bool { return a.file < b.file || a.file == b.file && a.off < b.off }
	tip := -1
	for _, r := range rows {
		if h, _ := strconv.Atoi(r["height"]); r["stale"] != "true" && h > tip {
			tip = h
		}
	}
	if held < 1 || held > tip {
		t.Fatalf("simtest: %d blocks held of a chain whose tip is at %d", held, tip)
	}
	first := tip - held + 1 // the first held height
	cut, lastBase := pos{}, pos{}
	type heldRow struct {
		h int
		p pos
		n int64
	}
	var hs []heldRow
	for _, r := range rows {
		if r["stale"] == "true" {
			continue
		}
		h, _ := strconv.Atoi(r["height"])
		off, _ := strconv.ParseInt(r["offset"], 10, 64)
		size, _ := strconv.ParseInt(r["size"], 10, 64)
		p := pos{r["file"], off - 8}
		if h >= first {
			if len(hs) == 0 || before(p, cut) {
				cut = p
			}
			hs = append(hs, heldRow{h, p, size + 8})
		} else if before(lastBase, p) {
			lastBase = p
		}
	}
	if !before(lastBase, cut) {
		t.Fatalf("simtest: a base block (%s at %d) was written after the first held one (%s at %d): no prefix of the files is the base", lastBase.file, lastBase.off, cut.file, cut.off)
	}
	for _, r := range rows {
		h, _ := strconv.Atoi(r["height"])
		off, _ := strconv.ParseInt(r["offset"], 10, 64)
		if r["stale"] == "true" && h >= first && before(pos{r["file"], off - 8}, cut) {
			t.Fatalf("simtest: a stale block at height %d, written before the first held block, would make the base's tip a stale branch: hold another number of blocks", h)
		}
	}
	s := Split{Dir: filepath.Join(out, "blocks"), BaseBlocks: first}
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "blk") || !strings.HasSuffix(name, ".dat") || name > cut.file {
			continue
		}
		if name < cut.file {
			info, err := e.Info()
			if err != nil {
				t.Fatal(err)
			}
			s.Files = append(s.Files, FilePart{Name: name, Size: info.Size(), Whole: true})
		} else if cut.off > 0 {
			s.Files = append(s.Files, FilePart{Name: name, Size: cut.off})
		}
	}
	slices.SortFunc(hs, func(a, b heldRow) int { return a.h - b.h })
	for _, x := range hs {
		f, err := os.Open(filepath.Join(s.Dir, x.p.file))
		if err != nil {
			t.Fatal(err)
		}
		rec := make([]byte, x.n)
		_, err = f.ReadAt(rec, x.p.off)
		f.Close()
		if err != nil {
			t.Fatalf("simtest: block %d in %s at %d: %v", x.h, x.p.file, x.p.off, err)
		}
		s.Held = append(s.Held, rec)
	}
	return s
}

// WriteBase makes dir the base's blocks directory: each whole file hard-
// linked (copied where links fail), the cut file's prefix copied.
func (s Split) WriteBase(t testing.TB, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range s.Files {
		from, to := filepath.Join(s.Dir, f.Name), filepath.Join(dir, f.Name)
		if f.Whole && os.Link(from, to) == nil {
			continue
		}
		if err := copyPrefix(from, to, f.Size); err != nil {
			t.Fatal(err)
		}
	}
}

// copyPrefix writes the first n bytes of from to a new file to.
func copyPrefix(from, to string, n int64) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, io.LimitReader(src, n)); err != nil {
		dst.Close()
		return fmt.Errorf("copy %s to %s: %w", from, to, err)
	}
	return dst.Close()
}
