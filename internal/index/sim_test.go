package index

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/sim"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// TestSimulatedChain ingests a simulated chain (obfuscated with xor.dat,
// split over small blk files, with out-of-order and stale blocks) and checks
// the index against the simulator's answer key: block and transaction
// counts, stale blocks, and the balance of every entity, summed over its
// addresses as the index reports them.
func TestSimulatedChain(t *testing.T) {
	scale := 0.5
	if testing.Short() {
		scale = 0.1
	}
	out := t.TempDir()
	s, err := sim.Run(context.Background(), sim.Options{Out: out, Seed: 11, Scale: scale, XOR: true, MaxFileSize: 256 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if s.Files < 2 || s.StaleBlocks == 0 || s.OutOfOrder == 0 {
		t.Fatalf("simulated chain lacks the hard parts: %+v", s)
	}
	db := openTest(t, t.TempDir())
	sum := ingest(t, db, IngestOptions{BlocksDir: filepath.Join(out, "blocks"), BatchTxs: 500})
	st := db.Stats()
	if st.Blocks != s.Blocks || int64(st.Txs) != s.Txs || int64(sum.Stale) != s.StaleBlocks {
		t.Fatalf("index: %d blocks, %d txs, %d stale; answer key: %d, %d, %d", st.Blocks, st.Txs, sum.Stale, s.Blocks, s.Txs, s.StaleBlocks)
	}
	mustCheck(t, db)

	want := map[string]int64{} // entity -> sats held
	var total int64
	for _, row := range simtest.ReadCSV(t, filepath.Join(out, "truth", "balances.csv")) {
		v, err := strconv.ParseInt(row["sats"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		want[row["entity_id"]] += v
		total += v
	}
	if uint64(total) != st.UTXOValue {
		t.Errorf("UTXO value %d, answer key holds %d", st.UTXOValue, total)
	}
	got := map[string]int64{}
	checked := 0
	for _, row := range simtest.ReadCSV(t, filepath.Join(out, "truth", "addresses.csv")) {
		a, err := db.Address(row["address"])
		if err != nil {
			continue // a service address that never received (answer key says so)
		}
		got[row["entity_id"]] += *a.Balance
		checked++
	}
	for e, v := range want {
		if got[e] != v {
			t.Errorf("entity %s: index balance %d, answer key %d", e, got[e], v)
		}
	}
	t.Logf("%d blocks, %d txs, %d stale; %d addresses and %d entity balances agree with the answer key", st.Blocks, st.Txs, sum.Stale, checked, len(want))
}
