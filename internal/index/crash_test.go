package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestMain lets the crash test re-run this binary as an ingest child.
func TestMain(m *testing.M) {
	if spec := os.Getenv("SLEUTH_IOERR_CHILD"); spec != "" {
		os.Exit(ioErrChild(spec))
	}
	if spec := os.Getenv("SLEUTH_CRASH_CHILD"); spec != "" {
		blocks, rest, _ := strings.Cut(spec, "|")
		dir, cache, _ := strings.Cut(rest, "|")
		var cacheBytes int64
		fmt.Sscan(cache, &cacheBytes)
		db, err := Open(dir, &Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 1 << 20,
			UTXOCacheBytes: cacheBytes, AddrCacheBytes: cacheBytes})
		if err == nil {
			_, err = db.Ingest(context.Background(), IngestOptions{BlocksDir: blocks, BatchTxs: 150})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "child:", err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestKillNine kills an ingest with SIGKILL at random moments and reruns it
// until it finishes; the result must equal an uninterrupted ingest (X1, X2).
func TestKillNine(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test skipped in -short mode")
	}
	recs := realRecords(t)
	blocks := t.TempDir()
	writeBlk(t, blocks, 0, recs[:9000], 0)
	writeBlk(t, blocks, 1, recs[9000:], 0)
	dir := t.TempDir()
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("SLEUTH_CRASH_SEED"); s != "" {
		fmt.Sscan(s, &seed)
	}
	t.Logf("seed %d (replay with SLEUTH_CRASH_SEED)", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills := 0
	for run := 0; ; run++ {
		if run > 400 {
			t.Fatal("ingest never finished")
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		// Every other run has small caches, whose generations are evicted
		// every few hundred outputs: its kills find the held outputs of a
		// bulk path (held.go) starting mid-path, the others from its start.
		cache := int64(0)
		if run%2 == 1 {
			cache = 128 << 10
		}
		cmd.Env = append(os.Environ(), fmt.Sprintf("SLEUTH_CRASH_CHILD=%s|%s|%d", blocks, dir, cache))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		// Early runs die fast; later ones get longer, so the test ends.
		wait := time.Duration(5+rng.IntN(10+15*run)) * time.Millisecond
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child failed: %v\n%s", err, stderr.String())
			}
			t.Logf("finished after %d kills", kills)
			goto finished
		case <-time.After(wait):
			cmd.Process.Signal(syscall.SIGKILL)
			<-done
			kills++
		}
	}
finished:
	if kills < 3 {
		t.Fatalf("only %d kills: the test did not interrupt ingest", kills)
	}
	db := openTest(t, dir)
	mustCheck(t, db)
	// The children defer the derived keyspaces of their long paths; the
	// reference writes them per block.
	withDefer(t, -1, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks})
	if db.Stats() != ref.Stats() || digest(t, db) != digest(t, ref) {
		t.Fatalf("after %d kills: %+v, uninterrupted: %+v", kills, db.Stats(), ref.Stats())
	}
}
