package label

import (
	"bufio"
	"compress/gzip"
	"context"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

const sharedData = "../../../shared/data"

func need(t testing.TB, rel string) string {
	t.Helper()
	p := filepath.Join(sharedData, rel)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("real data %s not found (expected ../shared/data beside the repository): %v", p, err)
	}
	return p
}

func openTest(t testing.TB) *index.DB { return indextest.Open(t, t.TempDir()) }

var realDir struct {
	sync.Once
	dir string
	err error
}

// realChain returns a store with heights 0–14131 ingested and clustered.
func realChain(t testing.TB) *index.DB {
	t.Helper()
	src := need(t, "btc-blocks/blk_0_to_14131.dat.gz")
	realDir.Do(func() {
		realDir.dir, realDir.err = os.MkdirTemp("", "sleuth-label-real")
		if realDir.err != nil {
			return
		}
		f, err := os.Open(src)
		if err != nil {
			realDir.err = err
			return
		}
		defer f.Close()
		zr, err := gzip.NewReader(f)
		if err != nil {
			realDir.err = err
			return
		}
		out, err := os.Create(filepath.Join(realDir.dir, "blk00000.dat"))
		if err != nil {
			realDir.err = err
			return
		}
		defer out.Close()
		_, realDir.err = io.Copy(out, zr)
	})
	if realDir.err != nil {
		t.Fatal(realDir.err)
	}
	db := openTest(t)
	if _, err := db.Ingest(context.Background(), index.IngestOptions{BlocksDir: realDir.dir}); err != nil {
		t.Fatal(err)
	}
	if _, err := cluster.Update(context.Background(), db, cluster.Options{}); err != nil {
		t.Fatal(err)
	}
	return db
}

func TestMain(m *testing.M) {
	code := m.Run()
	if realDir.dir != "" {
		os.RemoveAll(realDir.dir)
	}
	os.Exit(code)
}

func mustKey(t testing.TB, s string) address.Key {
	t.Helper()
	k, err := address.Decode(s, btc.Mainnet)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func apply(t testing.TB, db *index.DB, b *Batch) Result {
	t.Helper()
	r, err := Apply(context.Background(), db, b)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// snapshot reads a plain address list (one per line).
func snapshot(t testing.TB, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func listBatch(t testing.TB, addrs []string, date time.Time, complete bool) *Batch {
	b := &Batch{Kind: "ofac", Source: "OFAC SDN (XBT)", File: "list " + date.Format("2006-01-02"), Date: date, Complete: complete}
	for _, a := range addrs {
		if !strings.HasPrefix(a, "1") && !strings.HasPrefix(a, "3") && !strings.HasPrefix(a, "bc1") {
			continue // the real lists carry one Tron address (TUCsTq7T…) under XBT; package ofac reports it
		}
		b.Labels = append(b.Labels, Label{Address: mustKey(t, a), Label: "OFAC SDN", Category: "user", Abuse: "sanction",
			Source: "https://sanctionslist.ofac.treas.gov", Confidence: 60, ConfidenceID: "authority_data", ClusterDefiner: true})
	}
	return b
}

// TestListHistory imports the 19 real dated snapshots of OFAC's XBT list
// out of order and checks every address's first listing and removal
// against the files themselves (L3).
func TestListHistory(t *testing.T) {
	dir := need(t, "ofac/xbt_history")
	files, _ := filepath.Glob(filepath.Join(dir, "sanctioned_addresses_XBT_*.txt"))
	if len(files) != 19 {
		t.Fatalf("%d snapshots, want 19", len(files))
	}
	type snap struct {
		date  time.Time
		addrs map[string]bool
	}
	var snaps []snap
	db := openTest(t)
	ctx := context.Background()
	order := []int{18, 0, 5, 17, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16} // newest first, then the rest
	byIndex := make([]snap, len(files))
	for i, f := range files {
		d, err := time.Parse("2006-01-02", strings.TrimSuffix(strings.TrimPrefix(filepath.Base(f), "sanctioned_addresses_XBT_"), ".txt"))
		if err != nil {
			t.Fatal(err)
		}
		s := snap{date: d, addrs: map[string]bool{}}
		for _, a := range snapshot(t, f) {
			if strings.HasPrefix(a, "T") {
				continue // see listBatch
			}
			s.addrs[a] = true
		}
		byIndex[i] = s
	}
	for _, i := range order {
		s := byIndex[i]
		var addrs []string
		for a := range s.addrs {
			addrs = append(addrs, a)
		}
		apply(t, db, listBatch(t, addrs, s.date, true))
	}
	snaps = byIndex // sorted by date (file names sort by date)
	all := map[string]bool{}
	for _, s := range snaps {
		for a := range s.addrs {
			all[a] = true
		}
	}
	removed := 0
	for a := range all {
		var first, lastSeen, to time.Time
		for _, s := range snaps {
			if s.addrs[a] {
				if first.IsZero() {
					first = s.date
				}
				lastSeen = s.date
			}
		}
		for _, s := range snaps {
			if s.date.After(lastSeen) && !s.addrs[a] {
				to = s.date
				break
			}
		}
		vs, err := ShowAddress(ctx, db, a, time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 1 || *vs[0].ListedFrom != first.Format("2006-01-02") {
			t.Fatalf("%s: %+v, want listed from %s", a, vs, first.Format("2006-01-02"))
		}
		if to.IsZero() != (vs[0].ListedTo == nil) || (!to.IsZero() && *vs[0].ListedTo != to.Format("2006-01-02")) {
			t.Fatalf("%s: listed to %v, want %v", a, vs[0].ListedTo, to)
		}
		if !to.IsZero() {
			removed++
		}
		// As of the day before its first listing it was not listed.
		before, err := ShowAddress(ctx, db, a, first.Add(-24*time.Hour))
		if err != nil || len(before) != 0 {
			t.Fatalf("%s as of before listing: %+v, %v", a, before, err)
		}
	}
	st, err := ReadStats(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if st.Addresses != len(all) || len(st.Sources) != 1 || len(st.Sources[0].Publications) != 19 {
		t.Fatalf("stats %+v, want %d addresses in one source of 19 publications", st, len(all))
	}
	t.Logf("%d addresses over 19 snapshots, %d later removed", len(all), removed)
}

// TestPartialPublication: absence from a partial publication (SDN.CSV,
// truncated) is not removal.
func TestPartialPublication(t *testing.T) {
	db := openTest(t)
	a, b := "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw", "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn"
	d1 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	apply(t, db, listBatch(t, []string{a, b}, d1, true))
	apply(t, db, listBatch(t, []string{a}, d1.AddDate(0, 1, 0), false))
	vs, err := ShowAddress(context.Background(), db, b, time.Time{})
	if err != nil || len(vs) != 1 || vs[0].ListedTo != nil {
		t.Fatalf("after a partial list without it: %+v, %v", vs, err)
	}
	apply(t, db, listBatch(t, []string{a}, d1.AddDate(0, 2, 0), true))
	vs, _ = ShowAddress(context.Background(), db, b, time.Time{})
	if len(vs) != 1 || vs[0].ListedTo == nil || *vs[0].ListedTo != "2023-03-01" {
		t.Fatalf("after a complete list without it: %+v", vs)
	}
}

// TestEntityFlow: a cluster-definer label on one address of a real
// multi-input entity reaches its other addresses via the entity; a
// non-definer label does not; conflicting labels are all shown.
func TestEntityFlow(t *testing.T) {
	db := realChain(t)
	ctx := context.Background()
	// 1KAD5Enz…, 1DZTzaBH… and 1DCbY2GY… are one entity (height 546).
	apply(t, db, &Batch{Kind: "tagpack", Source: "pack A", File: "a.yaml", Digest: "a", Labels: []Label{
		{Address: mustKey(t, "1DZTzaBHUDM7T3QvUKBz4qXMRpkg8jsfB5"), Label: "Early miner", Category: "miner", Source: "a", Confidence: 50, ClusterDefiner: true},
		{Address: mustKey(t, "1DCbY2GYVaAMCBpuBNN5GVg3a47pNK1wdi"), Label: "Some shop", Category: "shop", Source: "a", Confidence: 20},
	}})
	apply(t, db, &Batch{Kind: "tagpack", Source: "pack B", File: "b.yaml", Digest: "b", Labels: []Label{
		{Address: mustKey(t, "1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv"), Label: "Exchange X", Category: "exchange", Source: "b", Confidence: 50, ClusterDefiner: true},
	}})
	if err := Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	for _, fresh := range []bool{true, false} {
		if !fresh { // a stale entity index is bypassed, not trusted
			st, _ := readState(db)
			st.EntityIndex = 0
			wb := db.NewStageBatch()
			wb.Set(append([]byte{pState}, keyState...), st.encode())
			if err := wb.Commit(); err != nil {
				t.Fatal(err)
			}
		}
		vs, err := ShowAddress(ctx, db, "1KAD5EnzzLtrSo2Da2G4zzD7uZrjk8zRAv", time.Time{})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]string{}
		for _, v := range vs {
			got[v.Label] = v.Via
		}
		want := map[string]string{"Exchange X": "address", "Early miner": "entity"}
		if len(got) != len(want) || got["Exchange X"] != "address" || got["Early miner"] != "entity" {
			t.Fatalf("fresh index %v: labels %v, want %v (the shop label is not a cluster definer)", fresh, got, want)
		}
		id, _ := db.AddrID("1DCbY2GYVaAMCBpuBNN5GVg3a47pNK1wdi")
		ent, _ := cluster.EntityOf(db, id)
		ev, err := ShowEntity(ctx, db, ent, time.Time{})
		if err != nil || len(ev) != 3 {
			t.Fatalf("entity labels %+v, %v: want all three, conflicting ones included", ev, err)
		}
	}
}

// TestReplaceAndAtomic: re-importing a changed pack replaces its labels;
// the same pack again changes nothing; a list without a date is refused
// and stores nothing.
func TestReplaceAndAtomic(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	a, b := mustKey(t, "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn"), mustKey(t, "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw")
	apply(t, db, &Batch{Kind: "tagpack", Source: "p", File: "p.yaml", Digest: "1", Labels: []Label{{Address: a, Label: "A"}, {Address: b, Label: "B"}}})
	r := apply(t, db, &Batch{Kind: "tagpack", Source: "p", File: "p.yaml", Digest: "1", Labels: []Label{{Address: a, Label: "A"}}})
	if !r.Unchanged {
		t.Fatalf("same digest: %+v", r)
	}
	apply(t, db, &Batch{Kind: "tagpack", Source: "p", File: "p.yaml", Digest: "2", Labels: []Label{{Address: a, Label: "A2"}}})
	st, _ := ReadStats(ctx, db)
	if st.Labels != 1 || st.Addresses != 1 {
		t.Fatalf("after replacing: %+v", st)
	}
	if _, err := Apply(ctx, db, &Batch{Kind: "ofac", Source: "l", File: "l.txt", Labels: []Label{{Address: b}}}); err == nil || !strings.Contains(err.Error(), "--date") {
		t.Fatalf("undated list: %v", err)
	}
	if st2, _ := ReadStats(ctx, db); st2.Labels != 1 || len(st2.Sources) != 1 {
		t.Fatalf("a refused import stored something: %+v", st2)
	}
}

// TestRescreen: listing an address that was active in 2009 finds its
// transactions, all before the listing; a second rescreen finds nothing
// new.
func TestRescreen(t *testing.T) {
	db := realChain(t)
	ctx := context.Background()
	const a = "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" // 6 transactions in January 2009
	apply(t, db, listBatch(t, []string{a, "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn"}, time.Date(2022, 9, 3, 0, 0, 0, 0, time.UTC), true))
	r, err := Rescreen(ctx, db, -1, true)
	if err != nil {
		t.Fatal(err)
	}
	if r.Addresses != 2 || r.OnChain != 1 || len(r.Hits) < 6 || r.Transactions < 6 || r.Transactions > len(r.Hits) {
		t.Fatalf("rescreen: %d addresses, %d on chain, %d hits", r.Addresses, r.OnChain, len(r.Hits))
	}
	for _, h := range r.Hits {
		if h.Address != a || !h.BeforeListing || h.Value == nil || *h.Value <= 0 {
			t.Fatalf("hit %+v", h)
		}
	}
	again, err := Rescreen(ctx, db, -1, true)
	if err != nil || again.Addresses != 0 || len(again.Hits) != 0 {
		t.Fatalf("second rescreen: %+v, %v", again, err)
	}
	// A later snapshot that lists it again adds nothing new.
	apply(t, db, listBatch(t, []string{a}, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), true))
	if r, _ := Rescreen(ctx, db, -1, false); r.Addresses != 0 {
		t.Fatalf("re-listed address counted as new: %+v", r)
	}
	// Another source labelling it is an import that adds it, but its
	// transactions were reported already: nothing new.
	apply(t, db, &Batch{Kind: "tagpack", Source: "p", File: "p.yaml", Digest: "1", Labels: []Label{{Address: mustKey(t, a), Label: "early miner", Category: "miner"}}})
	r, err = Rescreen(ctx, db, -1, false)
	if err != nil || r.Addresses != 1 || r.Transactions != 0 || len(r.Hits) != 0 || r.Reported < 6 {
		t.Fatalf("address listed by a second source: %+v, %v", r, err)
	}
	// An uncommitted rescreen (its output was not delivered) is not done:
	// the next run lists the same.
	if again, err := Rescreen(ctx, db, -1, false); err != nil || again.Addresses != 1 || again.Reported != r.Reported {
		t.Fatalf("rescreen after an uncommitted one: %+v, %v", again, err)
	}
	if err := r.Commit(db); err != nil {
		t.Fatal(err)
	}
	if again, err := Rescreen(ctx, db, -1, false); err != nil || again.Addresses != 0 {
		t.Fatalf("rescreen after a committed one: %+v, %v", again, err)
	}
}
