package risk

import (
	"math/rand/v2"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
)

// TestMembersBelow: the count of an entity's members below a bound, taken
// from the entity's size and the ids at or above the bound, equals a walk
// of the members, for every entity and bounds at, inside and past the
// forest's end (one engine, bounds in turn, as an update asks them).
func TestMembersBelow(t *testing.T) {
	const n = 5000
	rng := rand.New(rand.NewPCG(1, 2))
	f := cluster.NewForest(n)
	for range 3000 {
		f.Union(uint32(rng.IntN(n)), uint32(rng.IntN(n)))
	}
	e := &engine{f: f}
	for _, bound := range []btc.AddrID{0, 1, n / 2, n - 7, n / 2, n, n + 10} {
		for x := uint32(0); x < n; x += 37 {
			want := uint32(0)
			f.Members(x, func(m uint32) bool {
				if btc.AddrID(m) < bound {
					want++
				}
				return true
			})
			if got := e.membersBelow(x, bound); got != want {
				t.Fatalf("entity of %d below %d: %d members, want %d", x, bound, got, want)
			}
		}
	}
}
