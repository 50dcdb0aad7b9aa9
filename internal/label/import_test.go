package label

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/ofac"
)

// TestImportRealOFAC imports the 19 real dated snapshots of OFAC's XBT list
// and the real SDN.CSV into a store holding the real 2018 and 2019 blocks,
// then rescreens: payments in those blocks to addresses OFAC listed only in
// November 2022 must be found, each marked as made before the listing.
func TestImportRealOFAC(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	var raws []string
	for _, f := range []string{"btc-blocks/block-540107.raw", "btc-blocks/block-574200.raw"} {
		raws = append(raws, need(t, f))
	}
	if _, err := db.Ingest(ctx, index.IngestOptions{RawBlocks: raws}); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(need(t, "ofac/xbt_history"), "*.txt"))
	files = append(files, need(t, "ofac/sdn_2024-05-03.csv.gz"))
	start := time.Now()
	var rejected []string
	for _, f := range files {
		r, err := ImportFile(ctx, db, f, ImportOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rejected = append(rejected, r.Rejected...)
	}
	if err := Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	t.Logf("imported %d OFAC files in %s", len(files), time.Since(start))
	st, err := ReadStats(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if st.Addresses != 434 || len(st.Sources) != 1 || len(st.Sources[0].Publications) != 20 {
		t.Fatalf("stats: %d addresses, %+v", st.Addresses, st.Sources)
	}
	// The TRON address in 10 snapshots and SDN.CSV, and SDN.CSV's 7 cut-off addresses.
	tron, cut := 0, 0
	for _, r := range rejected {
		switch {
		case strings.Contains(r, "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"):
			tron++
		case strings.Contains(r, "cut-off address"):
			cut++
		default:
			t.Errorf("unexpected rejection %s", r)
		}
	}
	if tron != 11 || cut != 7 {
		t.Fatalf("rejected %d TRON and %d cut-off entries, want 11 and 7", tron, cut)
	}
	// A named SDN.CSV entry keeps its name over the plain lists' label.
	vs, err := ShowAddress(ctx, db, "1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL", time.Time{})
	if err != nil || len(vs) != 1 || !strings.HasPrefix(vs[0].Label, "OFAC SDN: ") || vs[0].Category != "sanction" {
		t.Fatalf("named entry: %+v, %v", vs, err)
	}

	r, err := Rescreen(ctx, db, -1, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range r.Hits {
		if !h.BeforeListing || h.ListedFrom == nil || *h.ListedFrom != "2022-11-10" {
			t.Errorf("hit %+v: want before a 2022-11-10 listing", h)
		}
		got = append(got, h.TxID[:16]+" "+h.Direction)
	}
	slices.Sort(got)
	want := []string{
		"2f5ebca0e6725720 sent",     // block 540107 (2018-09-05), spending from 343w3Xh6…
		"41f366c2afcc222f received", // block 574200 (2019-05-02), 0.38796959 BTC to 1NpHuti9…
		"672efec283775f51 sent",
		"8b8ff43ffe521627 sent",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("rescreen hits %v, want %v", got, want)
	}
}

// TestImportBadFiles: broken inputs are refused with path:line and leave
// the store unchanged.
func TestImportBadFiles(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	dir := t.TempDir()
	cases := []struct {
		name, content, want string
		is                  error
	}{
		{"bad_checksum.txt", "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n12t9YDPgwueZ9NyMgw519p7AA8isjr6SMx\n", "bad_checksum.txt:2", nil},
		{"empty_2024-01-01.csv", "", "empty", ofac.ErrFormat},
		{"broken.yaml", "title: x\ncreator: y\ntags:\n  - address: [unclosed\n", "broken.yaml:", nil},
		{"unknown_category.yaml", "title: x\ncreator: y\nlabel: z\nsource: s\ncurrency: BTC\nconfidence: forensic\ncategory: not_a_concept\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", "unknown_category.yaml:7", nil},
		{"wrong_net.yaml", "title: x\ncreator: y\nlabel: z\nsource: s\ncurrency: BTC\nconfidence: forensic\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n- address: mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn\n", "wrong_net.yaml:9", nil},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ImportFile(ctx, db, p, ImportOptions{Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), Strict: true})
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.is != nil && !errors.Is(err, c.is)) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.want)
		}
	}
	if st, _ := ReadStats(ctx, db); st.Labels != 0 || len(st.Sources) != 0 {
		t.Fatalf("refused files stored something: %+v", st)
	}
	// Without Strict, an OFAC list is imported without its damaged entry,
	// reported at its line, and counts as partial: it does not end the
	// listing of the address the entry stood for.
	apply(t, db, listBatch(t, []string{"12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw"}, time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), true))
	r, err := ImportFile(ctx, db, filepath.Join(dir, "bad_checksum.txt"), ImportOptions{Date: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil || r.Labels != 1 || len(r.Rejected) != 1 || !strings.Contains(r.Rejected[0], "bad_checksum.txt:2") {
		t.Fatalf("bad_checksum.txt without strict: %+v, %v", r, err)
	}
	if st, _ := ReadStats(ctx, db); len(st.Sources) != 1 || len(st.Sources[0].Publications) != 2 {
		t.Fatalf("after the list: %+v", st)
	}
	if vs, err := ShowAddress(ctx, db, "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw", time.Time{}); err != nil || len(vs) != 1 || vs[0].ListedTo != nil {
		t.Fatalf("a damaged entry ended a listing: %+v, %v", vs, err)
	}
	// A sound pack is imported without its invalid tag, which is reported
	// at its line; a broken one is still refused whole.
	r, err = ImportFile(ctx, db, filepath.Join(dir, "wrong_net.yaml"), ImportOptions{})
	if err != nil || r.Labels != 1 || len(r.Rejected) != 1 || !strings.Contains(r.Rejected[0], "wrong_net.yaml:9") {
		t.Fatalf("wrong_net.yaml without strict: %+v, %v", r, err)
	}
	for _, name := range []string{"broken.yaml", "unknown_category.yaml"} {
		if _, err := ImportFile(ctx, db, filepath.Join(dir, name), ImportOptions{}); err == nil {
			t.Fatalf("%s imported without strict", name)
		}
	}
}

// TestImportAllReal imports every real TagPack (the two with undecodable
// addresses refused by Strict, then imported without it), the real ActorPack and the 19 OFAC
// snapshots, and checks the counts and a known tag.
func TestImportAllReal(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	packs, _ := filepath.Glob(filepath.Join(need(t, "graphsense-tagpacks/packs"), "*.yaml"))
	snaps, _ := filepath.Glob(filepath.Join(need(t, "ofac/xbt_history"), "*.txt"))
	if len(packs) != 44 || len(snaps) != 19 {
		t.Fatalf("%d packs and %d snapshots, want 44 and 19", len(packs), len(snaps))
	}
	start := time.Now()
	labels, strict, rejected := 0, 0, 0
	for _, f := range append(packs, snaps...) {
		r, err := ImportFile(ctx, db, f, ImportOptions{Strict: true})
		if err == nil {
			strict++
		} else {
			r, err = ImportFile(ctx, db, f, ImportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rejected += len(r.Rejected)
		}
		if r.Kind == "tagpack" {
			labels += r.Labels
		}
	}
	r, err := ImportFile(ctx, db, need(t, "graphsense-tagpacks/actors/graphsense.actorpack.yaml"), ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := Refresh(ctx, db); err != nil {
		t.Fatal(err)
	}
	elapsed := time.Since(start)
	st, err := ReadStats(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("imported 44 packs (%d labels), 3,813 actors and 19 snapshots in %s: %d labels on %d addresses", labels, elapsed, st.Labels, st.Addresses)
	// 42 packs import as they are; ofac.yaml (a TRON address) and
	// plustoken.yaml (a bad checksum, a lower-cased address) need to go
	// without Strict, and so do the 10 snapshots listing a TRON address
	// (reported).
	if strict != 42+9 || rejected != 3+10 || r.Actors != 3813 || labels != 17463 {
		t.Fatalf("%d files strictly, %d rejected tags, %d actors, %d pack labels", strict, rejected, r.Actors, labels)
	}
	vs, err := ShowAddress(ctx, db, "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, v := range vs {
		if v.Abuse == "ransomware" && v.ConfidenceID == "forensic" && v.Confidence == 50 && v.Via == "address" {
			found = true
		}
	}
	if !found {
		t.Fatalf("WannaCry address: %+v", vs)
	}
	if a, err := Actor(db, "lazarusgroup"); err != nil || a == nil || a.Label == "" {
		t.Fatalf("actor lazarusgroup: %+v, %v", a, err)
	}
}

// TestOFACPackIsSanction: GraphSense's ofac.yaml declares category "user",
// but its source is OFAC's SDN list: every one of its Bitcoin tags lands
// as a sanction that defines the entity, as an OFAC list import does.
// Its TRON address is reported at its line and left out.
func TestOFACPackIsSanction(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	path := need(t, "graphsense-tagpacks/packs/ofac.yaml")
	if _, err := ImportFile(ctx, db, path, ImportOptions{Strict: true}); err == nil {
		t.Fatal("strict import of a pack with another chain's address succeeded")
	}
	r, err := ImportFile(ctx, db, path, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Rejected) != 1 || !strings.Contains(r.Rejected[0], "ofac.yaml:") {
		t.Fatalf("rejected: %q", r.Rejected)
	}
	st, err := ReadStats(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	// 572 tags: 385 with currency BTC (one of them a TRON address), 187
	// of other chains.
	if st.ByAbuse["sanction"] != r.Labels || st.ByCategory["user"] != r.Labels || r.Labels != 384 || r.Skipped != 187 {
		t.Fatalf("%d labels, %d other chains', by abuse %v, by category %v", r.Labels, r.Skipped, st.ByAbuse, st.ByCategory)
	}
	vs, err := ShowAddress(ctx, db, "3K35dyL85fR9ht7UgzPfd1gLRRXQtNTqE3", time.Time{})
	if err != nil || len(vs) != 1 || vs[0].Abuse != "sanction" || !vs[0].ClusterDefiner {
		t.Fatalf("first tag: %+v, %v", vs, err)
	}
	for _, c := range []struct {
		src  string
		want bool
	}{
		{"https://www.treasury.gov/ofac/downloads/sdnlist.txt", true},
		{"https://sanctionssearch.ofac.treas.gov/Details.aspx?id=1", true},
		{"https://ofac.treasury.gov/recent-actions", true},
		{"https://www.walletexplorer.com", false},
	} {
		if SanctionsSource(c.src) != c.want {
			t.Errorf("SanctionsSource(%q) = %v", c.src, !c.want)
		}
	}
}

// TestPackTxTags: a TagPack's tags on transactions are stored as
// incidents of its source; a new version of the pack replaces them and
// removing the source removes them.
func TestPackTxTags(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	const tx1 = "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"
	const tx2 = "0e3e2357e806b6cdb1f70b54c3a3a17b6714ee1f0e68bebb44a74b1efd512098"
	dir := t.TempDir()
	pack := func(name string, txs ...string) string {
		body := "title: hack\ncreator: tests\nlabel: stolen\nsource: https://example.org/report\ncurrency: BTC\nconfidence: forensic\nabuse: service_hack\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n"
		for _, tx := range txs {
			body += "- tx_hash: " + tx + "\n"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := pack("hack.yaml", tx1, tx2)
	r, err := ImportFile(ctx, db, p, ImportOptions{Strict: true})
	if err != nil || r.Incidents != 2 || r.Labels != 1 {
		t.Fatalf("import: %+v, %v", r, err)
	}
	if st, err := ReadStats(ctx, db); err != nil || st.Incidents != 2 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	ins, err := Incidents(ctx, db)
	if err != nil || len(ins) != 2 || ins[0].TxID != tx1 || ins[0].Category != "service_hack" || ins[0].Vout != AllOutputs || ins[0].Name != "stolen" {
		t.Fatalf("incidents: %+v, %v", ins, err)
	}
	own, err := AddIncident(ctx, db, Incident{TxID: tx2, Vout: 1, Category: "theft", Source: "case 9"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ImportFile(ctx, db, pack("hack.yaml", tx2), ImportOptions{Strict: true}); err != nil {
		t.Fatal(err)
	}
	if ins, _ = Incidents(ctx, db); len(ins) != 2 || ins[0].ID != own.ID || ins[1].TxID != tx2 || ins[1].Vout != AllOutputs {
		t.Fatalf("after re-import: %+v", ins)
	}
	rm, err := RemoveSource(ctx, db, "hack (hack.yaml)")
	if err != nil || rm.Incidents != 1 || rm.Labels != 1 {
		t.Fatalf("remove source: %+v, %v", rm, err)
	}
	if ins, _ = Incidents(ctx, db); len(ins) != 1 || ins[0].ID != own.ID {
		t.Fatalf("after removing the source: %+v", ins)
	}
	if _, err := RemoveIncidents(ctx, db, own.ID, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := RemoveIncidents(ctx, db, own.ID, ""); !errors.Is(err, ErrNoIncident) {
		t.Fatalf("removing a removed incident: %v", err)
	}
	if _, err := AddIncident(ctx, db, Incident{TxID: "f4184f", Category: "theft", Source: "s"}); err == nil {
		t.Fatal("short txid accepted")
	}
}

// TestRemove: label remove by id, by address and source; counts stay true.
func TestRemove(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	const a, b = "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", "12t9YDPgwueZ9NyMgw519p7AA8isjr6SMw"
	apply(t, db, &Batch{Kind: "tagpack", Source: "p", File: "p.yaml", Digest: "1", Labels: []Label{{Address: mustKey(t, a), Label: "A"}, {Address: mustKey(t, b), Label: "B"}}})
	r1, err := AddOwn(ctx, db, a, false, Label{Label: "mine", Category: "exchange", Source: "case", Confidence: 70})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := AddOwn(ctx, db, b, false, Label{Label: "mine too", Category: "exchange", Source: "case", Confidence: 70}); err != nil {
		t.Fatal(err)
	}
	if rm, err := Remove(ctx, db, RemoveSpec{Import: r1.Import}); err != nil || rm.Labels != 1 || len(rm.Addresses) != 1 || rm.Addresses[0] != a {
		t.Fatalf("by id: %+v, %v", rm, err)
	}
	if rm, err := Remove(ctx, db, RemoveSpec{Address: b, Source: "p"}); err != nil || rm.Labels != 1 {
		t.Fatalf("by address and source: %+v, %v", rm, err)
	}
	if _, err := Remove(ctx, db, RemoveSpec{Address: b, Source: "p"}); !errors.Is(err, ErrNoLabel) {
		t.Fatalf("again: %v", err)
	}
	if _, err := Remove(ctx, db, RemoveSpec{Source: "nope"}); !errors.Is(err, ErrNoLabel) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("unknown source: %v", err)
	}
	st, err := ReadStats(ctx, db)
	if err != nil || st.Labels != 2 || st.Sources[0].Labels != 1 || st.Sources[1].Labels != 1 {
		t.Fatalf("stats: %+v, %v", st, err)
	}
	vs, _ := ShowAddress(ctx, db, b, time.Time{})
	if len(vs) != 1 || vs[0].Label != "mine too" {
		t.Fatalf("b's labels: %+v", vs)
	}
}
