package risk

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// screenWorld is the simulated world of the screening tests.
func screenWorld(t *testing.T) *world { return newWorld(t, 1, 0.3) }

func newScreener(t *testing.T, w *world) *Screener {
	t.Helper()
	s, err := NewScreener(w.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestScreenStatus: every kind of query gets a status, a reason when not
// assessed, and a risk only when assessed (null in JSON otherwise).
func TestScreenStatus(t *testing.T) {
	w := screenWorld(t)
	s := newScreener(t, w)
	ctx := context.Background()
	indexed := sampleAddrs(t, w.db, 10)[5]
	h, err := w.db.TxID(1)
	if err != nil {
		t.Fatal(err)
	}
	txid := h.String()
	next := uint64(w.db.Tip().NextAddr)
	cases := []struct {
		name, q  string
		entities bool
		status   ScreenStatus
		reason   string // substring
	}{
		{"indexed address", indexed, false, Assessed, ""},
		{"never seen (valid)", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT", false, NotSeen, "tip height"},
		{"bad checksum", "1BoatSLRHtKNngkdXEeobR76b53LETtpyU", false, Invalid, "checksum"},
		{"testnet on mainnet", "tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", false, Invalid, "wrong network"},
		{"testnet base58", "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn", false, Invalid, "network"},
		{"garbage", "hello world", false, Invalid, "malformed"},
		{"empty", "", false, Invalid, "empty"},
		{"known txid", txid, false, Assessed, ""},
		{"unknown txid", strings.Repeat("ab", 32), false, NotSeen, "tip height"},
		{"malformed txid", strings.Repeat("zz", 32), false, Invalid, "hexadecimal"},
		{"entity", "0", true, Assessed, ""},
		{"no such entity", fmt.Sprint(next + 5), true, NotSeen, "no address or entity"},
		{"entity id overflow", "99999999999999999999999", true, Invalid, "out of range"},
	}
	for _, c := range cases {
		r, err := s.Query(ctx, c.q, c.entities)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if r.Status != c.status || !strings.Contains(r.Reason, c.reason) {
			t.Errorf("%s: status %s reason %q, want %s with %q", c.name, r.Status, r.Reason, c.status, c.reason)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if risk, ok := m["risk"]; !ok || (risk == nil) != (c.status != Assessed) {
			t.Errorf("%s: JSON risk %v with status %s: %s", c.name, risk, c.status, b)
		}
		if m["status"] != string(c.status) {
			t.Errorf("%s: JSON status %v", c.name, m["status"])
		}
	}
}

// TestBasis: the basis names the tip (height, hash, time), the exposure's
// height and every label source with its date.
func TestBasis(t *testing.T) {
	w := screenWorld(t)
	s := newScreener(t, w)
	b, err := s.Basis(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tip := w.db.Tip()
	blk, err := w.db.ChainBlock(btc.Height(tip.Height))
	if err != nil {
		t.Fatal(err)
	}
	if b.TipHeight != tip.Height || b.TipHash != tip.Hash.String() || b.TipTime != time.Unix(int64(blk.Time), 0).UTC().Format(time.RFC3339) {
		t.Fatalf("tip %+v, want %d %s %d", b, tip.Height, tip.Hash, blk.Time)
	}
	if b.ExposureHeight != w.sum.Height || len(b.Lists) == 0 || b.Date == "" {
		t.Fatalf("basis %+v (update %+v)", b, w.sum)
	}
	for _, l := range b.Lists {
		if l.Name == "" || l.Imported == "" {
			t.Fatalf("list %+v", l)
		}
	}
	if !strings.Contains(b.String(), fmt.Sprintf("chain tip %d", tip.Height)) {
		t.Fatalf("header line %q", b.String())
	}
	// ReadBasis (what a server states with its status) is a screener's.
	rb, err := ReadBasis(context.Background(), w.db)
	if err != nil || !reflect.DeepEqual(rb, b) {
		t.Fatalf("ReadBasis %+v, %v; a screener's %+v", rb, err, b)
	}
	if err := s.SetAsOf(context.Background(), time.Date(2017, 6, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if b, err = s.Basis(context.Background()); err != nil {
		t.Fatal(err)
	}
	if b.AsOf != "2017-06-01" || b.Date != "2017-06-01" || b.AsOfHeight == nil || *b.AsOfHeight <= 0 || *b.AsOfHeight >= tip.Height {
		t.Fatalf("as-of basis %+v", b)
	}
	at, err := w.db.ChainBlock(btc.Height(*b.AsOfHeight))
	if err != nil {
		t.Fatal(err)
	}
	nx, err := w.db.ChainBlock(btc.Height(*b.AsOfHeight + 1))
	if err != nil {
		t.Fatal(err)
	}
	cut := time.Date(2017, 6, 2, 0, 0, 0, 0, time.UTC).Unix()
	if int64(at.Time) >= cut || int64(nx.Time) < cut {
		t.Fatalf("as-of height %d: block times %d, next %d, cut %d", *b.AsOfHeight, at.Time, nx.Time, cut)
	}
}

// TestEntityExplained: an address screened through its entity's label
// (not its own) says so: the entity's id and size, the labelled member,
// and the merges joining them, each a transaction and a heuristic; the
// rule that fired is named with its threshold.
func TestEntityExplained(t *testing.T) {
	w := screenWorld(t)
	ctx := context.Background()
	// The simulator's risky entities are single addresses: list one
	// member of a multi-address entity as an investigator would.
	var ent uint64
	var size uint64
	for _, a := range sampleAddrs(t, w.db, 2000) {
		id, err := w.db.AddrID(a)
		if err != nil {
			continue
		}
		e, err := cluster.EntityOf(w.db, id)
		if err != nil {
			t.Fatal(err)
		}
		if n, err := cluster.Size(w.db, e); err == nil && n >= 3 && n < 50 {
			ent, size = e, n
			break
		}
	}
	if size == 0 {
		t.Fatal("no entity of 3 to 50 addresses in the simulated chain")
	}
	var members []string
	cluster.Members(ctx, w.db, ent, 0, true, func(a btc.AddrID) bool {
		if s, _, err := w.db.AddrString(a); err == nil && s != "" {
			members = append(members, s)
		}
		return true
	})
	listed, screened := members[0], members[len(members)-1]
	if _, err := label.AddOwn(ctx, w.db, listed, true, label.Label{Label: "test listing", Category: "sanction", Source: "test", Confidence: 90}); err != nil {
		t.Fatal(err)
	}
	if err := label.Refresh(ctx, w.db); err != nil {
		t.Fatal(err)
	}
	if _, err := Update(ctx, w.db, Options{}); err != nil {
		t.Fatal(err)
	}
	s := newScreener(t, w)
	r, err := s.Screen(ctx, screened)
	if err != nil {
		t.Fatal(err)
	}
	row := hasSelf(r, "sanction")
	if row == nil || row.Basis != BasisEntity || row.Explanation == nil || row.Explanation.Via != "entity" || row.Explanation.Entity == nil {
		t.Fatalf("%s: %+v", screened, r.Exposure)
	}
	p := row.Explanation.Entity
	if p.ID != ent || p.Size != size || p.Member != listed || len(p.Merges) == 0 {
		t.Fatalf("%s: entity path %+v (entity %d size %d, listed %s)", screened, p, ent, size, listed)
	}
	if p.Merges[0].FromAddr != screened || p.Merges[len(p.Merges)-1].ToAddr != listed {
		t.Fatalf("%s: merges do not join it to %s: %+v", screened, listed, p.Merges)
	}
	for _, m := range p.Merges {
		if m.TxID == "" || m.Heuristic == "" {
			t.Fatalf("%s: merge %+v", screened, m)
		}
	}
	if r.Risk != Severe || len(r.Fired) == 0 || r.Fired[0].Threshold != "sanction, self" || r.Exposure[r.Fired[0].Row].Basis != BasisEntity {
		t.Fatalf("%s: %s, rules fired %+v", screened, r.Risk, r.Fired)
	}
	// The listed address itself: its own label.
	r, err = s.Screen(ctx, listed)
	if err != nil {
		t.Fatal(err)
	}
	if row := hasSelf(r, "sanction"); row == nil || row.Basis != BasisOwnLabel || row.Explanation.Entity != nil {
		t.Fatalf("listed %s: %+v", listed, r.Exposure)
	}
}

func hasSelf(r *Report, cat string) *Row {
	for i := range r.Exposure {
		if x := &r.Exposure[i]; x.Category == cat && x.Direction == "self" {
			return x
		}
	}
	return nil
}

// TestAsOf: as of the day before a victim paid the ransom, the payment
// does not count (the chain is cut), while the tagpack's labels already
// applied; as of the day of payment, it does. Before the tagpack's
// lastmod, the ransom address's own label does not apply.
func TestAsOf(t *testing.T) {
	w := screenWorld(t)
	ctx := context.Background()
	victims := simtest.ReadCSV(t, filepath.Join(w.out, "truth", "ransom_victims.csv"))
	lastmod := time.Date(2017, 4, 22, 0, 0, 0, 0, time.UTC) // the simulator's tagpack lastmod (sim theftDate)
	checked := 0
	for _, v := range victims {
		h, _ := btc.ParseHash(v["txid"])
		tv, err := w.db.Tx(h)
		if err != nil {
			t.Fatal(err)
		}
		paid, err := time.Parse(time.RFC3339, tv.Time)
		if err != nil {
			t.Fatal(err)
		}
		day := paid.UTC().Truncate(24 * time.Hour)
		before := day.Add(-24 * time.Hour)
		if before.Before(lastmod) {
			continue
		}
		for _, in := range tv.Inputs {
			if in.Address == nil {
				continue
			}
			sOn, sBefore := newScreener(t, w), newScreener(t, w)
			if err := sOn.SetAsOf(ctx, day); err != nil {
				t.Fatal(err)
			}
			if err := sBefore.SetAsOf(ctx, before); err != nil {
				t.Fatal(err)
			}
			on, err := sOn.Screen(ctx, *in.Address)
			if err != nil {
				t.Fatal(err)
			}
			row := hasRow(on, "ransomware", "sent")
			if on.Status != Assessed || row == nil || row.Kind != "direct" || !strings.Contains(on.Method, "traced on demand") {
				t.Fatalf("victim %s as of %s: %+v", *in.Address, day.Format(time.DateOnly), on)
			}
			if on.Risk < Medium {
				t.Fatalf("victim %s as of the payment day: risk %s", *in.Address, on.Risk)
			}
			prev, err := sBefore.Screen(ctx, *in.Address)
			if err != nil {
				t.Fatal(err)
			}
			// The payment is not counted the day before (an earlier
			// ransom paid from the same address may be).
			if x := hasRow(prev, "ransomware", "sent"); x != nil && x.Sats >= row.Sats {
				t.Fatalf("victim %s as of %s (before paying): %+v, on the day %+v", *in.Address, before.Format(time.DateOnly), *x, *row)
			}
			if prev.Status == Assessed && prev.Sent >= on.Sent && on.Sent > 0 {
				t.Fatalf("victim %s: sent %d before the payment day, %d on it", *in.Address, prev.Sent, on.Sent)
			}
			if checked == 0 {
				// The payment itself: as of its day, its output pays the
				// ransom address (a direct counterparty) and its inputs
				// are traced back; the day before, it is not seen.
				tr, err := sOn.Query(ctx, v["txid"], false)
				if err != nil {
					t.Fatal(err)
				}
				paid := false
				for _, x := range tr.Exposure {
					paid = paid || x.Category == "ransomware" && x.Direction == "output" && x.Basis == BasisCounterparty
				}
				if tr.Status != Assessed || !paid || tr.Risk < Medium || !strings.Contains(tr.Method, "traced on demand") {
					t.Fatalf("ransom tx %s as of %s: %s %s %+v", v["txid"], day.Format(time.DateOnly), tr.Status, tr.Risk, tr.Exposure)
				}
				if tr, err = sBefore.Query(ctx, v["txid"], false); err != nil || tr.Status != NotSeen {
					t.Fatalf("ransom tx %s the day before: %+v, %v", v["txid"], tr, err)
				}
			}
			checked++
			break
		}
		if checked >= 3 {
			break
		}
	}
	if checked == 0 {
		t.Fatal("no ransom victim paid after the labels' date")
	}
	// A transaction whose inputs spent outputs a labelled entity paid
	// (stored: a direct input row): traced as of a date when every label
	// applied and the chain was whole, its inputs carry the same category.
	stored, later := newScreener(t, w), newScreener(t, w)
	if err := later.SetAsOf(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	found := 0
	err := w.db.ScanTxs(ctx, 0, w.db.Tip().NextTx, func(tx *coinjoin.Tx) error {
		if found >= 3 || tx.Num%7 != 0 {
			return nil
		}
		h, err := w.db.TxID(tx.Num)
		if err != nil {
			return err
		}
		r, err := stored.Tx(ctx, h)
		if err != nil {
			return err
		}
		for _, x := range r.Exposure {
			if x.Direction != "input" || x.Basis != BasisTransactions || x.Kind != "direct" || x.Category == "exchange" {
				continue
			}
			a, err := later.Tx(ctx, h)
			if err != nil {
				return err
			}
			ok := false
			for _, y := range a.Exposure {
				ok = ok || y.Direction == "input" && y.Category == x.Category && y.Basis == BasisTransactions && len(y.Path) > 0
			}
			if !ok {
				return fmt.Errorf("tx %s: stored %+v, as of 2030 %+v", h, r.Exposure, a.Exposure)
			}
			found++
			break
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("no transaction with direct input exposure")
	}
	// The ransom address before the labels existed: its own label does not
	// apply; after, it is at least High.
	ransom := victims[0]["ransom_address"]
	for _, c := range []struct {
		date time.Time
		high bool
	}{{lastmod.Add(-24 * time.Hour), false}, {time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), true}} {
		s := newScreener(t, w)
		if err := s.SetAsOf(ctx, c.date); err != nil {
			t.Fatal(err)
		}
		r, err := s.Screen(ctx, ransom)
		if err != nil {
			t.Fatal(err)
		}
		if (r.Status == Assessed && r.Risk >= High) != c.high {
			t.Fatalf("ransom address as of %s: %s %s %+v", c.date.Format(time.DateOnly), r.Status, r.Risk, r.Exposure)
		}
	}
}

// TestRulesFired: each rule that set the level is named with its
// threshold and the row it matched.
func TestRulesFired(t *testing.T) {
	rows := []Row{
		{Category: "exchange", Direction: "received", Kind: "direct", Sats: 100, Share: 0.5},
		{Category: "sanction", Direction: "received", Kind: "indirect", Sats: 10, Share: 0.02},
	}
	level, fired := DefaultRules().assess(rows, nil)
	if level != Severe || len(fired) != 1 || fired[0].Row != 1 || fired[0].Threshold != "sanction, indirect, share ≥ 1%" {
		t.Fatalf("%s %+v", level, fired)
	}
	if _, fired := DefaultRules().assess(rows[:1], nil); len(fired) != 0 {
		t.Fatalf("exchange exposure fired %+v", fired)
	}
	for _, c := range []struct {
		rule Rule
		want string
	}{
		{Rule{Categories: []string{"sanction"}, Direction: "self"}, "sanction, self"},
		{Rule{Categories: []string{"sanction"}, Kind: "direct"}, "sanction, direct, any amount"},
		{Rule{MinSats: 5000, MaxHops: 2}, "any category, sats ≥ 5000, hops ≤ 2"},
	} {
		if got := c.rule.Threshold(); got != c.want {
			t.Errorf("%+v: %q, want %q", c.rule, got, c.want)
		}
	}
}

// TestRealOFACTx: on the real 2018 and 2019 blocks with OFAC's dated
// lists, a transaction that pays 1NpHuti9… (listed) or spends from
// 343w3Xh6… (listed) screens Severe through a direct counterparty row
// citing the listing; as of a date before OFAC listed them (first in the
// 2022-11-10 list here), the same transactions do not.
func TestRealOFACTx(t *testing.T) {
	db, _ := realOFACStore(t)
	ctx := context.Background()
	for _, c := range []struct {
		listed, side string
	}{
		{"1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d", "output"},
		{"343w3Xh64q5UpgpvAPqmsUzxrknde8PQHb", "input"},
	} {
		txs, err := db.AddressTxs(c.listed, 100, "")
		if err != nil {
			t.Fatal(err)
		}
		checked := 0
		for _, tv := range txs {
			if c.side == "output" && tv.Received <= 0 || c.side == "input" && tv.Sent != nil && *tv.Sent <= 0 {
				continue
			}
			s, err := NewScreener(db, nil)
			if err != nil {
				t.Fatal(err)
			}
			r, err := s.Query(ctx, tv.TxID, false)
			if err != nil {
				t.Fatal(err)
			}
			var row *Row
			for i := range r.Exposure {
				if x := &r.Exposure[i]; x.Category == "sanction" && x.Direction == c.side && x.Basis == BasisCounterparty {
					row = x
				}
			}
			if r.Status != Assessed || r.Risk != Severe || row == nil || row.Kind != "direct" || row.Explanation == nil ||
				row.Explanation.Address != c.listed || row.Explanation.ListedFrom == nil {
				t.Fatalf("tx %s (%s %s): %s %+v", tv.TxID, c.side, c.listed, r.Risk, r.Exposure)
			}
			if err := s.SetAsOf(ctx, time.Date(2022, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
				t.Fatal(err)
			}
			if r, err = s.Query(ctx, tv.TxID, false); err != nil {
				t.Fatal(err)
			}
			if r.Status != Assessed || r.Risk == Severe || len(r.Exposure) != 0 {
				t.Fatalf("tx %s as of 2022-01-01 (before the listing): %s %s %+v", tv.TxID, r.Status, r.Risk, r.Exposure)
			}
			checked++
		}
		if checked == 0 {
			t.Fatalf("no transaction %s %s", c.side, c.listed)
		}
	}
	// As of 2018-01-01 the chain held neither: not seen.
	s, err := NewScreener(db, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SetAsOf(ctx, time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	r, err := s.Screen(ctx, "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d")
	if err != nil {
		t.Fatal(err)
	}
	if r.Status != NotSeen || !strings.Contains(r.Reason, "as of 2018-01-01") {
		t.Fatalf("as of 2018-01-01: %+v", r)
	}
	// As of 2023-01-01 the address itself is listed: Severe, own label.
	if err := s.SetAsOf(ctx, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if r, err = s.Screen(ctx, "1NpHuti9NSM9fVTXLkvSDU4AnhqGQ5N53d"); err != nil {
		t.Fatal(err)
	}
	if r.Status != Assessed || r.Risk != Severe || hasSelf(r, "sanction") == nil || hasSelf(r, "sanction").Basis != BasisOwnLabel {
		t.Fatalf("as of 2023-01-01: %+v", r)
	}
}

// TestAsOfAgreesWithStored: as of a date after every label and block, the
// on-demand trace and the stored exposure are two computations of the
// same thing; their levels and categories are compared over sampled
// addresses (logged; most must agree).
func TestAsOfAgreesWithStored(t *testing.T) {
	w := screenWorld(t)
	ctx := context.Background()
	stored, later := newScreener(t, w), newScreener(t, w)
	if err := later.SetAsOf(ctx, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	cats := func(r *Report) string {
		var out []string
		for _, x := range r.Exposure {
			if x.Category != "exchange" && x.Category != "gambling" {
				out = append(out, x.Category+"/"+x.Direction)
			}
		}
		slices.Sort(out)
		return strings.Join(slices.Compact(out), " ")
	}
	n, sameLevel, sameCats := 0, 0, 0
	for _, a := range sampleAddrs(t, w.db, 400) {
		if a == "" {
			continue
		}
		x, err := stored.Screen(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		y, err := later.Screen(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if x.Status != Assessed || y.Status != Assessed {
			t.Fatalf("%s: %s stored, %s as of 2030", a, x.Status, y.Status)
		}
		n++
		if x.Risk == y.Risk {
			sameLevel++
		}
		if cats(x) == cats(y) {
			sameCats++
		} else if testing.Verbose() {
			t.Logf("%s: stored %s [%s], as of 2030 %s [%s]", a, x.Risk, cats(x), y.Risk, cats(y))
		}
	}
	t.Logf("%d addresses: same level %d (%.1f%%), same risky categories %d (%.1f%%)", n, sameLevel,
		100*float64(sameLevel)/float64(n), sameCats, 100*float64(sameCats)/float64(n))
	if sameLevel*10 < n*9 {
		t.Fatalf("levels agree on %d of %d addresses only", sameLevel, n)
	}
}
