package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

var errInjected = errors.New("injected I/O error")

// failAt fails the n-th write operation once: a transient disk error.
type failAt struct {
	n, count atomic.Int64
	fired    atomic.Bool
}

func (f *failAt) String() string { return fmt.Sprintf("fail write #%d", f.n.Load()) }

func (f *failAt) MaybeError(op errorfs.Op) error {
	if op.Kind.ReadOrWrite() != errorfs.OpIsWrite {
		return nil
	}
	if f.count.Add(1) == f.n.Load() {
		f.fired.Store(true)
		return errInjected
	}
	return nil
}

// ioErrChild is the child side of TestIOErrors: ingest with the n-th write
// failing. Pebble stops the process on some write failures (a failed WAL
// write is fatal by design), retries others in the background, and returns
// the rest as errors.
func ioErrChild(spec string) int {
	var blocks, dir string
	var n int64
	if _, err := fmt.Sscanf(spec, "%s %s %d", &blocks, &dir, &n); err != nil {
		fmt.Fprintln(os.Stderr, "bad spec:", err)
		return 4
	}
	inj := &failAt{}
	inj.n.Store(n)
	db, err := Open(dir, &Options{Network: btc.Mainnet, FS: errorfs.Wrap(vfs.Default, inj), CacheSize: 8 << 20, MemTableSize: 1 << 20})
	if err == nil {
		_, err = db.Ingest(context.Background(), IngestOptions{BlocksDir: blocks, BatchTxs: 200})
		if cerr := db.Close(); err == nil {
			err = cerr
		}
	}
	switch {
	case !inj.fired.Load() && err == nil:
		return 0 // fewer than n writes: the ingest never met the error
	case !inj.fired.Load():
		fmt.Fprintln(os.Stderr, "failed without an injected error:", err)
		return 5
	case err == nil:
		return 6 // Pebble retried the failed write and the ingest finished
	}
	return 7 // the ingest stopped with the error
}

// TestIOErrors fails the n-th disk write of an ingest, for growing n, in a
// child process. Whether the child then stops with an error, dies inside
// Pebble, stalls (killed after 20 s, as an operator would) or finishes after
// Pebble retried the write, the index after a resume on a healthy disk must
// equal a clean ingest (X1, X2).
func TestIOErrors(t *testing.T) {
	if testing.Short() {
		t.Skip("fault injection skipped in -short mode")
	}
	recs := realRecords(t)[:1500]
	blocks := t.TempDir()
	writeBlk(t, blocks, 0, recs, 0)
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: blocks})
	want := digest(t, ref)

	trials := 0
	outcomes := map[int]int{}
	for n := int64(1); ; n = n*3/2 + 1 {
		dir := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("SLEUTH_IOERR_CHILD=%s %s %d", blocks, dir, n))
		out, _ := cmd.CombinedOutput()
		cancel()
		code := cmd.ProcessState.ExitCode()
		if code == 0 {
			break
		}
		if code == 4 || code == 5 {
			t.Fatalf("n=%d: child exit %d: %s", n, code, out)
		}
		outcomes[code]++ // 6 recovered, 7 error, 2 died in Pebble, -1 killed when stalled
		trials++
		db := openTest(t, dir)
		ingest(t, db, IngestOptions{BlocksDir: blocks})
		mustCheck(t, db)
		if digest(t, db) != want {
			t.Fatalf("n=%d: resumed index differs from a clean ingest", n)
		}
		db.Close()
	}
	if trials < 5 {
		t.Fatalf("only %d failure points tried", trials)
	}
	t.Logf("%d failure points, each resumed to the clean index; child outcomes by exit code (6 Pebble recovered, 7 error returned, 2 died in Pebble, -1 stalled and killed): %v", trials, outcomes)
}
