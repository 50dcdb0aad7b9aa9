package eval

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// synthetic builds a clustering of n addresses over n/10 entities with
// Zipf-distributed sizes (a few exchanges and pools, many small wallets),
// 10% of addresses unknown to the key. Each address of an entity is merged
// with the entity's first address (50%) or its previous one (40%), or left
// alone (10%, so entities are split), and one address in falseEvery is
// merged with a random earlier address
// (false merges; at 1 in 200 they join the large clusters into one
// supercluster). Pred holds the smallest id of each set, as cluster.Forest
// labels it.
func synthetic(n, falseEvery int, seed uint64) *Clustering {
	r := rand.New(rand.NewPCG(seed, 1))
	nEnt := n / 10
	z := rand.NewZipf(r, 1.1, 8, uint64(nEnt-1))
	c := &Clustering{Truth: make([]int32, n), Pred: make([]uint64, n)}
	first, last := make([]int32, nEnt), make([]int32, nEnt)
	for i := range last {
		first[i], last[i] = -1, -1
	}
	heuristics := []string{"multi-input", "change", "address-reuse"}
	for i := range n {
		e := int32(z.Uint64())
		if r.IntN(10) == 0 {
			c.Truth[i] = -1
		} else {
			c.Truth[i] = e
		}
		if first[e] < 0 {
			first[e] = int32(i)
		} else if k := r.IntN(10); k < 9 {
			p := first[e]
			if k >= 5 {
				p = last[e]
			}
			c.Merges = append(c.Merges, Merge{A: btc.AddrID(p), B: btc.AddrID(i), Heuristic: heuristics[r.IntN(len(heuristics))], Tx: uint64(i)})
		}
		last[e] = int32(i)
		if r.IntN(falseEvery) == 0 {
			c.Merges = append(c.Merges, Merge{A: btc.AddrID(r.IntN(i + 1)), B: btc.AddrID(i), Heuristic: "change", Tx: uint64(i)})
		}
	}
	// Label each set with its smallest id.
	parent := make([]int32, n)
	for i := range parent {
		parent[i] = int32(i)
	}
	find := func(x int32) int32 {
		for parent[x] != x {
			parent[x] = parent[parent[x]]
			x = parent[x]
		}
		return x
	}
	for _, m := range c.Merges {
		a, b := find(int32(m.A)), find(int32(m.B))
		if a > b {
			a, b = b, a
		}
		parent[b] = a
	}
	for i := range n {
		c.Pred[i] = uint64(find(int32(i)))
	}
	return c
}

// BenchmarkClusters evaluates a synthetic 2M-address clustering (the
// address count of a 1M-transaction simulation) with rare false merges,
// and with enough of them to build a supercluster of most addresses.
func BenchmarkClusters(b *testing.B) {
	for _, w := range []struct {
		name       string
		falseEvery int
	}{{"rare", 20_000}, {"supercluster", 200}} {
		const n = 2_000_000
		c := synthetic(n, w.falseEvery, 1)
		b.Run(fmt.Sprintf("addresses=%d/falsemerges=%s", n, w.name), func(b *testing.B) {
			b.ReportAllocs()
			var rep *ClusterReport
			for b.Loop() {
				var err error
				if rep, err = Clusters(c, nil); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(c.Merges)), "merges")
			b.ReportMetric(rep.Precision, "precision")
		})
	}
}
