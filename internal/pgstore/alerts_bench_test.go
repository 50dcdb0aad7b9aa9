package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
)

// BenchmarkDelivery measures webhook delivery from one shared outbox:
// each iteration stores 1000 alerts (one endpoint: a loopback receiver
// that verifies every signature) and times the workers of servers=1 or 2
// servers (each its own connection pool and claims, Concurrency 4)
// until every event has arrived. It reports alerts/s delivered; the
// count per webhook-id is checked after the loop (exactly once).
// docs/BENCHMARKS.md records the numbers.
func BenchmarkDelivery(b *testing.B) {
	dsn(b)
	const perIter = 1000
	for _, servers := range []int{1, 2} {
		b.Run(fmt.Sprintf("servers=%d", servers), func(b *testing.B) {
			d := freshSchema(b)
			ctx := context.Background()
			stores := make([]*Alerts, servers)
			for i := range stores {
				stores[i] = open(b, d).Alerts()
			}
			rec := alerttest.NewReceiver(b, alert.NewSecret())
			if _, err := stores[0].AddEndpoint(ctx, rec.URL, rec.Secret); err != nil {
				b.Fatal(err)
			}
			in := make([]alert.Alert, perIter)
			var busy time.Duration
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				for j := range in {
					in[j] = alerttest.Sample(j, 1)
					binary.BigEndian.PutUint64(in[j].TxID[:], uint64(i*perIter+j)) // a natural key each
				}
				if _, err := stores[0].Create(ctx, in); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				start := time.Now()
				wctx, cancel := context.WithCancel(ctx)
				var wg sync.WaitGroup
				for _, st := range stores {
					w := &alert.Worker{Store: st, Shared: true, AllowLoopback: true, Poll: 5 * time.Millisecond}
					wg.Add(1)
					go func() { defer wg.Done(); _ = w.Run(wctx) }()
				}
				ok := rec.Wait((i+1)*perIter, time.Minute)
				busy += time.Since(start)
				cancel()
				wg.Wait()
				if !ok {
					b.Fatalf("%d of %d events arrived", len(rec.Arrivals()), (i+1)*perIter)
				}
			}
			b.ReportMetric(float64(b.N*perIter)/busy.Seconds(), "alerts/s")
			perID := map[string]int{}
			for _, a := range rec.Arrivals() {
				if perID[a.WebhookID]++; perID[a.WebhookID] > 1 {
					b.Fatalf("webhook-id %s arrived twice", a.WebhookID)
				}
			}
			if len(perID) != b.N*perIter || rec.BadSignatures() != 0 {
				b.Fatalf("%d distinct webhook-ids for %d events, %d bad signatures", len(perID), b.N*perIter, rec.BadSignatures())
			}
		})
	}
}
