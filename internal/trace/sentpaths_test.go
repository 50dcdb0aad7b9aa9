package trace_test

import (
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/risk"
	"github.com/sleuth-forensics/sleuth/internal/trace"
)

// checkSent checks what holds for every sent path report of address id:
// conservation (a conserving policy accounts for every traced sat; what
// is traced is at most what the address sent; no row exceeds it), and
// every row is sent, has a kind matching its hops, an entity and a path.
func checkSent(t *testing.T, db *index.DB, id btc.AddrID, pr *risk.PathReport) {
	t.Helper()
	tot, err := db.AddrTotals(id)
	if err != nil {
		t.Fatal(err)
	}
	if pr.Direction != "sent" {
		t.Errorf("%s: direction %q", pr.Address, pr.Direction)
	}
	if pr.Policy != trace.Poison.String() && pr.Totals.Accounted() != pr.Traced {
		t.Errorf("%s %s: accounted %d != traced %d: %+v", pr.Address, pr.Policy, pr.Totals.Accounted(), pr.Traced, pr.Totals)
	}
	if pr.Traced < 0 || uint64(pr.Traced) > tot.Sent {
		t.Errorf("%s: traced %d, sent %d", pr.Address, pr.Traced, tot.Sent)
	}
	for _, x := range pr.Rows {
		if x.Direction != "sent" || x.Sats <= 0 || x.Sats > pr.Traced || uint64(x.Sats) > tot.Sent || x.Share > 1 ||
			x.Entities < 1 || x.EntitySats > x.Sats || x.MinHops < 1 || x.Hops < x.MinHops || len(x.Path) < 2 || x.Out == "" {
			t.Errorf("%s %s: bad row %+v (traced %d, sent %d)", pr.Address, pr.Policy, x, pr.Traced, tot.Sent)
		}
		if want := map[bool]string{true: "direct", false: "indirect"}[x.MinHops == 1]; x.Kind != want {
			t.Errorf("%s: row %s kind %q, min hops %d", pr.Address, x.Category, x.Kind, x.MinHops)
		}
	}
}

func rowOf(pr *risk.PathReport, cat string) *risk.PathRow {
	for i := range pr.Rows {
		if pr.Rows[i].Category == cat {
			return &pr.Rows[i]
		}
	}
	return nil
}

// TestSentExposurePaths explains sent exposure (risk.Screener.SentPaths)
// on a simulated chain: the address that paid a ransom shows ransomware at
// hop 1 (direct), and an address that paid such a victim (the exchange
// withdrawal funding the ransom) shows it indirectly, at hop 2 or more.
func TestSentExposurePaths(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a simulated store")
	}
	ctx := context.Background()
	db, out := pipelineStore(t)
	sc, err := risk.NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(filepath.Join(out, "truth", "ransom_victims.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 {
		t.Fatal("no ransom victims")
	}
	// The payer addresses of the first victims' ransom payments
	// (entity_id, txid, height, ransom_address, value).
	const victims = 3
	var tx coinjoin.Tx
	direct, indirect := 0, 0
	for _, r := range rows[1:min(len(rows), victims+1)] {
		h, err := btc.ParseHash(r[1])
		if err != nil {
			t.Fatal(err)
		}
		num, err := db.TxNum(h)
		if err != nil {
			t.Fatal(err)
		}
		if err := db.ReadTx(num, &tx); err != nil {
			t.Fatal(err)
		}
		payer := tx.Ins[0].Addr
		var funding []btc.TxNum // the transactions that paid the payer
		for _, in := range tx.Ins {
			if in.Addr == payer {
				funding = append(funding, in.Prev.Tx())
			}
		}
		addr, _, err := db.AddrString(payer)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []trace.Policy{trace.Haircut, trace.FIFO} {
			pr, err := sc.SentPaths(ctx, addr, trace.Options{Policy: p})
			if err != nil {
				t.Fatal(err)
			}
			checkSent(t, db, payer, pr)
			rw := rowOf(pr, "ransomware")
			if p == trace.Haircut {
				// Haircut gives every output of the payment its share of
				// the payer's inputs: the ransom output gets some.
				if rw == nil || rw.MinHops != 1 || rw.Kind != "direct" || rw.Explanation == nil {
					t.Fatalf("%s (victim tx %s): ransomware sent row %+v; rows %+v", addr, r[1], rw, pr.Rows)
				}
				if rw.Path[len(rw.Path)-1] != r[1] && rw.Hops == 1 {
					t.Errorf("%s: hop-1 path %v does not end at the ransom payment %s", addr, rw.Path, r[1])
				}
				direct++
			}
			if rw != nil {
				t.Logf("%s %s: ransomware %d sats (%.3f of %d sent) to %d entities, best %d %q, hops %d (min %d, %s), path %v; %d txs %.3fs",
					p, addr, rw.Sats, rw.Share, pr.Traced, rw.Entities, rw.Entity, rw.Explanation.Label, rw.Hops, rw.MinHops, rw.Kind, rw.Path, pr.TxsRead, pr.Elapsed)
			}
		}
		// One step up: an address of another entity that paid the payer
		// (typically an exchange's withdrawal) reaches the ransom through
		// the victim: indirect.
		payerEnt, err := cluster.EntityOf(db, payer)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range funding {
			var ftx coinjoin.Tx
			if err := db.ReadTx(n, &ftx); err != nil {
				t.Fatal(err)
			}
			if len(ftx.Ins) == 0 || ftx.Ins[0].Addr == btc.NoAddr {
				continue
			}
			up := ftx.Ins[0].Addr
			if e, err := cluster.EntityOf(db, up); err != nil || e == payerEnt {
				continue
			}
			ua, _, err := db.AddrString(up)
			if err != nil {
				t.Fatal(err)
			}
			pr, err := sc.SentPaths(ctx, ua, trace.Options{Policy: trace.Haircut, MaxHops: 4})
			if err != nil {
				t.Fatal(err)
			}
			checkSent(t, db, up, pr)
			if rw := rowOf(pr, "ransomware"); rw != nil {
				if rw.Hops < 2 && rw.MinHops < 2 {
					t.Logf("%s: ransomware also direct (hop %d)", ua, rw.Hops)
				} else {
					indirect++
				}
				t.Logf("upstream %s: ransomware %d sats (%.4f of %d sent), %d entities, hops %d (min %d, %s), path %v; %d txs %.3fs",
					ua, rw.Sats, rw.Share, pr.Traced, rw.Entities, rw.Hops, rw.MinHops, rw.Kind, rw.Path, pr.TxsRead, pr.Elapsed)
			}
			break
		}
	}
	t.Logf("%d payers with direct ransomware exposure, %d upstream addresses with indirect", direct, indirect)
	if indirect == 0 {
		// Seed 1 has them (every upstream address of the first victims).
		t.Error("no upstream address reached the ransom indirectly")
	}
}
