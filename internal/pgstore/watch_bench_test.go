package pgstore

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime"
	"strconv"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/watch"
	"github.com/sleuth-forensics/sleuth/internal/watch/watchtest"
)

// BenchmarkWatchShared measures a shared watchlist of N addresses
// ($SLEUTH_BENCH_WATCH_N, default 1,000,000): adding them to PostgreSQL
// (64 Ki keys a statement), loading them into a server's watch.Snapshot
// (time and heap per address), how long a server takes to see a change to
// another, small list (the reload Follow does), and Snapshot.Has, the
// alert stage's lookup, per call.
func BenchmarkWatchShared(b *testing.B) {
	n := 1_000_000
	if v := os.Getenv("SLEUTH_BENCH_WATCH_N"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SLEUTH_BENCH_WATCH_N=%q", v)
		}
	}
	st := open(b, freshSchema(b)).Watch()
	ctx := context.Background()
	big, err := st.Create(ctx, &watch.List{Name: "deposits"})
	if err != nil {
		b.Fatal(err)
	}
	small, err := st.Create(ctx, &watch.List{Name: "victims"})
	if err != nil {
		b.Fatal(err)
	}
	const chunk = 1 << 20
	start := time.Now()
	for from := 0; from < n; from += chunk {
		if _, err := st.AddAddresses(ctx, big, watchtest.Synthetic(from, min(chunk, n-from))); err != nil {
			b.Fatal(err)
		}
	}
	add := time.Since(start)
	before := heapBytes()
	start = time.Now()
	snap, err := watch.NewSnapshot(ctx, st)
	if err != nil {
		b.Fatal(err)
	}
	load := time.Since(start)
	heapPer := float64(heapBytes()-before) / float64(n)
	if _, err := st.AddAddresses(ctx, small, watchtest.Synthetic(n, 1)); err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	if err := snap.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	reload := time.Since(start)
	probe := watchtest.Synthetic(0, 1024)
	r := rand.New(rand.NewPCG(1, 2))
	found := 0
	b.ReportAllocs()
	for b.Loop() {
		ok, _ := snap.Has(big, probe[r.IntN(len(probe))])
		if ok {
			found++
		}
	}
	if found == 0 {
		b.Fatal("Has found none of the watched addresses")
	}
	b.ReportMetric(float64(n)/add.Seconds(), "added-addr/s")
	b.ReportMetric(load.Seconds(), "load-s")
	b.ReportMetric(heapPer, "heap-B/addr")
	b.ReportMetric(float64(snap.Bytes())/float64(n), "snap-B/addr")
	b.ReportMetric(reload.Seconds(), "small-change-reload-s")
	runtime.KeepAlive(snap)
}

func heapBytes() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
