package follow

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/alert/alerttest"
	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// BenchmarkAlertLatency measures issue 13's latency target: from the ZMQ
// message announcing a block to the first of its alerts arriving, signed
// and verified, at a webhook receiver. The path is sleuth serve's: a
// follower of the fake node (real JSON-RPC and REST over loopback HTTP, a
// real ZMQ PUB socket as the wake-up, 2 s polling beside it) whose store is
// a PipelineStore, so each block goes through the index ingest, clustering,
// the labels' entity index, exposure and the alert stage, and the webhook
// worker, woken by AlertsStored, POSTs the alert to an httptest receiver
// that checks every signature with alert.Verify.
//
// Every measured block hits the watchlist: it watches each new block's
// coinbase address (not on chain before that block) with an "any" rule
// and a theft-exposure rule. The store holds the chain before the measured
// blocks, with the simulator's TagPack imported and exposure computed.
// b.N blocks are measured (-benchtime=100x for 100); SLEUTH_LIVE_CHAIN
// names a simulator output directory to use (e.g. gen/n100, the 1M-tx
// chain; default: a small chain simulated here). Reports p50, p99 and max
// and logs each stage's mean and p99 per block.
func BenchmarkAlertLatency(b *testing.B) {
	ctx := context.Background()
	out := os.Getenv("SLEUTH_LIVE_CHAIN")
	if out != "" && b.N == 1 {
		// The testing package's first run of one iteration would build
		// the whole store once more for one block: -benchtime=100x runs
		// the measured one.
		return
	}
	if out == "" {
		out = simtest.Chain(b, 11, max(0.5, float64(b.N+20)/150))
	}
	best := simtest.BestRecords(b, out)
	if len(best) < b.N+12 {
		b.Fatalf("chain of %d blocks: need %d", len(best), b.N+12)
	}
	base := len(best) - b.N - 1 // the store holds best[:base]; one warm-up block, then b.N measured
	node := newFakeNode(b, "main")
	pub, endpoint := newPublisher(b)
	node.setChain(best[:base])

	dir := b.TempDir()
	db, err := index.Open(filepath.Join(dir, "db"), &index.Options{Network: btc.Mainnet})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	pl := pipeline.New(db, pipeline.Options{})
	var mu sync.Mutex
	measuring := false
	stages := map[string][]time.Duration{}
	pl.Subscribe(func(e pipeline.Event) {
		mu.Lock()
		defer mu.Unlock()
		if e.Kind == pipeline.StageDone && measuring {
			stages[e.Stage] = append(stages[e.Stage], e.Duration)
		}
	})
	rpc, err := NewRPC(RPCConfig{URL: node.url(), REST: true})
	if err != nil {
		b.Fatal(err)
	}
	// Warnings and errors (a stage failing, a delivery retried) go to the
	// benchmark's log.
	logger := slog.New(slog.NewTextHandler(testWriter{t: b}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f, err := New(ctx, Config{RPC: rpc, SpoolDir: filepath.Join(dir, "spool"), ZMQ: endpoint, Poll: 2 * time.Second,
		Network: btc.Mainnet, Store: NewPipelineStore(pl, db), Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	t0 := time.Now()
	if err := f.SyncAll(ctx); err != nil {
		b.Fatal(err)
	}
	if err := pl.Write(func(db *index.DB) error {
		_, err := label.ImportFile(ctx, db, filepath.Join(out, "public", "tagpack.yaml"), label.ImportOptions{})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	if _, err := pl.AttributionChanged(ctx, false); err != nil {
		b.Fatal(err)
	}
	b.Logf("store of %d blocks, %d txs built in %s", db.Tip().Height+1, db.Tip().NextTx, time.Since(t0).Round(time.Second))

	ws := watch.NewDB(db)
	anyIn, _ := watch.ParseRule("any", watch.In, alert.High)
	theft, _ := watch.ParseRule("exposure:theft>=1%", watch.In, alert.Critical)
	list, err := ws.Create(ctx, &watch.List{Name: "bench", Rules: []watch.Rule{anyIn, theft}})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ws.AddAddresses(ctx, list, coinbaseKeys(b, best[base:])); err != nil {
		b.Fatal(err)
	}
	rec := alerttest.NewReceiver(b, alert.NewSecret())
	if _, err := pl.AlertStore().AddEndpoint(ctx, rec.URL, rec.Secret); err != nil {
		b.Fatal(err)
	}
	errc, stop := runLive(pl, f, &alert.Worker{Store: pl.AlertStore(), AllowLoopback: true, Log: logger})
	defer stop()

	atHeight := func(h int) func(*alerttest.Arrival) bool {
		return func(a *alerttest.Arrival) bool { return a.Height == int64(h) && a.Type == alert.EventCreated }
	}
	// Warm-up: announce the first block until the subscription has settled
	// and its alert arrived.
	node.setChain(best[:base+1])
	for {
		pub.block(b, node.tip())
		if _, ok := rec.First(atHeight(base), 200*time.Millisecond); ok {
			break
		}
		select {
		case err := <-errc:
			b.Fatalf("follower stopped: %v", err)
		default:
		}
	}
	mu.Lock()
	measuring = true
	mu.Unlock()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		h := base + 1 + i
		node.setChain(best[:h+1])
		start := time.Now()
		pub.block(b, node.tip())
		a, ok := rec.First(atHeight(h), 5*time.Minute)
		if !ok {
			select {
			case err := <-errc:
				b.Fatalf("block %d: the follower stopped: %v", h, err)
			default:
			}
			b.Fatalf("no alert for block %d within 5 minutes", h)
		}
		lat = append(lat, a.At.Sub(start))
	}
	b.StopTimer()
	if n := rec.BadSignatures(); n != 0 {
		b.Fatalf("%d deliveries failed signature verification", n)
	}
	b.ReportMetric(quantileMs(lat, 0.5), "p50-ms")
	b.ReportMetric(quantileMs(lat, 0.99), "p99-ms")
	b.ReportMetric(quantileMs(lat, 1), "max-ms")
	mu.Lock()
	defer mu.Unlock()
	names := make([]string, 0, len(stages))
	for s := range stages {
		names = append(names, s)
	}
	sort.Strings(names)
	var sb strings.Builder
	for _, s := range names {
		d := stages[s]
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		fmt.Fprintf(&sb, " %s mean %.1f ms p99 %.1f ms (%d runs);", s, float64(sum.Microseconds())/float64(len(d))/1000, quantileMs(d, 0.99), len(d))
	}
	b.Logf("%d blocks after height %d: ZMQ message to first alert at the webhook p50 %.0f ms, p99 %.0f ms, max %.0f ms; stages:%s",
		len(lat), base, quantileMs(lat, 0.5), quantileMs(lat, 0.99), quantileMs(lat, 1), sb.String())
}

// quantileMs returns the q-quantile of d in milliseconds (sorting d).
func quantileMs(d []time.Duration, q float64) float64 {
	slices.Sort(d)
	return float64(d[min(len(d)-1, int(q*float64(len(d))))].Microseconds()) / 1000
}

// coinbaseKeys returns the address of each record's coinbase's first
// output that has one.
func coinbaseKeys(b testing.TB, records [][]byte) []address.Key {
	b.Helper()
	var blk blockfile.Block
	var keys []address.Key
	for i, r := range records {
		if err := blk.Parse(r[blockfile.FrameSize:]); err != nil {
			b.Fatalf("record %d: %v", i, err)
		}
		for _, o := range blk.Txs[0].Outs {
			if _, k := address.Classify(o.Script); k.Len() > 0 {
				keys = append(keys, k)
				break
			}
		}
	}
	if len(keys) < len(records) {
		b.Fatalf("%d of %d coinbases pay an address", len(keys), len(records))
	}
	return keys
}
