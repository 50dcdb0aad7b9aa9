package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime/pprof"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// benchStages are the stages `sleuth bench STAGE --db DIR` times on an
// existing store (issue 15 item 5); ingest has its own command.
var benchStages = map[string]func(context.Context, []string) error{
	"cluster":  benchCluster,
	"exposure": benchExposure,
	"screen":   benchScreen,
	"import":   benchImport,
	// project reads the others' results: the mainnet projection.
	"project": benchProject,
	// reference needs no store: it is the ingest's in-memory baseline.
	"reference": benchReference,
}

// stageResult is what a stage benchmark prints: the wall time, the
// process's peak RSS, the store's size after it (transactions, addresses,
// bytes on disk: the sizes `sleuth bench project` fits against) and the
// stage's own summary.
type stageResult struct {
	Stage     string  `json:"stage"`
	Seconds   float64 `json:"seconds"`
	PeakRSSMB float64 `json:"peak_rss_mb"`
	Txs       uint64  `json:"txs"`
	Addresses uint64  `json:"addresses"`
	DiskBytes int64   `json:"disk_bytes"`
	Summary   any     `json:"summary"`
}

// benchFlags parses a stage benchmark's flags (--db, --json and the
// stage's own, added by more) and opens the store.
func benchFlags(stage string, args []string, write bool, more func(*flag.FlagSet)) (*storeFlags, *index.DB, error) {
	var s storeFlags
	fs := flag.NewFlagSet("bench "+stage, flag.ContinueOnError)
	s.add(fs, true)
	if more != nil {
		more(fs)
	}
	if err := parseInterspersed(fs, args); err != nil {
		return nil, nil, err
	}
	if s.db == "" {
		return nil, nil, usagef("bench %s: --db is required (a store with the stages before it run)", stage)
	}
	db, err := s.open(write)
	return &s, db, err
}

// printStage prints a stage benchmark's result on the store db (nil: the
// stage has none and set r's sizes itself).
func printStage(s *storeFlags, db *index.DB, r stageResult, text string) error {
	r.PeakRSSMB = peakRSSMB()
	if db != nil {
		tip := db.Tip()
		r.Txs, r.Addresses = uint64(tip.NextTx), uint64(tip.NextAddr)
		r.DiskBytes, _ = dirSize(s.db)
	}
	if s.json {
		return printJSON(r)
	}
	fmt.Printf("%s: %.2f s, peak RSS %.0f MB; %s\n", r.Stage, r.Seconds, r.PeakRSSMB, text)
	return nil
}

// benchUpdate runs a stage benchmark that updates the store (--rebuild
// starts the stage from scratch): update returns the stage's summary and
// its line of text.
func benchUpdate(stage, rebuildHelp string, args []string, update func(db *index.DB, rebuild bool) (any, string, error)) error {
	var rebuild bool
	var cpuProfile string
	s, db, err := benchFlags(stage, args, true, func(fs *flag.FlagSet) {
		fs.BoolVar(&rebuild, "rebuild", false, rebuildHelp)
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the update to this file")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	stop, err := cpuProfileTo(cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	sum, text, err := update(db, rebuild)
	if err != nil {
		return err
	}
	return printStage(s, db, stageResult{Stage: stage, Seconds: time.Since(start).Seconds(), Summary: sum}, text)
}

// benchCluster times the clustering (pipeline.UpdateClusters: entities,
// then the labels' entity index) on an ingested store.
func benchCluster(ctx context.Context, args []string) error {
	return benchUpdate("cluster", "drop the stored clustering and cluster from scratch", args, func(db *index.DB, rebuild bool) (any, string, error) {
		sum, err := pipeline.New(db, pipeline.Options{}).UpdateClusters(ctx, cluster.Options{Rebuild: rebuild})
		return sum, fmt.Sprintf("%d blocks, %d txs, %d merges (%d in all), %d replayed", sum.Blocks, sum.Txs, sum.Merges, sum.TotalMerges, sum.Replayed), err
	})
}

// benchExposure times exposure (risk.Update) on a clustered store.
func benchExposure(ctx context.Context, args []string) error {
	return benchUpdate("exposure", "recompute exposure from scratch", args, func(db *index.DB, rebuild bool) (any, string, error) {
		sum, err := risk.Update(ctx, db, risk.Options{Rebuild: rebuild})
		return sum, fmt.Sprintf("%d blocks, %d txs, %d exposed outputs, %d labelled entities, incremental %v (%d recomputed), rebuilt %v %s",
			sum.Blocks, sum.Txs, sum.Exposed, sum.Entities, sum.Incremental, sum.Recomputed, sum.Rebuilt, sum.Reason), err
	})
}

// benchImport times an import of label files with what follows it
// (pipeline.AttributionChanged: the labels' entity index and exposure),
// as 'sleuth labels import' does. On a store whose exposure was computed
// before, a pack that touches more than the incremental update's budget
// makes this exposure from scratch with the labels: the largest stage.
func benchImport(ctx context.Context, args []string) error {
	var cpuProfile string
	var flags *flag.FlagSet
	s, db, err := benchFlags("import", args, true, func(fs *flag.FlagSet) {
		fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the import to this file")
		flags = fs
	})
	if err != nil {
		return err
	}
	defer db.Close()
	files := flags.Args()
	if len(files) == 0 {
		return usagef("bench import: give one or more label files (TagPack, OFAC lists)")
	}
	stop, err := cpuProfileTo(cpuProfile)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	var sum struct {
		Imported []*label.FileResult `json:"imported"`
		Exposure *risk.Summary       `json:"exposure"`
	}
	labels := 0
	for _, path := range files {
		r, err := label.ImportFile(ctx, db, path, label.ImportOptions{})
		if err != nil {
			return err
		}
		sum.Imported = append(sum.Imported, r)
		labels += r.Labels
	}
	if sum.Exposure, err = attributionChanged(ctx, db, false); err != nil {
		return fmt.Errorf("labels imported, but %w", err)
	}
	text := fmt.Sprintf("%d files, %d labels", len(files), labels)
	if e := sum.Exposure; e != nil {
		text += fmt.Sprintf("; exposure: rebuilt %v %s, incremental %v, %d exposed outputs, %s", e.Rebuilt, e.Reason, e.Incremental, e.Exposed, e.Elapsed.Round(time.Millisecond))
	}
	return printStage(s, db, stageResult{Stage: "import", Seconds: time.Since(start).Seconds(), Summary: sum}, text)
}

// benchScreen screens a sample of addresses spread evenly over the
// store's address ids (risk.SampleAddresses), one at a time, in passes:
// the first from this fresh process, the later ones warm.
func benchScreen(ctx context.Context, args []string) error {
	var n, passes int
	var noExplain bool
	s, db, err := benchFlags("screen", args, false, func(fs *flag.FlagSet) {
		fs.IntVar(&n, "n", 10_000, "addresses in the sample")
		fs.IntVar(&passes, "passes", 2, "passes over the sample (the first cold, the rest warm)")
		fs.BoolVar(&noExplain, "no-explain", false, "screen without explanations (merge paths, labels' sources)")
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if n < 1 || passes < 1 {
		return usagef("bench screen: --n and --passes must be positive")
	}
	start := time.Now()
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		return err
	}
	sc.Explain = !noExplain
	addrs, err := risk.SampleAddresses(db, n)
	if err != nil {
		return err
	}
	var out []risk.Latency
	for range passes {
		l, err := risk.MeasureScreens(ctx, sc, addrs, 10)
		if err != nil {
			return err
		}
		out = append(out, l)
	}
	text := ""
	for i, l := range out {
		text += fmt.Sprintf("\n  pass %d: %d addresses in %.2f s: p50 %s, p90 %s, p99 %s, max %s", i+1, l.N, l.Total.Seconds(),
			l.P50.Round(time.Microsecond), l.P90.Round(time.Microsecond), l.P99.Round(time.Microsecond), l.Max.Round(time.Microsecond))
	}
	return printStage(s, db, stageResult{Stage: "screen", Seconds: time.Since(start).Seconds(), Summary: out}, "passes:"+text)
}

// cpuProfileTo starts a CPU profile written to path (none when path is
// empty); stop ends it and closes the file.
func cpuProfileTo(path string) (stop func(), err error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}
