package trace

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

type taintRow struct {
	role, entType string
	txid          btc.Hash
	vout          uint32
	value, taint  int64
}

func theftRows(t *testing.T, out string) []taintRow {
	t.Helper()
	var rows []taintRow
	err := eachRow(filepath.Join(out, "truth", "taint.csv"), []string{"case", "role", "txid", "vout", "entity_type", "value", "tainted"}, func(f []string) error {
		if f[0] != "theft" {
			return nil
		}
		h, err := btc.ParseHash(f[2])
		if err != nil {
			return err
		}
		v, _ := strconv.ParseUint(f[3], 10, 32)
		val, _ := strconv.ParseInt(f[5], 10, 64)
		tn, _ := strconv.ParseInt(f[6], 10, 64)
		rows = append(rows, taintRow{role: f[1], entType: f[4], txid: h, vout: uint32(v), value: val, taint: tn})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func ref(t *testing.T, db *index.DB, r taintRow) btc.OutRef {
	t.Helper()
	n, err := db.TxNum(r.txid)
	if err != nil {
		t.Fatal(err)
	}
	return btc.MakeOutRef(n, r.vout)
}

// TestSimBackward traces backward from exchange deposits that received
// stolen coins: the victim exchange's labelled hot wallet (the entity of
// the theft's inputs) must be where most of the value came from, and
// every policy must account for every sat.
func TestSimBackward(t *testing.T) {
	db, out := simStore(t)
	ctx := context.Background()
	svc, err := label.Services(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	rows := theftRows(t, out)
	// The victim: the entity holding most stolen sats.
	victimSats := map[uint64]int64{}
	var tx coinjoin.Tx
	for _, r := range rows {
		if r.role != "stolen" {
			continue
		}
		o := ref(t, db, r)
		if err := db.ReadTx(o.Tx(), &tx); err != nil {
			t.Fatal(err)
		}
		e, err := cluster.EntityOf(db, tx.Outs[o.Vout()].Addr)
		if err != nil {
			t.Fatal(err)
		}
		victimSats[e] += r.taint
	}
	var victim uint64
	for e, s := range victimSats {
		if s > victimSats[victim] {
			victim = e
		}
	}
	if _, ok := svc[victim]; !ok {
		t.Fatalf("victim entity %d is not a labelled service", victim)
	}
	var deposits []taintRow
	for _, r := range rows {
		if r.role == "received" && r.entType == "exchange" && r.taint == r.value {
			deposits = append(deposits, r)
		}
	}
	if len(deposits) == 0 {
		t.Fatal("no fully tainted exchange deposit in the key")
	}
	sort.Slice(deposits, func(i, j int) bool { return deposits[i].value > deposits[j].value })
	deposits = deposits[:min(len(deposits), 5)]
	for k, d := range deposits {
		src := []Taint{{Out: ref(t, db, d), Sats: btc.Amount(d.value)}}
		for _, p := range Policies {
			r, err := Trace(ctx, db, src, Options{Policy: p, Direction: Backward, Stop: StopAt(svc)})
			if err != nil {
				t.Fatalf("deposit %d/%s: %v", k, p, err)
			}
			if r.Direction != "backward" || r.Totals.Source != d.value {
				t.Fatalf("deposit %d/%s: direction %s source %d, want %d", k, p, r.Direction, r.Totals.Source, d.value)
			}
			if p.Conserving() && r.Totals.Accounted() != r.Totals.Source {
				t.Errorf("deposit %d/%s: accounted %d != source %d: %+v", k, p, r.Totals.Accounted(), r.Totals.Source, r.Totals)
			}
			var fromVictim, cashed int64
			for _, e := range r.Entities {
				cashed += e.CashedOut
				if e.ID == victim {
					fromVictim = e.CashedOut
					if !e.CashOut || len(e.Paths) == 0 || len(e.Paths[0].TxIDs) < 2 {
						t.Errorf("deposit %d/%s: victim entity: cash-out %v paths %v", k, p, e.CashOut, e.Paths)
					}
				}
			}
			if cashed != r.Totals.CashedOut {
				t.Errorf("deposit %d/%s: entities %d, totals %d from labelled sources", k, p, cashed, r.Totals.CashedOut)
			}
			t.Logf("deposit %d %-7s %d sats: from victim %.4f, from labelled %.4f, mined %d unknown %d lost %d coinjoin %d, %d entities, %d txs, %.3fs",
				k, p, d.value, share(fromVictim, d.value), share(r.Totals.CashedOut, d.value), r.Totals.Mined, r.Totals.Unknown,
				r.Totals.Lost(), r.Totals.CoinJoin, len(r.Entities), r.TxsRead, r.Elapsed)
			if p != Poison && share(fromVictim, d.value) < 0.5 {
				t.Errorf("deposit %d/%s: only %.3f from the victim exchange", k, p, share(fromVictim, d.value))
			}
		}
	}
}

// TestSimBackwardCoinJoins traces backward from CoinJoin outputs and from
// the later transactions of the chain with no stops (down to coinbases):
// every policy accounts for every sat, each transaction is read once, and
// CoinJoins are split.
func TestSimBackwardCoinJoins(t *testing.T) {
	db, out := simStore(t)
	ctx := context.Background()
	var cjs []btc.Hash
	// The key also lists PayJoins and collaborative batches, which are
	// not mixes and are traced as ordinary transactions.
	err := eachRow(filepath.Join(out, "truth", "coinjoins.csv"), []string{"txid", "kind"}, func(f []string) error {
		if !strings.HasPrefix(f[1], "coinjoin_") {
			return nil
		}
		h, err := btc.ParseHash(f[0])
		cjs = append(cjs, h)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(cjs) == 0 {
		t.Skip("no CoinJoins in the simulated chain")
	}
	var srcs [][]Taint
	for i := 0; i < len(cjs) && len(srcs) < 4; i += max(1, len(cjs)/4) {
		s, err := FromTx(db, cjs[i])
		if err != nil {
			t.Fatal(err)
		}
		srcs = append(srcs, s)
	}
	svc, err := label.Services(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, src := range srcs {
		for _, stop := range []bool{false, true} {
			for _, p := range Policies {
				o := Options{Policy: p, Direction: Backward, MaxHops: 200, MinSats: 1}
				if stop {
					o.Stop = StopAt(svc)
				}
				r, err := Trace(ctx, db, src, o)
				if err != nil {
					t.Fatal(err)
				}
				if p.Conserving() && r.Totals.Accounted() != r.Totals.Source {
					t.Errorf("cj %d stop %v %s: accounted %d != source %d: %+v", k, stop, p, r.Totals.Accounted(), r.Totals.Source, r.Totals)
				}
				if p.Conserving() && r.Totals.Unknown != 0 {
					t.Errorf("cj %d stop %v %s: %d unknown on a chain whose inputs are all indexed", k, stop, p, r.Totals.Unknown)
				}
				if len(r.CoinJoins) == 0 {
					t.Errorf("cj %d stop %v %s: the source CoinJoin is not listed", k, stop, p)
				}
				var cert, unc int64
				for _, c := range r.CoinJoins {
					cert += c.Certain
					unc += c.Uncertain
				}
				t.Logf("cj %d stop %-5v %-7s source %d labelled %.3f mined %.3f unknown %d lost %.3f coinjoin-uncertain %.3f (cj certain %d uncertain %d, %d cjs) entities %d txs %d %.3fs",
					k, stop, p, r.Totals.Source, share(r.Totals.CashedOut, r.Totals.Source), share(r.Totals.Mined, r.Totals.Source),
					r.Totals.Unknown, share(r.Totals.Lost(), r.Totals.Source), share(r.Totals.CoinJoin, r.Totals.Source),
					cert, unc, len(r.CoinJoins), len(r.Entities), r.TxsRead, r.Elapsed)
			}
		}
	}
}
