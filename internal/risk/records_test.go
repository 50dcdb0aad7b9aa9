package risk

import "testing"

// TestAggregateRemove: taking a contribution back is exact for the sats,
// and refused when the fewest hops or the biggest contribution could be
// the contribution's own.
func TestAggregateRemove(t *testing.T) {
	a1 := flow{Cat: Theft, Sats: 100, MinHops: 2, Best: 100, BestHops: 2, Src: 5, SrcTx: 50}
	a2 := flow{Cat: Theft, Sats: 40, MinHops: 3, Best: 40, BestHops: 3, Src: 6, SrcTx: 60}
	a3 := flow{Cat: Theft, Sats: 40, MinHops: 2, Best: 40, BestHops: 2, Src: 7, SrcTx: 70}
	for i, c := range []struct {
		in      []flow
		remove  flow
		ok      bool
		wantSat uint64 // of the remaining slot (0: slot gone)
	}{
		{[]flow{a1, a2}, a2, true, 100},                  // neither fewest hops nor biggest
		{[]flow{a1, a2}, a1, false, 0},                   // the biggest
		{[]flow{a1, a3}, a3, false, 0},                   // ties the fewest hops
		{[]flow{a2}, a2, true, 0},                        // the only one
		{[]flow{a1}, flow{Cat: Scam, Sats: 1}, false, 0}, // not there
	} {
		var agg aggregate
		for _, f := range c.in {
			agg = agg.merge(f)
		}
		got, ok := agg.remove(c.remove)
		if ok != c.ok {
			t.Fatalf("#%d: ok %v", i, ok)
		}
		if !ok {
			continue
		}
		if c.wantSat == 0 && len(got) != 0 || c.wantSat != 0 && (len(got) != 1 || got[0].Sats != c.wantSat || got[0].Best != a1.Best || got[0].MinHops != a1.MinHops) {
			t.Fatalf("#%d: %+v", i, got)
		}
	}
}
