package follow

import (
	"testing"
	"time"
)

// BenchmarkZMQToIngest measures, per block, the time from a ZMQ
// notification on a real PUB socket to the block being connected in the
// index: the wake-up, getblockchaininfo, the fork check, getblockhash and
// REST block fetch from the fake node over loopback HTTP, the spool append
// and fsync, and the index ingest. Clustering and exposure are not
// included (sleuth follow runs them after each ingest). Reports p50, p99
// and max; run with -benchtime=200x for a p99 over 200 blocks.
func BenchmarkZMQToIngest(b *testing.B) {
	const start = 10
	best, _ := simBlocks(b, max(0.5, float64(b.N+start+10)/150))
	if len(best) < start+b.N+1 {
		b.Fatalf("simulated chain has %d blocks, need %d", len(best), start+b.N+1)
	}
	node := newFakeNode(b, "main")
	pub, endpoint := newPublisher(b)
	node.setChain(best[:start])
	f := startFollower(b, Config{ZMQ: endpoint, Poll: time.Hour}, RPCConfig{URL: node.url(), REST: true})
	waitTip(b, node.tip(), f.log, f.errc)
	// Let the subscription settle: a first block announced until seen.
	node.setChain(best[:start+1])
	for seen := false; !seen; {
		pub.block(b, node.tip())
		select {
		case <-f.log.ch:
			seen = f.log.connected(node.tip())
		case <-time.After(100 * time.Millisecond):
		}
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		node.setChain(best[:start+2+i])
		t0 := time.Now()
		pub.block(b, node.tip())
		waitTip(b, node.tip(), f.log, f.errc)
		lat = append(lat, time.Since(t0))
		f.log.take()
	}
	b.StopTimer()
	b.ReportMetric(quantileMs(lat, 0.5), "p50-ms")
	b.ReportMetric(quantileMs(lat, 0.99), "p99-ms")
	b.ReportMetric(quantileMs(lat, 1), "max-ms")
}
