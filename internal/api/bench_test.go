package api

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/follow"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// BenchmarkScreenWhileIngesting: 32 concurrent clients of one-address screens
// (GET /v1/screen/{address} of random on-chain addresses, through the
// server's handler in process: no sockets) while a writer appends the last
// 60 blocks of the chain a few at a time and ingests them through the
// pipeline (all four stages). Reports screens/s, p50 and p99 latency, and
// the screens that failed (must be 0). reads=views is how the server reads
// now, reads=locked the old guard (pipeline.Options.LockedReads).
func BenchmarkScreenWhileIngesting(b *testing.B) {
	for _, locked := range []bool{false, true} {
		name := "reads=views"
		if locked {
			name = "reads=locked"
		}
		b.Run(name, func(b *testing.B) { screenWhileIngesting(b, locked) })
	}
}

func screenWhileIngesting(b *testing.B, locked bool) {
	w := newWorld(b, 60)
	w.pl = pipeline.New(w.db, pipeline.Options{LockedReads: locked})
	w.srv = New(w.pl, Options{})
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

// BenchmarkServeLoad is issue 12's load test, on a chain given in the
// environment (it skips without one):
//
//	SLEUTH_SERVE_CHAIN=DIR  a simulated chain (blocks/, public/), e.g. one
//	                        of scale 100 (~1M transactions)
//	SLEUTH_SERVE_WORK=DIR   where to keep the base store (reused across
//	                        runs) and each run's copy (under gen/)
//	SLEUTH_SERVE_HELD=N     blocks held back from the base (default 100)
//	SLEUTH_SERVE_FEED=N     of those, how many the runs ingest (default all)
//	SLEUTH_SERVE_QUIET=D    how long the runs without ingest last (default 20s)
//	SLEUTH_SERVE_CLIENT=raw the clients speak HTTP/1.1 themselves, one
//	                        goroutine each (rawClient), instead of through
//	                        net/http's client (the default)
//	SLEUTH_SERVE_WARM=1     screen every sampled address once before the
//	                        clock starts, as a server that has been running
//	SLEUTH_SERVE_CACHE_MB=N the store's block cache (default index.Options')
//	SLEUTH_SERVE_SHARE=S    RunOptions.IngestShare (default its default; 1:
//	                        the ingest never stands aside for requests)
//	SLEUTH_SERVE_RATE=R     pace the clients: together they offer R screens/s
//	                        (default 0: each sends its next as soon as the
//	                        last is answered, saturating the machine)
//	SLEUTH_SERVE_BASE=blocks  only write the base's blocks and stop, for a
//	                        base store built by the CLI (see writeBaseBlocks)
//
// The base store holds all but the last N best-chain blocks, with every
// stage run and the chain's public TagPack imported. Each run starts a real
// server (Run, on a loopback socket) on a copy of it, and 32 clients send
// GET /v1/screen/{address} for random on-chain addresses over HTTP. With
// ingest=on, a feeder appends the held blocks five at a time and the
// server's polling ingest (every 100 ms) takes them through the pipeline
// (index, entities, labels' entity index, exposure); the run lasts until
// the server is at the last block. With ingest=off it lasts
// SLEUTH_SERVE_QUIET. reads=views is how the server reads now; reads=locked
// is the old guard (pipeline.Options.LockedReads), for the ratio. Reports
// screens/s, p50, p99, max, failed requests (must be 0) and, with ingest,
// the updates and transactions ingested during the run.
//
// Unpaced, 32 closed-loop clients saturate the machine they share with the
// server, so their mean latency is 32 / throughput: 6.4 ms at 5,000/s,
// above a 5 ms p99 by construction. Paced (SLEUTH_SERVE_RATE), the clients
// offer a fixed rate open loop, each on its own schedule, and a latency is
// measured from the time its request was due, not sent: a server that
// falls behind is charged for the wait (no coordinated omission, as wrk2
// measures); this is the latency a deposit pipeline sending that rate sees.
//
// Run it once per case: -benchtime 1x.
func BenchmarkServeLoad(b *testing.B) {
	chainDir, work, held, feed := serveEnv(b)
	quiet := serveQuiet(b)
	var rate float64
	if v := os.Getenv("SLEUTH_SERVE_RATE"); v != "" {
		var err error
		if rate, err = strconv.ParseFloat(v, 64); err != nil || rate < 0 {
			b.Fatalf("SLEUTH_SERVE_RATE=%q: want screens per second", v)
		}
	}
	split := simtest.SplitChain(b, chainDir, held)
	base := loadBase(b, chainDir, work, split)
	for _, ingest := range []bool{false, true} {
		for _, locked := range []bool{false, true} {
			reads := "views"
			if locked {
				reads = "locked"
			}
			name := fmt.Sprintf("reads=%s/ingest=%v", reads, map[bool]string{false: "off", true: "on"}[ingest])
			b.Run(name, func(b *testing.B) {
				for range b.N {
					r := serveLoadWith(b, base, work, split.Held[:feed], ingest, locked, quiet, loadExt{rate: rate})
					r.report(b)
					if rate > 0 {
						b.ReportMetric(rate, "offered/s")
					}
					b.ReportMetric(float64(r.updates), "updates")
					b.ReportMetric(float64(r.txs), "txs-ingested")
					if r.failed > 0 {
						b.Errorf("%d of %d screens failed (first: %v)", r.failed, r.n, r.firstErr)
					}
				}
			})
		}
	}
}

// serveQuiet reads SLEUTH_SERVE_QUIET (default 20 s).
func serveQuiet(b *testing.B) time.Duration {
	quiet := 20 * time.Second
	if v := os.Getenv("SLEUTH_SERVE_QUIET"); v != "" {
		var err error
		if quiet, err = time.ParseDuration(v); err != nil {
			b.Fatalf("SLEUTH_SERVE_QUIET=%q: %v", v, err)
		}
	}
	return quiet
}

// report reports the screens' rate, latencies and failures.
func (r *loadBench) report(b *testing.B) {
	b.ReportMetric(r.rate, "screens/s")
	b.ReportMetric(r.p50, "p50-ms")
	b.ReportMetric(r.p99, "p99-ms")
	b.ReportMetric(r.max, "max-ms")
	b.ReportMetric(float64(r.failed), "failed")
}

// serveEnv reads the environment of BenchmarkServeLoad and
// BenchmarkBlockUpdate, skipping without a chain.
func serveEnv(b *testing.B) (chainDir, work string, held, feed int) {
	chainDir, work = os.Getenv("SLEUTH_SERVE_CHAIN"), os.Getenv("SLEUTH_SERVE_WORK")
	if chainDir == "" || work == "" {
		b.Skip("set SLEUTH_SERVE_CHAIN to a simulated chain (e.g. gen/n100 of 'sleuth sim --scale 100') and SLEUTH_SERVE_WORK to a directory under gen/")
	}
	held = 100
	if v := os.Getenv("SLEUTH_SERVE_HELD"); v != "" {
		var err error
		if held, err = strconv.Atoi(v); err != nil || held < 1 {
			b.Fatalf("SLEUTH_SERVE_HELD=%q: want a positive integer", v)
		}
	}
	feed = held
	if v := os.Getenv("SLEUTH_SERVE_FEED"); v != "" {
		var err error
		if feed, err = strconv.Atoi(v); err != nil || feed < 1 || feed > held {
			b.Fatalf("SLEUTH_SERVE_FEED=%q: want an integer from 1 to SLEUTH_SERVE_HELD (%d)", v, held)
		}
	}
	return chainDir, work, held, feed
}

// loadBench is one serveLoad run's outcome (latencies in milliseconds).
type loadBench struct {
	n, failed         int
	firstErr          error
	rate              float64
	p50, p99, max     float64
	updates, txs      int
	baseTip, finalTip int64
}

// benchBase is the base store of BenchmarkServeLoad and the addresses the
// clients screen.
type benchBase struct {
	db, blocks string
	next       string // the blk file a run appends new blocks to
	addrs      []string
}

// loadBase builds (once; later runs reuse it) the base store under work
// from the base of split, with every stage run and the chain's public
// TagPack imported, and samples 20,000 of its addresses evenly over
// address ids.
func loadBase(b *testing.B, chainDir, work string, split simtest.Split) benchBase {
	bb := benchBase{db: filepath.Join(work, "base-db"), blocks: filepath.Join(work, "base-blocks"),
		next: fmt.Sprintf("blk%05d.dat", len(split.Files))}
	// base-done records the base's block count: another SLEUTH_SERVE_HELD
	// rebuilds it.
	done, want := filepath.Join(work, "base-done"), strconv.Itoa(split.BaseBlocks)
	if got, err := os.ReadFile(done); err != nil || string(got) != want {
		writeBaseBlocks(b, work, bb, split)
		if os.Getenv("SLEUTH_SERVE_BASE") == "blocks" {
			b.Skipf("SLEUTH_SERVE_BASE=blocks: %d blocks' files written to %s; build %s from them (every stage, the chain's public TagPack) and write %s = %s to reuse it", split.BaseBlocks, bb.blocks, bb.db, done, want)
		}
		if err := os.RemoveAll(bb.db); err != nil {
			b.Fatal(err)
		}
		db, err := index.Open(bb.db, nil)
		if err != nil {
			b.Fatal(err)
		}
		pl := pipeline.New(db, pipeline.Options{})
		ctx := context.Background()
		start := time.Now()
		if _, err := pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: bb.blocks}}); err != nil {
			b.Fatal(err)
		}
		err = pl.Write(func(db *index.DB) error {
			_, err := label.ImportFile(ctx, db, filepath.Join(chainDir, "public", "tagpack.yaml"), label.ImportOptions{})
			return err
		})
		if err == nil {
			_, err = pl.AttributionChanged(ctx, false)
		}
		if cerr := db.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			b.Fatal(err)
		}
		b.Logf("base store: %d blocks in %s", split.BaseBlocks, time.Since(start).Round(time.Second))
		if err := os.WriteFile(done, []byte(want), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	db, err := index.Open(bb.db, &index.Options{ReadOnly: true})
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	n := db.Tip().NextAddr
	for i := range btc.AddrID(20_000) {
		if s, _, err := db.AddrString(i * n / 20_000); err == nil && s != "" {
			bb.addrs = append(bb.addrs, s)
		}
	}
	return bb
}

// writeBaseBlocks makes the base's blocks directory (the chain's files up
// to the cut, hard-linked: no copy of a chain larger than memory or the
// free disk) unless base-blocks-done says it holds them already. With
// SLEUTH_SERVE_BASE=blocks loadBase stops there, so that the base store
// can be built by the CLI stage by stage (timed, as docs/BENCHMARKS.md
// records for the 10M chain) and reused by writing base-done.
func writeBaseBlocks(b *testing.B, work string, bb benchBase, split simtest.Split) {
	done, want := filepath.Join(work, "base-blocks-done"), strconv.Itoa(split.BaseBlocks)
	if got, err := os.ReadFile(done); err == nil && string(got) == want {
		return
	}
	if err := os.RemoveAll(bb.blocks); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(bb.blocks, 0o755); err != nil {
		b.Fatal(err)
	}
	split.WriteBase(b, bb.blocks)
	if err := os.WriteFile(done, []byte(want), 0o644); err != nil {
		b.Fatal(err)
	}
}

// cloneStore copies the store in src to dst: Pebble's tables are
// immutable, so they are hard-linked; everything else is copied.
func cloneStore(b *testing.B, src, dst string) {
	if err := os.RemoveAll(dst); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dst, 0o755); err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		from, to := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		if e.IsDir() || e.Name() == "LOCK" || e.Name() == index.OwnerFile {
			continue
		}
		if strings.HasSuffix(e.Name(), ".sst") {
			err = os.Link(from, to)
		} else {
			var data []byte
			if data, err = os.ReadFile(from); err == nil {
				err = os.WriteFile(to, data, 0o644)
			}
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// serveLoad runs one case of BenchmarkServeLoad.
// loadExt extends a serveLoad run (BenchmarkServeLabels): setup returns
// the label editor the server uses (nil: the embedded store's), during
// runs beside the clients until stop closes, and rate, when above 0,
// paces the clients (BenchmarkServeLoad's SLEUTH_SERVE_RATE).
type loadExt struct {
	setup  func(b *testing.B, pl *pipeline.Pipeline) labelsync.Editor
	during func(url string, stop <-chan struct{})
	rate   float64
}

func serveLoadWith(b *testing.B, base benchBase, work string, held [][]byte, ingest, locked bool, quiet time.Duration, ext loadExt) loadBench {
	b.StopTimer()
	db, blocks := base.run(b, work)
	defer db.Close()
	var r loadBench
	r.baseTip = db.Tip().Height
	target := r.baseTip
	if ingest {
		target += int64(len(held))
	}
	pl := pipeline.New(db, pipeline.Options{LockedReads: locked})
	pl.Subscribe(func(e pipeline.Event) {
		if e.Kind == pipeline.BlockConnected {
			r.txs += int(e.NTx)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	urlc := make(chan string, 1)
	served := make(chan error, 1)
	ropts := RunOptions{Listen: "127.0.0.1:0", Ready: func(u string) { urlc <- u }}
	if v := os.Getenv("SLEUTH_SERVE_SHARE"); v != "" {
		var err error
		if ropts.IngestShare, err = strconv.ParseFloat(v, 64); err != nil {
			b.Fatalf("SLEUTH_SERVE_SHARE=%q: want a share of time, 0 to 1", v)
		}
	}
	if ext.setup != nil {
		ropts.Options.Labels = ext.setup(b, pl)
	}
	if ingest {
		ropts.Follow = &follow.Config{BlocksDir: blocks, Poll: 100 * time.Millisecond}
	}
	go func() { served <- Run(ctx, pl, db, ropts) }()
	var url string
	select {
	case url = <-urlc:
	case err := <-served:
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: time.Minute}
	// newScreener returns one client's screen function.
	newScreener := func() func(addr string) error {
		return func(addr string) error { return screenOnce(client, url+"/v1/screen/"+addr) }
	}
	if os.Getenv("SLEUTH_SERVE_CLIENT") == "raw" {
		host := strings.TrimPrefix(url, "http://")
		newScreener = func() func(addr string) error {
			rc := &rawClient{addr: host}
			b.Cleanup(func() {
				if rc.c != nil {
					rc.c.Close()
				}
			})
			return func(addr string) error { return rc.get("/v1/screen/" + addr) }
		}
	}
	if os.Getenv("SLEUTH_SERVE_WARM") != "" {
		// A server that has been running: every sampled address screened
		// once before the clock starts, by 32 clients.
		t0 := time.Now()
		var warm sync.WaitGroup
		for c := range 32 {
			warm.Go(func() {
				screen := newScreener()
				for i := c; i < len(base.addrs); i += 32 {
					if err := screen(base.addrs[i]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		warm.Wait()
		b.Logf("warmed: %d addresses screened in %s", len(base.addrs), time.Since(t0).Round(time.Millisecond))
	}
	// The end of the run: the server at the target height (its view), or
	// the quiet time.
	stop := make(chan struct{})
	feederDone := make(chan struct{})
	go func() {
		defer close(feederDone)
		defer close(stop)
		if !ingest {
			time.Sleep(quiet)
			return
		}
		next := filepath.Join(blocks, base.next)
		for i := 0; i < len(held); i += 5 {
			if err := appendFile(next, held[i:min(len(held), i+5)]); err != nil {
				b.Error(err)
				return
			}
			// Keep at most a few blocks ahead of the server, so that it
			// ingests all along the run rather than in one big update.
			for tipOf(pl) < r.baseTip+int64(i) && ctx.Err() == nil {
				time.Sleep(20 * time.Millisecond)
			}
		}
		for tipOf(pl) < target && ctx.Err() == nil {
			time.Sleep(20 * time.Millisecond)
		}
	}()
	var mu sync.Mutex
	var lat []time.Duration
	var wg sync.WaitGroup
	if ext.during != nil {
		wg.Add(1)
		go func() { defer wg.Done(); ext.during(url, stop) }()
	}
	gen0 := pl.Generation()
	b.StartTimer()
	start := time.Now()
	const clients = 32
	for c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 7))
			screen := newScreener()
			var mine []time.Duration
			failed := 0
			var first error
			// Paced: this client's requests are due every interval, the
			// clients' schedules staggered across one interval.
			var interval time.Duration
			var due time.Time
			var timer *time.Timer
			if ext.rate > 0 {
				interval = time.Duration(float64(clients) / ext.rate * float64(time.Second))
				due = start.Add(interval * time.Duration(c) / clients)
				timer = time.NewTimer(0)
				defer timer.Stop()
			}
			for {
				t0 := time.Now()
				if interval > 0 {
					if wait := due.Sub(t0); wait > 0 {
						timer.Reset(wait)
						select {
						case <-stop:
						case <-timer.C:
						}
					}
					t0, due = due, due.Add(interval)
				}
				select {
				case <-stop:
					mu.Lock()
					lat = append(lat, mine...)
					r.failed += failed
					if r.firstErr == nil {
						r.firstErr = first
					}
					mu.Unlock()
					return
				default:
				}
				err := screen(base.addrs[rng.IntN(len(base.addrs))])
				mine = append(mine, time.Since(t0))
				if err != nil {
					failed++
					if first == nil {
						first = err
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	<-feederDone
	r.updates = int(pl.Generation() - gen0)
	r.finalTip = tipOf(pl)
	cancel()
	if err := <-served; err != nil {
		b.Fatal(err)
	}
	if r.finalTip != target {
		b.Fatalf("server at height %d after the run, want %d", r.finalTip, target)
	}
	slices.Sort(lat)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	r.n = len(lat)
	r.rate = float64(len(lat)) / elapsed.Seconds()
	r.p50, r.p99, r.max = ms(lat[len(lat)/2]), ms(lat[len(lat)*99/100]), ms(lat[len(lat)-1])
	b.Logf("%d screens in %s by 32 clients; tip %d → %d; %d updates, %d txs ingested", r.n, elapsed.Round(time.Millisecond), r.baseTip, r.finalTip, r.updates, r.txs)
	return r
}

// tipOf returns the tip height readers of pl see.
func tipOf(pl *pipeline.Pipeline) int64 {
	var h int64
	_ = pl.Read(func(db *index.DB) error { h = db.Tip().Height; return nil })
	return h
}

// screenOnce sends one screen and reads the whole answer; anything but a
// 200 is an error.
func screenOnce(c *http.Client, url string) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return err
}

// appendFile appends block records to path.
func appendFile(path string, recs [][]byte) error {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, err := f.Write(r); err != nil {
			f.Close()
			return err
		}
	}
	return f.Close()
}

// BenchmarkBlockUpdate measures the update of every stage per block with
// the pipeline warm, on the chain and base store of BenchmarkServeLoad
// (same environment): one held block warms the pipeline (not counted),
// then SLEUTH_SERVE_FEED more (default: the rest) are appended one at a
// time and each is ingested through the pipeline (index, entities, labels'
// entity index, exposure) while nobody reads. Reports p50, p99 and max of each stage's
// StageDone duration and of the whole update, in milliseconds.
//
// Run it once: -benchtime 1x.
func BenchmarkBlockUpdate(b *testing.B) {
	chainDir, work, held, feed := serveEnv(b)
	if feed == held {
		feed-- // one block warms up
	}
	split := simtest.SplitChain(b, chainDir, held)
	base := loadBase(b, chainDir, work, split)
	for range b.N {
		b.StopTimer()
		db, blocks := base.run(b, work)
		pl := pipeline.New(db, pipeline.Options{})
		stages := map[string][]time.Duration{}
		pl.Subscribe(func(e pipeline.Event) {
			if e.Kind == pipeline.StageDone {
				stages[e.Stage] = append(stages[e.Stage], e.Duration)
			}
		})
		ctx := context.Background()
		var total []time.Duration
		var txs uint64
		paths := map[string]int{} // how exposure's aggregates went, by block
		stopProfile := func() {}
		for i, rec := range split.Held[:feed+1] {
			if err := appendFile(filepath.Join(blocks, base.next), [][]byte{rec}); err != nil {
				b.Fatal(err)
			}
			if i == 1 {
				// Warm: the first update after opening loads what the
				// stages keep in memory; it is not counted.
				clear(stages)
				total, txs = nil, 0
				stopProfile = startProfile(b)
				b.StartTimer()
			}
			t0 := time.Now()
			res, err := pl.Ingest(ctx, pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: blocks}})
			if err != nil {
				b.Fatal(err)
			}
			total = append(total, time.Since(t0))
			if res.Index == nil || res.Index.Connected != 1 || res.Risk == nil {
				b.Fatalf("an update of one block connected %+v", res.Index)
			}
			txs += res.Index.Txs
			if i >= 1 {
				paths[aggregationPath(res.Risk)]++
			}
		}
		b.StopTimer()
		stopProfile()
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
		report := func(name string, ds []time.Duration) {
			slices.Sort(ds)
			ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
			b.ReportMetric(ms(ds[len(ds)/2]), name+"-p50-ms")
			b.ReportMetric(ms(ds[len(ds)*99/100]), name+"-p99-ms")
			b.ReportMetric(ms(ds[len(ds)-1]), name+"-max-ms")
		}
		for _, s := range []string{pipeline.StageIndex, pipeline.StageCluster, pipeline.StageLabels, pipeline.StageExposure} {
			if len(stages[s]) != feed {
				b.Fatalf("stage %s done %d times for %d blocks", s, len(stages[s]), feed)
			}
			report(s, stages[s])
		}
		report("update", total)
		b.Logf("%d blocks, %d txs (%.0f per block), one update each; exposure's aggregates by block: %v", feed, txs, float64(txs)/float64(feed), paths)
	}
}

// aggregationPath names how an exposure update brought the aggregates up
// to date (risk.Summary.Aggregation), or that it had nothing to bring.
func aggregationPath(s *risk.Summary) string {
	switch {
	case s.Rebuilt:
		return "rebuilt"
	case s.Aggregation == "":
		return "no attribution change"
	}
	return s.Aggregation
}

// run opens a fresh copy of the base store under work and a blocks
// directory that holds the base's blocks (new ones go to base.next).
func (base benchBase) run(b *testing.B, work string) (*index.DB, string) {
	dbDir, blocks := filepath.Join(work, "run-db"), filepath.Join(work, "run-blocks")
	cloneStore(b, base.db, dbDir)
	linkBaseBlocks(b, base, blocks)
	var opts index.Options
	if v := os.Getenv("SLEUTH_SERVE_CACHE_MB"); v != "" {
		mb, err := strconv.Atoi(v)
		if err != nil || mb < 1 {
			b.Fatalf("SLEUTH_SERVE_CACHE_MB=%q: want a positive integer", v)
		}
		opts.CacheSize = int64(mb) << 20
	}
	db, err := index.Open(dbDir, &opts)
	if err != nil {
		b.Fatal(err)
	}
	return db, blocks
}

// linkBaseBlocks makes blocks a fresh directory whose blk files are
// symbolic links to the base's (read only; new blocks go to base.next).
func linkBaseBlocks(b *testing.B, base benchBase, blocks string) {
	if err := os.RemoveAll(blocks); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(blocks, 0o755); err != nil {
		b.Fatal(err)
	}
	ents, err := os.ReadDir(base.blocks)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range ents {
		abs, err := filepath.Abs(filepath.Join(base.blocks, e.Name()))
		if err == nil {
			err = os.Symlink(abs, filepath.Join(blocks, e.Name()))
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// startProfile writes a CPU profile of the timed part of a benchmark to
// $SLEUTH_BENCH_CPUPROFILE when it is set (go test's -cpuprofile covers
// the set-up too, which dwarfs a block's update), and returns its stop.
func startProfile(b *testing.B) func() {
	path := os.Getenv("SLEUTH_BENCH_CPUPROFILE")
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		b.Fatal(err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}
