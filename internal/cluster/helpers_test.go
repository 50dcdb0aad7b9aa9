package cluster

import (
	"compress/gzip"
	"context"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

const sharedData = "../../../shared/data/btc-blocks"

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

func update(t testing.TB, db *index.DB, opts Options) Summary {
	t.Helper()
	sum, err := Update(context.Background(), db, opts)
	if err != nil {
		t.Fatalf("cluster: %v", err)
	}
	return sum
}

func clusterDigest(t testing.TB, db *index.DB) [32]byte {
	t.Helper()
	d, err := db.StageDigest(context.Background(), index.StageCluster, pEnd)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// realChainDir returns a blocks directory holding the real mainnet blocks
// 0–14131, decompressed once per test binary.
var realOnce struct {
	sync.Once
	dir string
	err error
}

func realChainDir(t testing.TB) string {
	t.Helper()
	src := filepath.Join(sharedData, "blk_0_to_14131.dat.gz")
	if _, err := os.Stat(src); err != nil {
		t.Skipf("real data %s not found (expected ../shared/data beside the repository): %v", src, err)
	}
	realOnce.Do(func() {
		dir, err := os.MkdirTemp("", "sleuth-cluster-real")
		if err != nil {
			realOnce.err = err
			return
		}
		realOnce.dir = dir
		f, err := os.Open(src)
		if err != nil {
			realOnce.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			realOnce.err = err
			return
		}
		out, err := os.Create(filepath.Join(dir, "blk00000.dat"))
		if err != nil {
			realOnce.err = err
			return
		}
		defer out.Close()
		_, realOnce.err = io.Copy(out, zr)
	})
	if realOnce.err != nil {
		t.Fatal(realOnce.err)
	}
	return realOnce.dir
}

func TestMain(m *testing.M) {
	code := m.Run()
	if realOnce.dir != "" {
		os.RemoveAll(realOnce.dir)
	}
	os.Exit(code)
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
