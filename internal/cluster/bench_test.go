package cluster

import (
	"errors"
	"math/rand/v2"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/mmap"
)

// benchForest returns a forest of n ids on the heap or (storage "mmap")
// in scratch files in a temporary directory. With touch, every page is
// written once (with the zeros it holds) so that the timed unions measure
// the union-find, not first-touch page faults, as before words were
// stored XORed (BenchmarkForestScale counts the faults).
func benchForest(b *testing.B, storage string, n int, touch bool) *Forest {
	b.Helper()
	f := NewForest(0)
	if storage == "heap" {
		f = NewForest(n)
	} else {
		var err error
		if f, err = NewScratchForest(b.TempDir(), n); err != nil {
			b.Fatal(err)
		}
		if !f.Mapped() {
			b.Fatalf("a forest of %d ids is not mapped", n)
		}
	}
	if touch {
		clear(f.parent)
		clear(f.next)
	}
	return f
}

// BenchmarkUnion measures unions per second on 10 million ids with two
// workloads: uniform random pairs (the worst case for locality) and
// chain-like pairs, where most unions join a recent id to an older one, as
// multi-input spends do (an input address is usually a few thousand ids
// older than the tx's change); each on the heap and in memory-mapped
// scratch files (NewScratchForest), so their ratio comes from one run.
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
		r := rand.New(rand.NewPCG(1, 2))
		pairs := make([][2]uint32, n)
		for i := range pairs {
			pairs[i][0], pairs[i][1] = w.gen(r)
		}
		for _, storage := range []string{"heap", "mmap"} {
			b.Run(w.name+"/storage="+storage, func(b *testing.B) {
				f := benchForest(b, storage, n, true)
				b.ResetTimer()
				done := 0
				for i := 0; i < b.N; i++ {
					if i%n == 0 && i > 0 {
						b.StopTimer()
						f.Close()
						f = benchForest(b, storage, n, true)
						b.StartTimer()
					}
					p := pairs[i%n]
					f.Union(p[0], p[1])
					done++
				}
				b.StopTimer()
				b.ReportMetric(float64(done)/b.Elapsed().Seconds()/1e6, "Munions/s")
				b.ReportMetric(float64(f.Bytes())/n, "B/id")
				f.Close()
			})
		}
	}
}

// BenchmarkForestScale fills a forest of SLEUTH_FOREST_IDS ids (default 20
// million) the way a chain does: union i joins id i mod n (the newest
// address) to one about 5,000 ids older (exponentially distributed), or,
// one time in 200, to a uniformly random older id (an old address reused).
// Run with -benchtime <ids>x for one sweep. Storage:
//
//   - heap: NewForest;
//   - mmap: scratch files, the kernel left alone (with memory to spare it
//     keeps every touched page: RssFile grows to 8 bytes per touched id);
//   - mmap-window: scratch files, and every 4 million unions the pages of
//     ids more than 16 million behind the newest are written back and freed
//     (mmap.PageOut), as a kernel short of memory would: resident memory
//     stays near the window, and the reused old ids are read back from
//     disk (major faults).
//
// It reports unions/s, the largest RSS seen at those points (rss-MB), the
// anonymous part of it (anon-MB: Go heap and stacks, which only the
// program frees) and the major page faults.
func BenchmarkForestScale(b *testing.B) {
	n := 20_000_000
	if s := os.Getenv("SLEUTH_FOREST_IDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < 1 || v > MaxIDs {
			b.Fatalf("SLEUTH_FOREST_IDS=%q: want a number of ids from 1 to %d", s, uint64(MaxIDs))
		}
		n = v
	}
	const window, every = 16 << 20, 4 << 20
	for _, storage := range []string{"heap", "mmap", "mmap-window"} {
		b.Run("storage="+storage, func(b *testing.B) {
			kind := "mmap"
			if storage == "heap" {
				kind = "heap"
			}
			f := benchForest(b, kind, n, false)
			defer f.Close()
			r := rand.New(rand.NewPCG(1, 2))
			var maxRSS, maxAnon uint64
			sample := func() {
				m, err := mmap.ReadMemory()
				if err != nil {
					b.Fatal(err)
				}
				maxRSS, maxAnon = max(maxRSS, m.RSS), max(maxAnon, m.Anon)
			}
			faults0 := majorFaults(b)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				a := uint32(i % n)
				if a == 0 {
					continue
				}
				var c uint32
				if r.Uint32N(200) == 0 {
					c = r.Uint32N(a)
				} else {
					c = a - min(a, uint32(r.ExpFloat64()*5000))
				}
				f.Union(a, c)
				if i%every == every-1 {
					b.StopTimer()
					sample()
					b.StartTimer()
					if storage == "mmap-window" && int(a) > window {
						// Timed: writing back and freeing is part of the cost.
						if err := errors.Join(f.m.parent.PageOut(0, int(a)-window), f.m.next.PageOut(0, int(a)-window)); err != nil {
							b.Fatal(err)
						}
					}
				}
			}
			b.StopTimer()
			sample()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds()/1e6, "Munions/s")
			b.ReportMetric(float64(maxRSS)/(1<<20), "rss-MB")
			b.ReportMetric(float64(maxAnon)/(1<<20), "anon-MB")
			b.ReportMetric(float64(majorFaults(b)-faults0), "majfaults")
		})
	}
}

// majorFaults returns the process's major page faults so far (reads from
// disk).
func majorFaults(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Majflt
}
