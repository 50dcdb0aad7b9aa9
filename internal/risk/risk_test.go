package risk

import (
	"context"
	"errors"
	"fmt"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

func hasRow(r *Report, cat, dir string) *Row {
	for i := range r.Exposure {
		if x := &r.Exposure[i]; x.Category == cat && x.Direction == dir && x.Sats > 0 {
			return x
		}
	}
	return nil
}

// TestSimExposure: on a simulated chain, the ransomware victims (the ransom
// addresses' direct payers) have sent ransomware exposure, the swap
// service's deposits paid from the ransomware entity's funds have received
// ransomware exposure, and an address the chain never saw screens Low.
func TestSimExposure(t *testing.T) {
	w := newWorld(t, 1, 0.3)
	ctx := context.Background()
	t.Logf("update: %+v", w.sum)
	s, err := NewScreener(w.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	truth := filepath.Join(w.out, "truth")

	// Victims paid ransom: direct sent exposure, hops 1, explained by the
	// ransom label.
	victims := simtest.ReadCSV(t, filepath.Join(truth, "ransom_victims.csv"))
	if len(victims) == 0 {
		t.Fatal("no ransom victims in the simulated chain")
	}
	payers := 0
	for _, v := range victims {
		h, err := btc.ParseHash(v["txid"])
		if err != nil {
			t.Fatal(err)
		}
		tv, err := w.db.Tx(h)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range tv.Inputs {
			if in.Address == nil {
				continue
			}
			r, err := s.Screen(ctx, *in.Address)
			if err != nil {
				t.Fatal(err)
			}
			row := hasRow(r, "ransomware", "sent")
			if row == nil || row.Kind != "direct" || row.MinHops != 1 {
				t.Fatalf("victim %s: no direct sent ransomware exposure: %+v", *in.Address, r.Exposure)
			}
			if row.Explanation == nil || row.Explanation.Concept != "ransomware" || row.Explanation.TxID == "" {
				t.Fatalf("victim %s: explanation %+v", *in.Address, row.Explanation)
			}
			if r.Risk < Medium {
				t.Fatalf("victim %s: risk %s", *in.Address, r.Risk)
			}
			payers++
		}
	}

	// Swap deposits paid by the ransomware operator's entity.
	ransomEnt := map[string]bool{}
	for _, a := range simtest.ReadCSV(t, filepath.Join(truth, "addresses.csv")) {
		if a["entity_type"] == "ransomware" || slices.Contains([]string{victims[0]["ransom_address"]}, a["address"]) {
			ransomEnt[a["entity_id"]] = true
		}
	}
	deposits, exposed := 0, 0
	var hops []int
	for _, sw := range simtest.ReadCSV(t, filepath.Join(truth, "swaps.csv")) {
		if !ransomEnt[sw["payer_entity"]] {
			continue
		}
		deposits++
		h, _ := btc.ParseHash(sw["txid"])
		r, err := s.Tx(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if row := hasRow(r, "ransomware", "output"); row != nil {
			exposed++
			hops = append(hops, row.MinHops)
		}
	}
	if deposits == 0 || exposed == 0 {
		t.Fatalf("%d swap deposits from the ransomware entity, %d with ransomware exposure", deposits, exposed)
	}
	t.Logf("%d victim payers; %d/%d ransomware swap deposits exposed, hops %v", payers, exposed, deposits, hops)

	// A fresh address: not seen, no level, nothing.
	r, err := s.Screen(ctx, "1BoatSLRHtKNngkdXEeobR76b53LETtpyT")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != NotSeen || r.RiskJSON != nil || len(r.Exposure) != 0 || !strings.Contains(r.Reason, "tip height") {
		t.Fatalf("fresh address: %+v", r)
	}
	// A labelled ransom address itself is at least High.
	if r, err = s.Screen(ctx, victims[0]["ransom_address"]); err != nil || r.Risk < High {
		t.Fatalf("ransom address: %+v, %v", r, err)
	}
}

// TestVectors checks every stored vector and aggregate: shares in (0, 1],
// hops in 1..MaxHops+1, categories known, sources labelled addresses.
func TestVectors(t *testing.T) {
	w := newWorld(t, 2, 0.2)
	ctx := context.Background()
	n, direct := 0, 0
	err := w.db.StageScan(ctx, []byte{pVector}, []byte{pVector + 1}, func(k, v []byte) (bool, error) {
		vec, err := decodeVector(v)
		if err != nil {
			return false, err
		}
		for _, x := range vec {
			if x.Share == 0 || x.Share > one || x.Hops < 1 || int(x.Hops) > 5 {
				return false, fmt.Errorf("output %x: entry %+v", k[1:], x)
			}
			if x.Hops == 1 {
				direct++
			}
		}
		n++
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	aggs := 0
	err = w.db.StageScan(ctx, []byte{pAgg}, []byte{pAgg + 1}, func(k, v []byte) (bool, error) {
		a, err := decodeAggregate(v)
		if err != nil {
			return false, err
		}
		id := btc.AddrID(be64(k[1:]))
		tot, err := w.db.AddrTotals(id)
		if err != nil {
			return false, err
		}
		var recv [nCategories]uint64
		for _, f := range a {
			if f.Sats == 0 || f.MinHops < 1 || f.Best > f.Sats || f.BestHops < f.MinHops || !f.Indirect && f.MinHops != 1 {
				return false, fmt.Errorf("address %d: flow %+v", id, f)
			}
			if f.Dir == Received {
				recv[f.Cat] += f.Sats
			} else if f.Sats > tot.Sent {
				return false, fmt.Errorf("address %d sent %d to %s of %d", id, f.Sats, f.Cat, tot.Sent)
			}
		}
		for c, x := range recv {
			if x > tot.Received {
				return false, fmt.Errorf("address %d received %d from %s of %d", id, x, Category(c), tot.Received)
			}
		}
		aggs++
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n == 0 || direct == 0 || aggs == 0 {
		t.Fatalf("%d exposed outputs (%d direct), %d aggregates", n, direct, aggs)
	}
	t.Logf("%d exposed outputs (%d with direct exposure), %d address aggregates", n, direct, aggs)
}

func be64(b []byte) uint64 {
	var x uint64
	for _, c := range b[:8] {
		x = x<<8 | uint64(c)
	}
	return x
}

// TestIncrementalEqualsFresh ingests a simulated chain in pieces (with its
// out-of-order and stale blocks), updating clusters, labels and exposure
// after each, and checks that the exposure keyspaces equal those of one
// run over the whole chain (R1). The incremental store commits every stage
// batch through Pebble's batches, the fresh one every batch it can as
// ingested tables (index.Options.StageTableBytes: the clustering's and the
// labels'; exposure's batch at the tip carries the undo log's range
// deletion, which keeps it on the batch path, so TestRebuildInBatches
// covers exposure's tables).
func TestIncrementalEqualsFresh(t *testing.T) {
	out := simtest.Chain(t, 3, 0.2)
	blocks := simtest.Blocks(t, out)
	dir := t.TempDir()
	inc := indextest.OpenWith(t, t.TempDir(), func(o *index.Options) { o.StageTableBytes = -1 })
	steps := 6
	rebuilt := 0
	for i := 0; i < steps; i++ {
		lo, hi := len(blocks)*i/steps, len(blocks)*(i+1)/steps
		var recs [][]byte
		for _, b := range blocks[lo:hi] {
			recs = append(recs, b.Record)
		}
		simtest.AppendRecords(t, dir, recs...)
		indextest.Ingest(t, inc, index.IngestOptions{BlocksDir: dir})
		prepare(t, inc, out)
		sum, err := Update(context.Background(), inc, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rebuilt {
			rebuilt++
		}
		t.Logf("step %d: %d blocks, rebuilt %v (%s), rolled back %d, %s", i, sum.Blocks, sum.Rebuilt, sum.Reason, sum.RolledBack, sum.Elapsed)
	}
	// One more Update with nothing new changes nothing.
	before := riskDigest(t, inc)
	if sum, err := Update(context.Background(), inc, Options{}); err != nil || sum.Rebuilt || sum.Blocks != 0 {
		t.Fatalf("idle update: %+v, %v", sum, err)
	}
	if riskDigest(t, inc) != before {
		t.Fatal("an idle update changed the exposure")
	}
	fresh := indextest.OpenWith(t, t.TempDir(), func(o *index.Options) { o.StageTableBytes = 1 })
	indextest.Ingest(t, fresh, index.IngestOptions{BlocksDir: dir})
	prepare(t, fresh, out)
	if _, err := Update(context.Background(), fresh, Options{}); err != nil {
		t.Fatal(err)
	}
	if riskDigest(t, inc) != riskDigest(t, fresh) {
		t.Fatal("incremental exposure differs from a fresh one")
	}
	t.Logf("%d of %d steps rebuilt", rebuilt, steps)
}

// TestRules: default levels and a rules file.
func TestRules(t *testing.T) {
	d := DefaultRules()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		rows []Row
		want Level
	}{
		{nil, Low},
		{[]Row{{Category: "exchange", Direction: "received", Kind: "direct", Sats: 100, Share: 1}}, Low},
		{[]Row{{Category: "sanction", Direction: "received", Kind: "direct", Sats: 1, Share: 0.00001}}, Severe},
		{[]Row{{Category: "sanction", Direction: "received", Kind: "indirect", Sats: 1, Share: 0.001}}, High},
		{[]Row{{Category: "sanction", Direction: "received", Kind: "indirect", Sats: 1, Share: 0.02}}, Severe},
		{[]Row{{Category: "ransomware", Direction: "sent", Kind: "direct", Sats: 5, Share: 0.5}}, High},
		{[]Row{{Category: "ransomware", Direction: "sent", Kind: "direct", Sats: 5, Share: 0.001}}, Medium},
		{[]Row{{Category: "mixer", Direction: "received", Kind: "indirect", Sats: 5, Share: 0.2}}, Medium},
		{[]Row{{Category: "mixer", Direction: "received", Kind: "indirect", Sats: 5, Share: 0.05}}, Low},
		{[]Row{{Category: "sanction", Direction: "self", Kind: "direct", Share: 1}}, Severe},
	}
	for i, c := range cases {
		if got, why := d.Assess(c.rows); got != c.want {
			t.Errorf("#%d: %s (%v), want %s", i, got, why, c.want)
		}
	}
	p := filepath.Join(t.TempDir(), "rules.json")
	os.WriteFile(p, []byte(`{"rules":[{"level":"severe","categories":["mixer"],"min_share":0.05}]}`), 0o644)
	r, err := LoadRules(p)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Assess(cases[8].rows); got != Severe {
		t.Fatalf("rules file: %s", got)
	}
	os.WriteFile(p, []byte(`{"rules":[{"level":"severe","categories":["casino"]}]}`), 0o644)
	if _, err := LoadRules(p); err == nil || !strings.Contains(err.Error(), "casino") {
		t.Fatalf("bad category: %v", err)
	}
}

// TestScreenLatency screens 10,000 indexed addresses one by one and prints
// the latency percentiles (not asserted: machines differ).
func TestScreenLatency(t *testing.T) {
	w := newWorld(t, 1, 0.3)
	s, err := NewScreener(w.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	addrs := sampleAddrs(t, w.db, 10_000)
	lat := make([]time.Duration, 0, len(addrs))
	start := time.Now()
	levels := map[Level]int{}
	for _, a := range addrs {
		t0 := time.Now()
		r, err := s.Screen(context.Background(), a)
		if err != nil {
			t.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
		levels[r.Risk]++
	}
	total := time.Since(start)
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	pct := func(p float64) time.Duration { return lat[int(p*float64(len(lat)-1))] }
	t.Logf("screened %d addresses in %s: p50 %s p90 %s p99 %s max %s; levels %v", len(addrs), total, pct(0.5), pct(0.9), pct(0.99), lat[len(lat)-1], levels)
}

// sampleAddrs returns up to n indexed addresses spread over the id range.
func sampleAddrs(t testing.TB, db *index.DB, n int) []string {
	t.Helper()
	out, err := SampleAddresses(db, n)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// BenchmarkScreen measures one address's screening.
func BenchmarkScreen(b *testing.B) {
	w := newWorld(b, 1, 0.2)
	s, err := NewScreener(w.db, nil)
	if err != nil {
		b.Fatal(err)
	}
	addrs := sampleAddrs(b, w.db, 10_000)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, err := s.Screen(context.Background(), addrs[i%len(addrs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// TestRealOFAC: in the real 2018 and 2019 blocks, the counterparties of
// OFAC-listed addresses get sanction exposure: the recipients of
// 343w3Xh6…'s spends received it, the payer of 1NpHuti9… sent it.
func TestRealOFAC(t *testing.T) {
	ctx := context.Background()
	db, sum := realOFACStore(t)
	s, err := NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, listed := range []string{"343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb", "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"} {
		r, err := s.Screen(ctx, listed)
		if err != nil {
			t.Fatal(err)
		}
		if r.Risk != Severe {
			t.Fatalf("%s itself: %s %+v", listed, r.Risk, r.Exposure)
		}
	}
	// Every address with a stored aggregate: sanction exposure.
	var got []string
	err = db.StageScan(ctx, []byte{pAgg}, []byte{pAgg + 1}, func(k, _ []byte) (bool, error) {
		a, _, err := db.AddrString(btc.AddrID(be64(k[1:])))
		if err != nil {
			return false, err
		}
		r, err := s.Screen(ctx, a)
		if err != nil {
			return false, err
		}
		for _, row := range r.Exposure {
			if row.Category == "sanction" && row.Direction != "self" {
				got = append(got, fmt.Sprintf("%s %s %s %d %s", a, row.Direction, row.Kind, row.Sats, r.Risk))
			}
		}
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("update %+v; sanction exposure:\n%s", sum, strings.Join(got, "\n"))
	var recv, sent int
	for _, g := range got {
		if strings.Contains(g, " received direct ") {
			recv++
		}
		if strings.Contains(g, " sent direct ") {
			sent++
		}
	}
	if recv == 0 || sent == 0 {
		t.Fatalf("want received (from 343w3Xh6…) and sent (to 1NpHuti9…) sanction exposure: %v", got)
	}
}

// realOFACStore indexes the real 2018 and 2019 blocks, imports every
// dated OFAC XBT list and computes exposure (skipping without the data).
func realOFACStore(t *testing.T) (*index.DB, Summary) {
	t.Helper()
	var raws []string
	for _, f := range []string{"btc-blocks/block-540107.raw", "btc-blocks/block-574200.raw"} {
		p := filepath.Join(sharedData, f)
		if _, err := os.Stat(p); err != nil {
			t.Skipf("real data %s not found: %v", p, err)
		}
		raws = append(raws, p)
	}
	files, _ := filepath.Glob(filepath.Join(sharedData, "ofac", "xbt_history", "*.txt"))
	if len(files) == 0 {
		t.Skip("no OFAC lists")
	}
	ctx := context.Background()
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{RawBlocks: raws})
	for _, f := range files {
		if _, err := label.ImportFile(ctx, db, f, label.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Update(ctx, db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db, sum
}

// TestScreenLatencyDB screens 10,000 addresses of the store at
// $SLEUTH_RISK_DB (exposure computed) and prints latency percentiles.
func TestScreenLatencyDB(t *testing.T) {
	dir := os.Getenv("SLEUTH_RISK_DB")
	if dir == "" {
		t.Skip("set SLEUTH_RISK_DB to a store with exposure computed")
	}
	passes := 2 // the first from a fresh process (Pebble's cache empty), then warm
	if v := os.Getenv("SLEUTH_RISK_PASSES"); v != "" {
		var err error
		if passes, err = strconv.Atoi(v); err != nil || passes < 1 {
			t.Fatalf("SLEUTH_RISK_PASSES=%q: want a positive integer", v)
		}
	}
	db := indextest.Open(t, dir)
	s, err := NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	s.Explain = os.Getenv("SLEUTH_RISK_EXPLAIN") != "0"
	addrs := sampleAddrs(t, db, 10_000)
	for p := range passes {
		l, err := MeasureScreens(context.Background(), s, addrs, 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("pass %d: screened %d addresses in %s: p50 %s p90 %s p99 %s max %s", p+1, l.N, l.Total, l.P50, l.P90, l.P99, l.Max)
		for _, x := range l.Slowest {
			t.Logf("  %s %s entity %d, %d rows, %d fired, %s", x.Elapsed, x.Address, x.Entity, x.Rows, x.Fired, x.Risk)
		}
	}
}

// TestDelistedFormerlyListed: an address a later complete publication no
// longer lists screens on what it did, not as Severe today, and its answer
// shows the listing with both dates; as of a date inside the listing it is
// Severe again.
func TestDelistedFormerlyListed(t *testing.T) {
	p := filepath.Join(sharedData, "btc-blocks/block-574200.raw")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not found: %v", p, err)
	}
	ctx := context.Background()
	db := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, db, index.IngestOptions{RawBlocks: []string{p}})
	const gone, kept = "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d", "343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb"
	dir := t.TempDir()
	for _, l := range []struct{ date, body string }{{"2022-11-10", gone + "\n" + kept + "\n"}, {"2023-05-01", kept + "\n"}} {
		f := filepath.Join(dir, "sanctioned_addresses_XBT_"+l.date+".txt")
		if err := os.WriteFile(f, []byte(l.body), 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := label.ImportFile(ctx, db, f, label.ImportOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Update(ctx, db, Options{}); err != nil {
		t.Fatal(err)
	}
	s, err := NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Screen(ctx, gone)
	if err != nil {
		t.Fatal(err)
	}
	if r.Risk == Severe || len(r.Former) != 1 || r.Former[0].ListedTo != "2023-05-01" ||
		r.Former[0].ListedFrom == nil || *r.Former[0].ListedFrom != "2022-11-10" {
		t.Fatalf("delisted address: %s, formerly %+v, rows %+v", r.Risk, r.Former, r.Exposure)
	}
	for _, row := range r.Exposure {
		if row.Category == "sanction" && row.Basis == BasisOwnLabel {
			t.Fatalf("delisted address still screened on its listing: %+v", row)
		}
	}
	if r, err = s.Screen(ctx, kept); err != nil || r.Risk != Severe || len(r.Former) != 0 {
		t.Fatalf("still listed: %s %+v, %v", r.Risk, r.Former, err)
	}
	if err := s.SetAsOf(ctx, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if r, err = s.Screen(ctx, gone); err != nil || r.Risk != Severe || len(r.Former) != 0 {
		t.Fatalf("as of 2023-01-01, inside the listing: %s %+v, %v", r.Risk, r.Former, err)
	}
}

// TestRebuildInBatches: a rebuild committed in many small batches, whose
// later batches need earlier batches' vectors and aggregates, answers
// from what it kept in memory (engine.kept and keptAggs: the vectors and
// aggregates of recent batches) and from the bits of what it wrote (engine.storedTx:
// "none") exactly as the store reads these replace do, and all equal a
// rebuild in one batch. The small batches are committed as ingested tables
// (index.Options.StageTableBytes), the single one through a Pebble batch.
func TestRebuildInBatches(t *testing.T) {
	out := simtest.Chain(t, 3, 0.2)
	w := newWorldWith(t, out, filepath.Join(out, "public", "tagpack.yaml"), func(o *index.Options) { o.StageTableBytes = 1 << 10 })
	ctx := context.Background()
	rebuild := func(batch int, shortcuts bool, kept int, deferred bool) [32]byte {
		t.Helper()
		noShortcuts, keptVectors, keptAggregates, deferAggregates = !shortcuts, kept, kept, deferred
		defer func() { noShortcuts, keptVectors, keptAggregates, deferAggregates = false, 8<<20, 2<<20, true }()
		sum, err := Update(ctx, w.db, Options{Rebuild: true, BatchBytes: batch})
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Rebuilt || sum.Addresses == 0 {
			t.Fatalf("not a rebuild with aggregates: %+v", sum)
		}
		if wantRuns := deferred && batch > 0; (sum.AggRuns > 1) != wantRuns {
			t.Errorf("batch %d, deferred %v: %d aggregate runs", batch, deferred, sum.AggRuns)
		}
		return riskDigest(t, w.db)
	}
	// The reference: one batch, aggregates read, modified and written.
	one := rebuild(0, true, 8<<20, false)
	for _, c := range []struct {
		name      string
		batch     int
		shortcuts bool
		kept      int
		deferred  bool
	}{
		{"store reads only", 4 << 10, false, 8 << 20, false},
		{"bits, recent vectors and aggregates kept", 4 << 10, true, 8 << 20, false},
		{"bits, 64 vectors and aggregates kept", 4 << 10, true, 64, false},
		{"bits, none kept", 4 << 10, true, 0, false},
		{"aggregates deferred to sorted runs, one batch", 0, true, 8 << 20, true},
		{"aggregates deferred to sorted runs, 4 KiB batches", 4 << 10, true, 8 << 20, true},
		{"aggregates deferred, store reads only", 4 << 10, false, 0, true},
	} {
		if got := rebuild(c.batch, c.shortcuts, c.kept, c.deferred); got != one {
			t.Errorf("%s: the exposure differs from a rebuild in a single batch without deferral", c.name)
		}
	}
}

// TestDeferredAggregates interrupts a rebuild that defers its aggregates
// at each of its crash points (crashAt) and lets the next update finish
// it: the result equals an uninterrupted rebuild, and while runs are
// unmerged ReadStatus reports no exposure height. An attribution change
// while runs are unmerged recomputes from scratch.
func TestDeferredAggregates(t *testing.T) {
	out := simtest.Chain(t, 3, 0.2)
	w := newWorldWith(t, out, filepath.Join(out, "public", "tagpack.yaml"), func(o *index.Options) { o.StageTableBytes = 1 << 10 })
	ctx := context.Background()
	want := riskDigest(t, w.db)
	defer func() { crashAt = nil }()
	errCrash := errors.New("crash")
	for _, c := range []struct {
		point string
		run   uint32
	}{
		{"run ingested", 0}, {"run ingested", 2}, {"run counted", 0}, {"run counted", 2}, {"merged", 0},
	} {
		crashed := false
		crashAt = func(point string, run uint32) error {
			if point == c.point && (run == c.run || point == "merged") && !crashed {
				crashed = true
				return errCrash
			}
			return nil
		}
		if _, err := Update(ctx, w.db, Options{Rebuild: true, BatchBytes: 8 << 10}); !errors.Is(err, errCrash) {
			t.Fatalf("%s %d: the update did not stop there: %v", c.point, c.run, err)
		}
		if st, err := ReadStatus(w.db); err != nil || st.Height != -1 {
			t.Errorf("%s %d: status %+v (%v) while runs are unmerged, want height -1", c.point, c.run, st, err)
		}
		// A batch a block (the interrupted run's held several): a run it
		// ingested but did not count would not be overwritten whole.
		sum, err := Update(ctx, w.db, Options{BatchBytes: 1})
		if err != nil {
			t.Fatal(err)
		}
		if sum.Rebuilt {
			t.Errorf("%s %d: the interrupted run was not resumed: %+v", c.point, c.run, sum)
		}
		if got := riskDigest(t, w.db); got != want {
			t.Errorf("%s %d: the resumed run differs from an uninterrupted one", c.point, c.run)
		}
		if st, err := ReadStatus(w.db); err != nil || st.Height != w.sum.Height {
			t.Errorf("%s %d: status %+v (%v) after the merge, want height %d", c.point, c.run, st, err, w.sum.Height)
		}
	}

	// Runs unmerged, then a label: the next update starts from scratch.
	crashAt = func(point string, run uint32) error {
		if point == "run counted" && run == 2 {
			return errCrash
		}
		return nil
	}
	if _, err := Update(ctx, w.db, Options{Rebuild: true, BatchBytes: 4 << 10}); !errors.Is(err, errCrash) {
		t.Fatalf("the update did not stop: %v", err)
	}
	crashAt = nil
	if _, err := label.AddOwn(ctx, w.db, busyAddress(t, w.db, 3), false, label.Label{Label: "ransom wallet", Category: "perpetrator", Abuse: "ransomware", Source: "case 1", Confidence: 70}); err != nil {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, w.db); err != nil {
		t.Fatal(err)
	}
	sum, err := Update(ctx, w.db, Options{BatchBytes: 4 << 10})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Rebuilt || !strings.Contains(sum.Reason, "not merged yet") {
		t.Errorf("a label added while runs were unmerged: %+v, want a rebuild saying why", sum)
	}
	fresh := riskDigest(t, w.db)
	if _, err := Update(ctx, w.db, Options{Rebuild: true, BatchBytes: 4 << 10}); err != nil {
		t.Fatal(err)
	}
	if riskDigest(t, w.db) != fresh {
		t.Error("the rebuild after the label differs from a fresh one")
	}
}
