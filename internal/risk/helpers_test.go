package risk

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

const sharedData = "../../../shared/data"

func openTest(t testing.TB, dir string) *index.DB {
	t.Helper()
	db, err := index.Open(dir, &index.Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
func ingest(t testing.TB, db *index.DB, opts index.IngestOptions) {
	t.Helper()
	if _, err := db.Ingest(context.Background(), opts); err != nil {
		t.Fatalf("ingest: %v", err)
	}
}

// simChain writes a simulated chain and returns its directory.
func simChain(t testing.TB, seed int64, scale float64) string {
	t.Helper()
	out := t.TempDir()
	if _, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: seed, Scale: scale}); err != nil {
		t.Fatal(err)
	}
	return out
}

// simBlock is one block record of a simulated chain, from truth/blocks.csv.
type simBlock struct {
	height int
	stale  bool
	record []byte // magic, length and block
}

// simBlocks returns the simulated chain's block records in write order.
func simBlocks(t testing.TB, out string) []simBlock {
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
	blocks := make([]simBlock, len(rows)-1)
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
		blocks[seq] = simBlock{height: h, stale: r[col["stale"]] == "true", record: files[name][off-8 : off+size]}
	}
	return blocks
}

// writeRecords appends block records to dir/blk00000.dat.
func writeRecords(t testing.TB, dir string, recs ...[]byte) {
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

// world is a simulated chain ingested, clustered, labelled and screened.
type world struct {
	out string
	db  *index.DB
	sum Summary
}

func newWorld(t testing.TB, seed int64, scale float64) *world {
	t.Helper()
	out := simChain(t, seed, scale)
	db := openTest(t, t.TempDir())
	ingest(t, db, index.IngestOptions{BlocksDir: filepath.Join(out, "blocks")})
	prepare(t, db, out)
	sum, err := Update(context.Background(), db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return &world{out: out, db: db, sum: sum}
}

// prepare clusters, imports the public tagpack and refreshes the labels.
func prepare(t testing.TB, db *index.DB, out string) {
	t.Helper()
	ctx := context.Background()
	if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{}); err != nil && !strings.Contains(err.Error(), "already") {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
}

// readCSV returns the rows of a truth CSV as maps.
func readCSV(t testing.TB, path string) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]string
	for _, r := range rows[1:] {
		m := map[string]string{}
		for i, c := range rows[0] {
			m[c] = r[i]
		}
		out = append(out, m)
	}
	return out
}

func riskDigest(t testing.TB, db *index.DB) [32]byte {
	t.Helper()
	d, err := db.StageDigest(context.Background(), index.StageRisk, pEnd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
