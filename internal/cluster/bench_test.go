package cluster

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkUnion measures unions per second on 10 million ids with two
// workloads: uniform random pairs (the worst case for locality) and
// chain-like pairs, where most unions join a recent id to an older one, as
// multi-input spends do (an input address is usually a few thousand ids
// older than the tx's change).
func BenchmarkUnion(b *testing.B) {
	const n = 10_000_000
	for _, w := range []struct {
		name string
		gen  func(r *rand.Rand) (uint32, uint32)
	}{
		{"random", func(r *rand.Rand) (uint32, uint32) { return r.Uint32N(n), r.Uint32N(n) }},
		{"chainlike", func(r *rand.Rand) (uint32, uint32) {
			a := r.Uint32N(n)
			d := uint32(r.ExpFloat64() * 5000)
			if d > a {
				d = a
			}
			return a, a - d
		}},
	} {
		b.Run(w.name, func(b *testing.B) {
			r := rand.New(rand.NewPCG(1, 2))
			pairs := make([][2]uint32, n)
			for i := range pairs {
				pairs[i][0], pairs[i][1] = w.gen(r)
			}
			f := NewForest(n)
			b.ResetTimer()
			done := 0
			for i := 0; i < b.N; i++ {
				if i%n == 0 && i > 0 {
					b.StopTimer()
					f = NewForest(n)
					b.StartTimer()
				}
				p := pairs[i%n]
				f.Union(p[0], p[1])
				done++
			}
			b.ReportMetric(float64(done)/b.Elapsed().Seconds()/1e6, "Munions/s")
			b.ReportMetric(float64(f.Bytes())/n, "B/id")
		})
	}
}
