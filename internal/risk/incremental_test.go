package risk

import (
	"context"
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
	"github.com/sleuth-forensics/sleuth/internal/tagpack"
)

// updateIncrementally refreshes the labels' entity index, runs Update and
// requires it to have gone incrementally; then it rebuilds from scratch
// and requires the same exposure keyspaces (R1). It returns the summary
// and the digest.
func updateIncrementally(t *testing.T, db *index.DB, what string) (Summary, [32]byte) {
	t.Helper()
	ctx := context.Background()
	if err := label.Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	before := aggregates(t, db)
	sum, err := Update(ctx, db, Options{ListChanged: true})
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if sum.Rebuilt || !sum.Incremental {
		t.Fatalf("%s: not incremental: %+v", what, sum)
	}
	// The addresses it reports are those whose aggregate changed.
	var changed []string
	for k, v := range aggregates(t, db) {
		if w, ok := before[k]; !ok || w != v {
			changed = append(changed, k)
		}
		delete(before, k)
	}
	for k := range before {
		changed = append(changed, k)
	}
	slices.Sort(changed)
	if sum.ChangedTotal != len(changed) || len(sum.ChangedAddresses) != min(len(changed), MaxChangedAddresses) {
		t.Fatalf("%s: %d aggregates changed, the update reports %d (%d listed)", what, len(changed), sum.ChangedTotal, len(sum.ChangedAddresses))
	}
	for i, s := range sum.ChangedAddresses {
		id := btc.AddrID(binary.BigEndian.Uint64([]byte(changed[i])[1:]))
		if want, _, err := db.AddrString(id); err != nil || want != s {
			t.Fatalf("%s: changed address %d is %s, want %s (%v)", what, i, s, want, err)
		}
	}
	got := riskDigest(t, db)
	rb, err := Update(ctx, db, Options{Rebuild: true})
	if err != nil {
		t.Fatal(err)
	}
	if riskDigest(t, db) != got {
		t.Fatalf("%s: incremental exposure differs from a rebuild", what)
	}
	t.Logf("%s: %d changed, %d addresses affected, %d txs recomputed (%d rewritten), %d re-aggregated in %s; rebuild %s",
		what, sum.Changed, sum.Affected, sum.Recomputed, sum.Revectored, sum.Reaggregated, sum.Elapsed, rb.Elapsed)
	return sum, got
}

// aggregates returns the stored aggregates by key.
func aggregates(t *testing.T, db *index.DB) map[string]string {
	t.Helper()
	m := map[string]string{}
	if err := db.StageScan(context.Background(), []byte{pAgg}, []byte{pAgg + 1}, func(k, v []byte) (bool, error) {
		m[string(k)] = string(v)
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	return m
}

// theftTxids returns the simulated theft's transactions (truth/txs.csv).
func theftTxids(t testing.TB, out string) []string {
	t.Helper()
	var ids []string
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "txs.csv")) {
		if r["kind"] == "theft" {
			ids = append(ids, r["txid"])
		}
	}
	if len(ids) == 0 {
		t.Fatal("no theft transactions in the simulated chain")
	}
	return ids
}

// busyAddress returns an address with at least n transactions and no
// labels.
func busyAddress(t testing.TB, db *index.DB, n uint64) string {
	t.Helper()
	return busyAddresses(t, db, n, "", 1)[0]
}

// busyAddresses returns k addresses other than skip, each with at least
// n transactions, something received and no labels.
func busyAddresses(t testing.TB, db *index.DB, n uint64, skip string, k int) []string {
	t.Helper()
	var out []string
	for _, a := range sampleAddrs(t, db, 500) {
		id, err := db.AddrID(a)
		if err != nil || a == skip {
			continue
		}
		tot, err := db.AddrTotals(id)
		if err != nil {
			t.Fatal(err)
		}
		vs, err := label.ShowAddress(context.Background(), db, a, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if tot.TxCount >= n && tot.Received > 0 && len(vs) == 0 {
			if out = append(out, a); len(out) == k {
				return out
			}
		}
	}
	t.Fatalf("fewer than %d unlabelled addresses with %d transactions", k, n)
	return nil
}

// TestAttributionChangeIsIncremental: adding and removing an
// investigator's label, importing and removing a small TagPack, adding
// and removing incidents, and a listing that
// a later complete publication ends each update exposure incrementally,
// and each result equals a rebuild from scratch; undoing a change restores
// the exposure exactly.
func TestAttributionChangeIsIncremental(t *testing.T) {
	w := newWorld(t, 4, 0.2)
	ctx := context.Background()
	base := riskDigest(t, w.db)
	x := busyAddress(t, w.db, 3)

	// An investigator labels x ransomware, then takes it back.
	r, err := label.AddOwn(ctx, w.db, x, false, label.Label{Label: "ransom wallet", Category: "perpetrator", Abuse: "ransomware", Source: "case 1", Confidence: 70})
	if err != nil {
		t.Fatal(err)
	}
	sum, d := updateIncrementally(t, w.db, "label add")
	if d == base || sum.Revectored == 0 {
		t.Fatalf("label add changed nothing: %+v", sum)
	}
	if _, err := label.Remove(ctx, w.db, label.RemoveSpec{Import: r.Import}); err != nil {
		t.Fatal(err)
	}
	if _, d := updateIncrementally(t, w.db, "label remove"); d != base {
		t.Fatal("removing the label did not restore the exposure")
	}

	// A small TagPack (a few labels on unlabelled busy addresses, as an
	// analyst's pack of findings would be) is imported, then removed.
	pack := filepath.Join(t.TempDir(), "findings.yaml")
	var yaml strings.Builder
	yaml.WriteString("title: findings\ncreator: test\nis_public: false\ncurrency: BTC\nlastmod: 2026-12-07\ntags:\n")
	for i, a := range busyAddresses(t, w.db, 2, x, 4) {
		yaml.WriteString("- address: " + a + "\n  label: finding " + strconv.Itoa(i) +
			"\n  category: perpetrator\n  abuse: ransomware\n  confidence: forensic_investigation\n  source: https://example.invalid/case/3\n")
	}
	if err := os.WriteFile(pack, []byte(yaml.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	fr, err := label.ImportFile(ctx, w.db, pack, label.ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fr.Labels != 4 {
		t.Fatalf("small pack: %d labels imported, want 4", fr.Labels)
	}
	if sum, d := updateIncrementally(t, w.db, "small pack import"); d == base || sum.Revectored == 0 {
		t.Fatalf("the small pack changed nothing: %+v", sum)
	}
	if _, err := label.Remove(ctx, w.db, label.RemoveSpec{Import: fr.Import}); err != nil {
		t.Fatal(err)
	}
	if _, d := updateIncrementally(t, w.db, "small pack removed"); d != base {
		t.Fatal("removing the small pack did not restore the exposure")
	}

	// Incidents on the theft transactions, then removed.
	var ids []uint32
	for _, txid := range theftTxids(t, w.out) {
		in, err := label.AddIncident(ctx, w.db, label.Incident{TxID: txid, Vout: label.AllOutputs, Category: "theft", Source: "case 2"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, in.ID)
	}
	if _, d := updateIncrementally(t, w.db, "incident add"); d == base {
		t.Fatal("the theft incidents changed nothing")
	}
	for _, id := range ids {
		if _, err := label.RemoveIncidents(ctx, w.db, id, ""); err != nil {
			t.Fatal(err)
		}
	}
	if _, d := updateIncrementally(t, w.db, "incident remove"); d != base {
		t.Fatal("removing the incidents did not restore the exposure")
	}

	// OFAC lists x, and a later complete publication drops it: formerly
	// listed, with both dates, and no longer a source of exposure.
	list := func(date time.Time, addrs ...string) {
		b := &label.Batch{Kind: "ofac", Source: label.OFACSource, File: "list " + date.Format("2006-01-02"), Date: date, Complete: true}
		for _, a := range addrs {
			key, err := address.Decode(a, btc.Mainnet)
			if err != nil {
				t.Fatal(err)
			}
			b.Labels = append(b.Labels, label.Label{Address: key, Label: "OFAC SDN", Category: "sanction", Abuse: "sanction",
				Source: "https://sanctionssearch.ofac.treas.gov", Confidence: 60, ClusterDefiner: true})
		}
		if _, err := label.Apply(ctx, w.db, b); err != nil {
			t.Fatal(err)
		}
	}
	const y = "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn" // a real address the simulated chain never shows
	list(time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), x, y)
	if _, d := updateIncrementally(t, w.db, "listed"); d == base {
		t.Fatal("listing changed nothing")
	}
	s, err := NewScreener(w.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := s.Screen(ctx, x); err != nil || rep.Risk != Severe {
		t.Fatalf("listed address: %+v, %v", rep, err)
	}
	list(time.Date(2021, 6, 1, 0, 0, 0, 0, time.UTC), y)
	updateIncrementally(t, w.db, "delisted")
	vs, err := label.ShowAddress(ctx, w.db, x, time.Time{})
	if err != nil || len(vs) != 1 || vs[0].ListedFrom == nil || *vs[0].ListedFrom != "2020-01-01" || vs[0].ListedTo == nil || *vs[0].ListedTo != "2021-06-01" {
		t.Fatalf("delisted address's label: %+v, %v", vs, err)
	}
	if s, err = NewScreener(w.db, nil); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Screen(ctx, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, row := range rep.Exposure {
		if row.Category == "sanction" && row.Direction == "self" {
			t.Fatalf("delisted address still sanctioned today: %+v", rep)
		}
	}
	if rep.Risk == Severe {
		t.Fatalf("delisted address screens Severe: %+v", rep)
	}
}

// TestIncidentTheft: with the theft's perpetrator unlabelled (the public
// TagPack without its hack tags), no exchange deposit downstream of the
// theft screens as theft; after an incident on each theft transaction
// (updated incrementally) deposits reached through unlabelled peel chains
// do, each with a path back to a theft transaction.
func TestIncidentTheft(t *testing.T) {
	out := simtest.Chain(t, 1, 0.3)
	// The public pack without the tags naming the thief.
	f, err := os.Open(filepath.Join(out, "public", "tagpack.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tagpack.Parse(f.Name(), f, nil)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	n := len(p.Tags)
	p.Tags = slices.DeleteFunc(p.Tags, func(tg tagpack.Tag) bool { return categoriesOf(tg.Category, tg.Abuse)&(1<<Theft) != 0 })
	if len(p.Tags) == n {
		t.Fatal("the public pack names no thief: the test proves nothing")
	}
	pack := filepath.Join(t.TempDir(), "no-thief.yaml")
	pf, err := os.Create(pack)
	if err != nil {
		t.Fatal(err)
	}
	if err := tagpack.Write(pf, p); err != nil {
		t.Fatal(err)
	}
	pf.Close()
	w := newWorldPackAt(t, out, pack)
	ctx := context.Background()

	deposits := map[string]bool{}
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "taint.csv")) {
		if r["case"] == "theft" && r["role"] == "received" && r["entity_type"] == "exchange" {
			deposits[r["address"]] = true
		}
	}
	peelTx := map[string]bool{}
	for _, r := range simtest.ReadCSV(t, filepath.Join(out, "truth", "peel_chains.csv")) {
		if r["case"] == "theft" {
			peelTx[r["txid"]] = true
		}
	}
	exposed := func() []string {
		s, err := NewScreener(w.db, nil)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for a := range deposits {
			rep, err := s.Screen(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			if row := hasRow(rep, "theft", "received"); row != nil {
				got = append(got, a)
				if x := row.Explanation; x == nil || x.Via != "incident" || x.Label != "incident: exchange hack" || x.TxID == "" {
					t.Fatalf("%s: theft exposure explained as %+v", a, x)
				}
			}
		}
		slices.Sort(got)
		return got
	}
	if got := exposed(); len(got) != 0 {
		t.Fatalf("before the incident, %d deposits already screen as theft: %v", len(got), got)
	}
	theft := theftTxids(t, out)
	for _, txid := range theft {
		if _, err := label.AddIncident(ctx, w.db, label.Incident{TxID: txid, Vout: label.AllOutputs, Category: "theft", Name: "exchange hack", Source: "incident report"}); err != nil {
			t.Fatal(err)
		}
	}
	updateIncrementally(t, w.db, "theft incidents")
	got := exposed()
	if len(got) == 0 {
		t.Fatalf("no deposit of %d screens as theft after the incidents", len(deposits))
	}
	viaPeel := 0
	for _, a := range got {
		sp, err := ExposurePath(ctx, w.db, a, Theft)
		if err != nil || sp == nil {
			t.Fatalf("%s: no exposure path: %v", a, err)
		}
		if len(sp.TxIDs) != sp.Hops || sp.Hops < 1 || len(sp.SourceOut) < 65 || !slices.Contains(theft, sp.SourceOut[:64]) {
			t.Fatalf("%s: path %+v does not lead back to a theft transaction", a, sp)
		}
		for _, id := range sp.TxIDs {
			if peelTx[id] {
				viaPeel++
				break
			}
		}
	}
	if viaPeel == 0 {
		t.Fatalf("none of the %d exposed deposits was reached through a peel chain", len(got))
	}
	t.Logf("%d of %d theft-receiving deposits screen as theft after the incidents, %d of them through peel chains",
		len(got), len(deposits), viaPeel)
}

// TestIncrementalFallsBack: a change touching more than the budget is
// abandoned for a rebuild, whose result is still R1's.
func TestIncrementalFallsBack(t *testing.T) {
	w := newWorld(t, 5, 0.2)
	ctx := context.Background()
	defer func(n, d int) { minTouchBudget, budgetDivisor = n, d }(minTouchBudget, budgetDivisor)
	minTouchBudget, budgetDivisor = 4, 1<<30
	for _, txid := range theftTxids(t, w.out) {
		if _, err := label.AddIncident(ctx, w.db, label.Incident{TxID: txid, Vout: label.AllOutputs, Category: "theft", Source: "s"}); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Update(ctx, w.db, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Rebuilt || sum.Incremental || !strings.Contains(sum.Reason, "more than") {
		t.Fatalf("not a fallback: %+v", sum)
	}
	got := riskDigest(t, w.db)
	if _, err := Update(ctx, w.db, Options{Rebuild: true}); err != nil {
		t.Fatal(err)
	}
	if riskDigest(t, w.db) != got {
		t.Fatal("the fallback rebuild differs from a rebuild")
	}
}
