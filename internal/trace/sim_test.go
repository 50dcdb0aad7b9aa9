package trace

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim"
)

// simStore is a simulated chain ingested, clustered and labelled with its
// public TagPack, built once per test binary.
var simOnce struct {
	sync.Once
	out, dbDir string
	err        error
}

const simScale = 1

func simStore(t testing.TB) (*index.DB, string) {
	t.Helper()
	simOnce.Do(func() {
		ctx := context.Background()
		dir, err := os.MkdirTemp("", "sleuth-trace-sim")
		if err != nil {
			simOnce.err = err
			return
		}
		simOnce.out, simOnce.dbDir = filepath.Join(dir, "sim"), filepath.Join(dir, "db")
		if _, err := sim.Run(ctx, sim.Options{Out: simOnce.out, Seed: 1, Scale: simScale}); err != nil {
			simOnce.err = err
			return
		}
		db, err := index.Open(simOnce.dbDir, &index.Options{Network: btc.Mainnet, CacheSize: 16 << 20, MemTableSize: 4 << 20})
		if err != nil {
			simOnce.err = err
			return
		}
		defer db.Close()
		if _, err := db.Ingest(ctx, index.IngestOptions{BlocksDir: filepath.Join(simOnce.out, "blocks")}); err != nil {
			simOnce.err = err
			return
		}
		if _, err := cluster.Update(ctx, db, cluster.Options{}); err != nil {
			simOnce.err = err
			return
		}
		if _, err := label.ImportFile(ctx, db, filepath.Join(simOnce.out, "public", "tagpack.yaml"), label.ImportOptions{}); err != nil {
			simOnce.err = err
			return
		}
		simOnce.err = label.Refresh(ctx, db)
	})
	if simOnce.err != nil {
		t.Fatal(simOnce.err)
	}
	db, err := index.Open(simOnce.dbDir, &index.Options{Network: btc.Mainnet, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db, simOnce.out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if simOnce.out != "" {
		os.RemoveAll(filepath.Dir(simOnce.out))
	}
	os.Exit(code)
}

// TestSimConservation traces each case under each policy and checks that
// every tainted sat is accounted for, and that results are deterministic.
func TestSimConservation(t *testing.T) {
	db, out := simStore(t)
	truth, err := LoadTruth(filepath.Join(out, "truth"))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := label.Services(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(svc) == 0 {
		t.Fatal("no services labelled")
	}
	for _, c := range truth.Cases {
		var src []Taint
		var want int64
		for _, s := range c.Sources {
			num, err := db.TxNum(s.TxID)
			if err != nil {
				t.Fatal(err)
			}
			src = append(src, Taint{Out: btc.MakeOutRef(num, s.Vout), Sats: btc.Amount(s.Tainted)})
			want += s.Tainted
		}
		for _, p := range Policies {
			r, err := Trace(context.Background(), db, src, Options{Policy: p, Stop: StopAt(svc)})
			if err != nil {
				t.Fatalf("%s/%s: %v", c.Case, p, err)
			}
			if r.Totals.Source != want || r.Totals.Source != c.Origin {
				t.Errorf("%s/%s: source %d, want %d (key's origin %d)", c.Case, p, r.Totals.Source, want, c.Origin)
			}
			if p.Conserving() && r.Totals.Accounted() != r.Totals.Source {
				t.Errorf("%s/%s: accounted %d != source %d: %+v", c.Case, p, r.Totals.Accounted(), r.Totals.Source, r.Totals)
			}
			var cashed int64
			for _, e := range r.Entities {
				cashed += e.CashedOut
				if e.CashedOut > 0 && !e.CashOut {
					t.Errorf("%s/%s: entity %d cashed out but is no cash-out point", c.Case, p, e.ID)
				}
				for _, path := range e.Paths {
					if len(path.TxIDs) < 2 {
						t.Errorf("%s/%s: entity %d: path %v shorter than source → spend", c.Case, p, e.ID, path.TxIDs)
					}
				}
			}
			if cashed != r.Totals.CashedOut {
				t.Errorf("%s/%s: entities cashed out %d, totals %d", c.Case, p, cashed, r.Totals.CashedOut)
			}
			t.Logf("%s/%-7s source %d cashed %.3f held %.3f fee %d lost %d entities %d txs %d coinjoins %d peel chains %d",
				c.Case, p, r.Totals.Source, share(r.Totals.CashedOut, r.Totals.Source), share(r.Totals.Held, r.Totals.Source),
				r.Totals.Fee, r.Totals.Lost(), len(r.Entities), r.TxsRead, len(r.CoinJoins), len(r.PeelChains))
		}
	}
}

// TestSimEvaluate scores every policy against the answer key, with the
// labels an investigator has and with the simulator's own stop rule.
func TestSimEvaluate(t *testing.T) {
	db, out := simStore(t)
	truth, err := LoadTruth(filepath.Join(out, "truth"))
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []StopMode{StopOracle, StopLabels} {
		scores, err := Evaluate(context.Background(), db, truth, Policies, mode, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range scores {
			t.Logf("%-6s %-10s %-7s recall %.4f false %.4f over %.4f (attributed %d of truth %d) txs %d %.3fs",
				s.Stop, s.Case, s.Policy, s.Recall, s.FalseShare, share(s.OverAttributed, s.Source), s.Attributed, s.TruthReceived, s.TxsRead, s.Seconds)
			if mode == StopOracle && s.Policy == "fifo" && s.Recall < 0.80 {
				t.Errorf("%s/%s: oracle FIFO recall %.3f < 0.80", s.Case, s.Policy, s.Recall)
			}
		}
	}
}

// TestLargeEvaluate scores a prepared store: TRACE_EVAL_DB (a copy of an
// ingested, clustered, labelled store) and TRACE_EVAL_TRUTH (its truth/).
func TestLargeEvaluate(t *testing.T) {
	dir, tdir := os.Getenv("TRACE_EVAL_DB"), os.Getenv("TRACE_EVAL_TRUTH")
	if dir == "" || tdir == "" {
		t.Skip("TRACE_EVAL_DB and TRACE_EVAL_TRUTH not set")
	}
	db, err := index.Open(dir, &index.Options{Network: btc.Mainnet, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	truth, err := LoadTruth(tdir)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []StopMode{StopOracle, StopLabels} {
		scores, err := Evaluate(context.Background(), db, truth, []Policy{FIFO, Haircut, LIFO, TIHO}, mode, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range scores {
			t.Logf("%-6s %-10s %-7s recall %.4f false %.4f over %.4f held %.4f lost %.4f txs %d %.3fs",
				s.Stop, s.Case, s.Policy, s.Recall, s.FalseShare, share(s.OverAttributed, s.Source),
				share(s.Held, s.Source), share(s.Lost, s.Source), s.TxsRead, s.Seconds)
		}
	}
}
