package trace

import (
	"context"
	"fmt"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// checkResultShares fails the test unless every share is in [0, 1] and the
// entities' shares sum to at most 1 (what checkShares asserts under the
// invariants tag, checked here without it too).
func checkResultShares(t *testing.T, name string, r *Result) {
	t.Helper()
	var sum float64
	for _, e := range r.Entities {
		sum += e.Share
		if e.Share < 0 || e.Share > 1 {
			t.Errorf("%s: entity %d share %.4f (received %d of source %d)", name, e.ID, e.Share, e.Sats, r.Totals.Source)
		}
		for _, a := range e.Addresses {
			if a.Share < 0 || a.Share > 1 {
				t.Errorf("%s: address %d share %.4f", name, a.ID, a.Share)
			}
		}
	}
	if sum > 1+1e-9 {
		t.Errorf("%s: entity shares sum to %.4f", name, sum)
	}
}

// TestSimIncident traces the simulated theft's transactions together, as
// `sleuth trace --from-file` does: one result whose source is the sum of
// the sources traced one by one, every tainted sat accounted for, and no
// share above 100%.
func TestSimIncident(t *testing.T) {
	db, out := simStore(t)
	txids := simtest.TheftTxIDs(t, out)
	if len(txids) < 2 {
		t.Fatalf("incident has %d theft txids, want several", len(txids))
	}
	ctx := context.Background()
	svc, err := label.Services(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	var all []Taint
	var each []int64
	for _, id := range txids {
		src, err := ParseSource(ctx, db, id)
		if err != nil {
			t.Fatal(err)
		}
		var sum int64
		for _, s := range src {
			sum += int64(s.Sats)
		}
		each = append(each, sum)
		all = append(all, src...)
	}
	for _, p := range Policies {
		opts := Options{Policy: p, Stop: StopAt(svc), Detail: -1}
		r, err := Trace(ctx, db, all, opts)
		if err != nil {
			t.Fatal(err)
		}
		var want int64
		for i, id := range txids {
			src, err := ParseSource(ctx, db, id)
			if err != nil {
				t.Fatal(err)
			}
			one, err := Trace(ctx, db, src, opts)
			if err != nil {
				t.Fatal(err)
			}
			if one.Totals.Source != each[i] {
				t.Errorf("%s: %s alone traced %d sats, its outputs hold %d", p, id, one.Totals.Source, each[i])
			}
			want += one.Totals.Source
		}
		if r.Totals.Source != want {
			t.Errorf("%s: %d txids traced together: source %d sats, want the sum of each alone %d", p, len(txids), r.Totals.Source, want)
		}
		if p.Conserving() && r.Totals.Accounted() != r.Totals.Source {
			t.Errorf("%s: accounted %d != source %d: %+v", p, r.Totals.Accounted(), r.Totals.Source, r.Totals)
		}
		checkResultShares(t, "incident/"+p.String(), r)
		t.Logf("%-7s %d txids, %d outputs, %d sats traced: cashed out %.4f, %d entities", p, len(txids), len(r.Sources),
			r.Totals.Source, share(r.Totals.CashedOut, r.Totals.Source), len(r.Entities))
	}
}

// TestSimShares traces what entities received, across the simulated
// economy, under every policy: no entity's or address's share may exceed
// 100%. Shares used to count an entity's own taint again at each
// self-transfer (an address paying change to itself: 312% under haircut).
func TestSimShares(t *testing.T) {
	db, _ := simStore(t)
	ctx := context.Background()
	svc, err := label.Services(ctx, db, nil)
	if err != nil {
		t.Fatal(err)
	}
	traced := 0
	for e := uint64(1); e < 5000; e += 37 {
		src, err := FromEntity(ctx, db, e)
		if err != nil || len(src) == 0 {
			continue
		}
		traced++
		for _, p := range Policies {
			r, err := Trace(ctx, db, src, Options{Policy: p, Stop: StopAt(svc), Detail: -1})
			if err != nil {
				t.Fatalf("entity %d/%s: %v", e, p, err)
			}
			checkResultShares(t, fmt.Sprintf("entity %d/%s", e, p), r)
		}
	}
	if traced < 50 {
		t.Fatalf("only %d entities received anything", traced)
	}
}
