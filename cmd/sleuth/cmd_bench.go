package main

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/mmap"
	"github.com/sleuth-forensics/sleuth/internal/progress"
)

// benchResult is what `sleuth bench ingest` measures.
type benchResult struct {
	Blocks      int     `json:"blocks"`
	Txs         uint64  `json:"txs"`
	Seconds     float64 `json:"seconds"`
	TxPerSec    float64 `json:"tx_per_s"`
	PeakRSSMB   float64 `json:"peak_rss_mb"`
	DiskBytes   int64   `json:"disk_bytes"`
	SSTBytes    int64   `json:"sst_bytes"`
	BytesPerTx  float64 `json:"disk_bytes_per_tx"`
	Cores       int     `json:"cores"`
	Workers     int     `json:"workers"`
	GoVersion   string  `json:"go_version"`
	CPU         string  `json:"cpu"`
	CheckPassed bool    `json:"check_passed"`
	// UTXOReads and AddrReads are the writer's store reads (what its
	// caches missed), a measure that does not depend on the machine's load.
	UTXOReads uint64 `json:"utxo_reads"`
	AddrReads uint64 `json:"addr_reads"`
	// UTXOPuts counts the unspent outputs the batches wrote to the store,
	// UTXOCachedSpends the spends of those the writer's cache answered,
	// UTXOHeldSpends the spends of outputs held in it and never written.
	UTXOPuts         uint64 `json:"utxo_puts"`
	UTXOCachedSpends uint64 `json:"utxo_cached_spends"`
	UTXOHeldSpends   uint64 `json:"utxo_held_spends"`
	// Batches says how many batches were committed and what ended them.
	Batches index.BatchStats `json:"batches"`
	// DeriveSeconds is the deferred keyspaces' share of Seconds.
	DeriveSeconds float64 `json:"derive_seconds"`
	// Samples are taken about every 5 s while blocks connect.
	Samples []benchSample `json:"samples"`
	// Projection to mainnet's transactions, from the samples.
	Projection *benchProjection `json:"projection,omitempty"`
}

// benchSample is the ingest's state at one moment: transactions so far,
// the rate since the previous sample, and the process's resident set.
type benchSample struct {
	Txs      uint64  `json:"txs"`
	InOuts   uint64  `json:"inputs_outputs"` // the store's inputs plus outputs so far
	Seconds  float64 `json:"seconds"`
	TxPerSec float64 `json:"tx_per_s"`
	RSSMB    float64 `json:"rss_mb"`
}

func runBench(ctx context.Context, args []string) error {
	if len(args) > 0 && benchStages[args[0]] != nil {
		return benchStages[args[0]](ctx, args[1:])
	}
	if len(args) == 0 || args[0] != "ingest" {
		return usagef("usage: sleuth bench ingest --blocks DIR [--cores N] [--db DIR] [--check] [--chart SVG] [--samples CSV] | sleuth bench cluster|exposure|screen --db DIR | sleuth bench import --db DIR FILE... | sleuth bench reference --blocks DIR | sleuth bench project RESULT.json...")
	}
	fset := flag.NewFlagSet("bench ingest", flag.ContinueOnError)
	blocks := fset.String("blocks", "", "blocks directory to ingest (e.g. made by 'sleuth sim')")
	network := fset.String("network", "mainnet", "network of the blocks")
	cores := fset.Int("cores", 0, "GOMAXPROCS (default: all)")
	dbDir := fset.String("db", "", "index directory (default: a fresh temporary one, removed after)")
	check := fset.Bool("check", false, "run the consistency checker afterwards (not timed)")
	asJSON := fset.Bool("json", false, "print JSON")
	batchTxs := fset.Int("batch-txs", 0, "transactions per batch (default: the index's)")
	bulkBatchTxs := fset.Int("bulk-batch-txs", 0, "transactions per batch of a bulk path (default: the index's)")
	batchMB := fset.Int64("batch-mb", 0, "end a batch once its buffered writes take this many MiB (default: the index's)")
	utxoCacheMB := fset.Int64("utxo-cache-mb", 0, "the writer's UTXO cache in MiB, both generations (default: the index's)")
	addrCacheMB := fset.Int64("addr-cache-mb", 0, "the writer's address cache in MiB, both generations (default: the index's)")
	l0Files := fset.Int("l0-files", 0, "level-0 tables gathered before a compaction into the level below (default: the index's)")
	cpuProfile := fset.String("cpuprofile", "", "write a CPU profile of the ingest to this file")
	profileFrom := fset.Uint64("cpuprofile-from", 0, "start the CPU profile after this many transactions (to see the late phase)")
	profileTo := fset.Uint64("cpuprofile-to", 0, "stop the CPU profile after this many transactions (0: at the end)")
	chartFile := fset.String("chart", "", "draw tx/s and RSS against transactions ingested into this SVG file")
	samplesFile := fset.String("samples", "", "write the samples (txs, seconds, tx/s, RSS) to this CSV file")
	lsmEvery := fset.Duration("lsm-every", 0, "print Pebble's LSM metrics to stderr this often while connecting (0: only at the end with -lsm)")
	lsm := fset.Bool("lsm", false, "print Pebble's LSM metrics to stderr at the end")
	if err := fset.Parse(args[1:]); err != nil {
		return usageError{err}
	}
	if *blocks == "" {
		return usagef("--blocks is required")
	}
	if *cores > 0 {
		runtime.GOMAXPROCS(*cores)
	}
	net, err := btc.NetworkByName(*network)
	if err != nil {
		return usageError{err}
	}
	dir := *dbDir
	if dir == "" {
		tmp, err := os.MkdirTemp(filepath.Dir(filepath.Clean(*blocks)), "bench-index-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		return usagef("--db %s is not empty: the benchmark needs a fresh store", dir)
	}
	db, err := index.Open(dir, &index.Options{Network: net, UTXOCacheBytes: *utxoCacheMB << 20, AddrCacheBytes: *addrCacheMB << 20, L0CompactionFiles: *l0Files})
	if err != nil {
		return err
	}
	rep := progress.New(os.Stderr, newLogger(false), 10*time.Second)
	var profFile *os.File
	profiling, profiled := false, false
	// startProfile starts the one profile window (the derive phase counts
	// transactions again from its start and must not open a second one:
	// pprof cannot read two profiles concatenated in one file).
	startProfile := func() {
		if profFile != nil && !profiling && !profiled {
			profiling = pprof.StartCPUProfile(profFile) == nil
			profiled = profiling
		}
	}
	if *cpuProfile != "" {
		if profFile, err = os.Create(*cpuProfile); err != nil {
			return err
		}
		defer profFile.Close()
		if *profileFrom == 0 {
			startProfile()
		}
	}
	start := time.Now()
	var samples []benchSample
	lastSample, lastLSM := time.Now(), time.Now()
	sum, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: *blocks, BatchTxs: *batchTxs, BulkBatchTxs: *bulkBatchTxs, BatchBytes: *batchMB << 20, ProgressEvery: time.Second, Progress: func(p index.Progress) {
		if *profileFrom > 0 && p.Txs >= *profileFrom && (*profileTo == 0 || p.Txs < *profileTo) {
			startProfile()
		}
		if profiling && *profileTo > 0 && p.Txs >= *profileTo {
			pprof.StopCPUProfile()
			profiling = false
			fmt.Fprintf(os.Stderr, "CPU profile of transactions %d to %d written\n", *profileFrom, p.Txs)
		}
		if *lsmEvery > 0 && time.Since(lastLSM) >= *lsmEvery {
			lastLSM = time.Now()
			fmt.Fprintf(os.Stderr, "LSM at %d txs:\n%s\n", p.Txs, db.StoreMetrics())
		}
		if p.Phase == "scan" && p.Final && len(samples) == 0 {
			// The connect phase starts from nothing: the rate over its
			// first fifth is measured from here.
			samples = append(samples, benchSample{Seconds: time.Since(start).Seconds(), RSSMB: currentRSSMB()})
		}
		if p.Phase == "connect" && (time.Since(lastSample) >= 5*time.Second || p.Final) {
			lastSample = time.Now()
			samples = append(samples, newSample(samples, p, time.Since(start)))
		}
		unit := "blocks"
		if p.Phase == "derive" {
			unit = "txs"
		}
		rep.Report(progress.Update{Phase: p.Phase, Done: p.Done, Total: p.Total, Unit: unit, Txs: p.Txs, Height: p.Height, Elapsed: p.Elapsed, Final: p.Final})
	}})
	rep.Done()
	elapsed := time.Since(start)
	if profiling {
		pprof.StopCPUProfile()
	}
	if err != nil {
		db.Close()
		return err
	}
	if *lsm || *lsmEvery > 0 {
		fmt.Fprintf(os.Stderr, "LSM at the end:\n%s\n", db.StoreMetrics())
	}
	r := benchResult{Blocks: sum.Connected, Txs: sum.Txs, Seconds: elapsed.Seconds(), Cores: runtime.GOMAXPROCS(0),
		Workers: runtime.GOMAXPROCS(0), GoVersion: runtime.Version(), CPU: cpuModel()}
	r.TxPerSec = float64(r.Txs) / r.Seconds
	r.DeriveSeconds = sum.Derive.Elapsed.Seconds()
	r.UTXOReads, r.AddrReads, r.Batches = sum.UTXOReads, sum.AddrReads, sum.Batches
	r.UTXOPuts, r.UTXOCachedSpends, r.UTXOHeldSpends = sum.UTXOPuts, sum.UTXOCachedSpends, sum.UTXOHeldSpends
	r.Samples = samples
	r.Projection = project(samples, sum.Derive, r.Txs)
	if *check {
		rep, err := db.Check(ctx)
		if err != nil {
			db.Close()
			return err
		}
		r.CheckPassed = rep.OK()
		if !rep.OK() {
			db.Close()
			return fmt.Errorf("check failed: %v", rep.Problems)
		}
	}
	if err := db.Close(); err != nil {
		return err
	}
	r.PeakRSSMB = peakRSSMB()
	r.DiskBytes, r.SSTBytes = dirSize(dir)
	if r.Txs > 0 {
		r.BytesPerTx = float64(r.SSTBytes) / float64(r.Txs)
	}
	if err := writeBenchFiles(&r, *blocks, *chartFile, *samplesFile); err != nil {
		return err
	}
	if *asJSON {
		return printJSON(r)
	}
	fmt.Printf("ingested %d blocks, %d txs in %.1f s (derive %.1f s): %.0f tx/s on %d cores; peak RSS %.0f MB; tables %d bytes (%.0f bytes/tx), %d bytes with WAL\n",
		r.Blocks, r.Txs, r.Seconds, r.DeriveSeconds, r.TxPerSec, r.Cores, r.PeakRSSMB, r.SSTBytes, r.BytesPerTx, r.DiskBytes)
	fmt.Printf("store reads by the writer: %d spends, %d reused addresses\n", r.UTXOReads, r.AddrReads)
	fmt.Printf("unspent outputs written to the store: %d (%d spent from the writer's cache later); spent while held, never written: %d\n", r.UTXOPuts, r.UTXOCachedSpends, r.UTXOHeldSpends)
	b := r.Batches
	fmt.Printf("batches: %d, ended by transactions %d, bytes %d, a full cache %d; largest %.0f MiB of writes\n",
		b.Commits, b.ByTxs, b.ByBytes, b.ByCache, float64(b.MaxBytes)/(1<<20))
	printSampleSummary(r.Samples)
	if p := r.Projection; p != nil {
		fmt.Printf("projection to %.2g txs: %.1f h (connect %s: %.1f h; or %s: %.1f h; derive %.1f h)\n",
			p.Txs, p.Hours, p.Model, p.ConnectHours, p.OtherModel, p.OtherHours, p.DeriveHours)
	}
	return nil
}

// peakRSSMB is the process's peak resident set (VmHWM).
func peakRSSMB() float64 {
	m, err := mmap.ReadMemory()
	if err != nil {
		return 0
	}
	return float64(m.Peak) / (1 << 20)
}

// currentRSSMB is the process's resident set now (VmRSS).
func currentRSSMB() float64 {
	m, err := mmap.ReadMemory()
	if err != nil {
		return 0
	}
	return float64(m.RSS) / (1 << 20)
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(rest), ":"))
		}
	}
	return runtime.GOARCH
}

// dirSize returns the bytes of all files in dir, and of its sstables.
func dirSize(dir string) (all, sst int64) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				all += info.Size()
				if strings.HasSuffix(p, ".sst") {
					sst += info.Size()
				}
			}
		}
		return nil
	})
	return all, sst
}
