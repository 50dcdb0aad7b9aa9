package index

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestStoredLookupParallel: the parse workers find reused addresses in
// the committed store (in every run after the first, and within a run
// once its first batches are committed), and the store ends equal to one written by
// a single run with the default batches, where most reuse is answered by
// the writer's cache: the ids the workers found are the ids the writer
// would have given (X1, X3).
func TestStoredLookupParallel(t *testing.T) {
	out := simtest.Chain(t, 13, 0.3)
	recs := simtest.BestRecords(t, out)
	dir := t.TempDir()
	inc := openTest(t, t.TempDir())
	var found uint64
	cuts := []int{0, len(recs) * 7 / 10, len(recs) * 85 / 100, len(recs)}
	for i := 1; i < len(cuts); i++ {
		simtest.AppendRecords(t, dir, recs[cuts[i-1]:cuts[i]]...)
		sum := ingest(t, inc, IngestOptions{BlocksDir: dir, BatchTxs: 200})
		t.Logf("run %d: %d txs, %d addresses found by the workers, %d read by the writer", i, sum.Txs, sum.AddrFoundParallel, sum.AddrReads)
		if i > 1 && sum.AddrFoundParallel == 0 {
			t.Fatalf("run %d: the workers found no stored address: the path under test was not taken", i)
		}
		found += sum.AddrFoundParallel
	}
	mustCheck(t, inc)
	full := openTest(t, t.TempDir())
	ingest(t, full, IngestOptions{BlocksDir: dir})
	if digest(t, inc, fileKeyspaces...) != digest(t, full, fileKeyspaces...) || inc.Stats() != full.Stats() {
		t.Fatalf("store built in 3 runs with %d addresses found by the workers differs from one built in one run", found)
	}
}
