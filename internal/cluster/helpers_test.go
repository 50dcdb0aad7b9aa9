package cluster

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
)

const sharedData = "../../../shared/data/btc-blocks"

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
