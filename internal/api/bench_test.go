package api

import (
	"context"
	"math/rand/v2"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// BenchmarkScreenWhileIngesting: 32 concurrent clients of one-address screens
// (GET /v1/screen/{address} of random on-chain addresses, through the
// server's handler in process: no sockets) while a writer appends the last
// 60 blocks of the chain a few at a time and ingests them through the
// pipeline (all four stages). Reports screens/s, p50 and p99 latency, and
// the screens that failed (must be 0).
func BenchmarkScreenWhileIngesting(b *testing.B) {
	w := newWorld(b, 60)
	addrs := w.addresses(5000)
	ctx, cancel := context.WithCancel(context.Background())
	var ingests int
	writer := make(chan struct{})
	go func() {
		defer close(writer)
		for i := 0; i < len(w.held) && ctx.Err() == nil; i += 3 {
			simtest.AppendRecords(b, w.blocksDir, w.held[i:min(len(w.held), i+3)]...)
			if _, err := w.pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: w.blocksDir}}); err != nil && ctx.Err() == nil {
				b.Error(err)
				return
			}
			ingests++
			time.Sleep(10 * time.Millisecond)
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	b.SetParallelism(16) // 32 clients on 2 cores
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
		var mine []time.Duration
		bad := 0
		for pb.Next() {
			req := httptest.NewRequest("GET", "/v1/screen/"+addrs[rng.IntN(len(addrs))], nil)
			rec := httptest.NewRecorder()
			t0 := time.Now()
			w.srv.ServeHTTP(rec, req)
			mine = append(mine, time.Since(t0))
			if rec.Code != 200 {
				bad++
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		failed += bad
		mu.Unlock()
	})
	elapsed := time.Since(start)
	b.StopTimer()
	cancel()
	<-writer
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "screens/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(failed), "failed")
	b.ReportMetric(float64(ingests), "ingests")
	if failed > 0 {
		b.Fatalf("%d of %d screens failed", failed, len(lat))
	}
}
