package trace

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
)

// wasabiLike is a Wasabi 1-shaped CoinJoin: input 0 (the tainted
// participant, 50 BTC) mixes at levels 0.1, 0.2 and 0.4 BTC and takes its
// change; three others bring 1–2 BTC each. Outputs sorted by value.
func wasabiLike() (ins []int64, outs []int64, change int) {
	const d = 10_000_000
	ins = []int64{50_0000_0000, 1_0000_0000, 1_5000_0000, 2_0000_0000}
	outs = []int64{d, d, d, d, 2 * d, 2 * d, 2 * d, 2 * d, 4 * d, 4 * d, 4 * d}
	// Others' change: 1 BTC − 0.7 BTC − fees etc.
	outs = append(outs, 29_900_000, 79_850_000, 49_800_000)
	outs = append(outs, ins[0]-7*d-120_000) // the tainted participant's change
	return ins, outs, len(outs) - 1
}

func TestMatchChange(t *testing.T) {
	ins, outs, change := wasabiLike()
	count := map[int64]int{}
	for _, v := range outs {
		count[v]++
	}
	denoms := []int64{10_000_000, 20_000_000, 40_000_000}
	sums := subsetSums(denoms)
	c, m, ok := matchChange(ins[0], outs, count, sums)
	if !ok || c != change || m != 7 {
		t.Fatalf("matchChange = %d, %b, %v; want %d, 111, true", c, m, ok, change)
	}
	// Without its change output the participant is ambiguous or unmatched.
	if c, _, ok := matchChange(ins[0], outs[:change], count, sums); ok && c >= 0 {
		t.Fatalf("matched change %d that is not there", c)
	}
}

// TestMixSplitConserves: the split keeps every tainted sat (certain +
// uncertain + fee = taint in), puts the change's taint on the change, and
// none above an output's value.
func TestMixSplitConserves(t *testing.T) {
	ins, outs, change := wasabiLike()
	tx := &coinjoin.Tx{}
	for i, v := range ins {
		tx.Ins = append(tx.Ins, coinjoin.In{Value: btc.Amount(v), Addr: btc.AddrID(100 + i)})
	}
	for j, v := range outs {
		tx.Outs = append(tx.Outs, coinjoin.Out{Value: btc.Amount(v), Addr: btc.AddrID(200 + j)})
	}
	for _, p := range []Policy{FIFO, Haircut, LIFO, TIHO} {
		for _, taint := range []int64{ins[0], ins[0] / 3, 12345} {
			w := &walker{entOf: map[btc.AddrID]uint64{}}
			w.inVal = append([]int64(nil), ins...)
			w.inTaint = make([]int64, len(ins))
			w.inTaint[0] = taint
			w.inTaint[2] = 7 // another participant, a little tainted
			w.outVal = append([]int64(nil), outs...)
			w.outT = make([]int64, len(outs))
			fee, method, err := w.mixSplit(p, tx)
			if err != nil {
				t.Fatal(err)
			}
			sum := fee
			for j := range outs {
				if w.outT[j] < 0 || w.outU[j] < 0 || w.outT[j]+w.outU[j] > outs[j] {
					t.Fatalf("%s/%d: output %d: certain %d uncertain %d value %d", p, taint, j, w.outT[j], w.outU[j], outs[j])
				}
				sum += w.outT[j] + w.outU[j]
			}
			if sum != taint+7 || fee < 0 {
				t.Fatalf("%s/%d: split %d (fee %d), taint in %d", p, taint, sum, fee, taint+7)
			}
			if method != MixChange {
				t.Errorf("%s/%d: method %q, want %q", p, taint, method, MixChange)
			}
			if taint == ins[0] && w.outT[change] != outs[change] {
				t.Errorf("%s: change carries %d of %d tainted", p, w.outT[change], outs[change])
			}
			if w.outT[0] != 0 {
				t.Errorf("%s/%d: a denomination output is certain: %d", p, taint, w.outT[0])
			}
		}
	}
}

// TestResolver: cluster.Resolver (what Trace uses) answers as
// cluster.EntityOf for every address of the simulated store.
func TestResolver(t *testing.T) {
	db, _ := simStore(t)
	res, err := cluster.NewResolver(db)
	if err != nil {
		t.Fatal(err)
	}
	multi := 0
	for a := btc.AddrID(0); a < db.Tip().NextAddr; a++ {
		want, err := cluster.EntityOf(db, a)
		if err != nil {
			t.Fatal(err)
		}
		for range 2 { // the second answer is the cache's
			if got, err := res.EntityOf(a); err != nil || got != want {
				t.Fatalf("address %d: Resolver %d (%v), EntityOf %d", a, got, err, want)
			}
		}
		if want != uint64(a) {
			multi++
		}
	}
	if multi == 0 {
		t.Fatal("no multi-address entities")
	}
}
