package index

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// sharedData is the real data set beside the repository (see the brief);
// tests that need it skip when it is absent.
const sharedData = "../../../shared/data/btc-blocks"

func needShared(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not found (expected ../shared/data beside the repository): %v", p, err)
	}
	return p
}

// readCompressed returns the decompressed bytes of a .gz or .bz2 file.
func readCompressed(t testing.TB, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader = f
	switch filepath.Ext(path) {
	case ".gz":
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	case ".bz2":
		r = bzip2.NewReader(f)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// records splits a blk file image into its magic+length records (without
// the zero padding).
func records(t testing.TB, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for off := 0; off+8 <= len(b); {
		if bytes.Equal(b[off:off+4], []byte{0, 0, 0, 0}) {
			break
		}
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		out = append(out, b[off:off+8+n])
		off += 8 + n
	}
	return out
}

var realChain [][]byte // records of heights 0-14131, loaded once

func realRecords(t testing.TB) [][]byte {
	t.Helper()
	if realChain == nil {
		realChain = records(t, readCompressed(t, needShared(t, "blk_0_to_14131.dat.gz")))
	}
	if len(realChain) != 14132 {
		t.Fatalf("real chain has %d records, want 14132", len(realChain))
	}
	return realChain
}

// writeBlk writes records (plus padding zeros) as dir/blkNNNNN.dat.
func writeBlk(t testing.TB, dir string, num int, recs [][]byte, padding int) string {
	t.Helper()
	var buf bytes.Buffer
	for _, r := range recs {
		buf.Write(r)
	}
	buf.Write(make([]byte, padding))
	p := filepath.Join(dir, blkName(num))
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func blkName(n int) string { return "blk" + pad5(n) + ".dat" }

func pad5(n int) string {
	s := []byte("00000")
	for i := 4; i >= 0 && n > 0; i-- {
		s[i] = byte('0' + n%10)
		n /= 10
	}
	return string(s)
}

func openTest(t testing.TB, dir string) *DB {
	t.Helper()
	db, err := Open(dir, &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func ingest(t testing.TB, db *DB, opts IngestOptions) *IngestSummary {
	t.Helper()
	sum, err := db.Ingest(context.Background(), opts)
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	return sum
}

func mustCheck(t testing.TB, db *DB) *CheckReport {
	t.Helper()
	r, err := db.Check(context.Background())
	if err != nil {
		t.Fatalf("check: %v", err)
	}
	if !r.OK() {
		t.Fatalf("check found problems: %v", r.Problems)
	}
	return r
}

func digest(t testing.TB, db *DB, skip ...byte) [32]byte {
	t.Helper()
	d, err := db.Digest(context.Background(), skip...)
	if err != nil {
		t.Fatal(err)
	}
	return d
}
