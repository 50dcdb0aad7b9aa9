package tagpack

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// dataDir holds the real GraphSense TagPacks (see its PROVENANCE.md).
const dataDir = "../../../shared/data/graphsense-tagpacks"

// realData returns dataDir, or skips the test when it is absent.
func realData(tb testing.TB) string {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "packs")); err != nil {
		tb.Skipf("real GraphSense TagPacks not available (%s absent): %v", dataDir, err)
	}
	return dataDir
}

func parseFile(tb testing.TB, path string) (*Pack, error) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return Parse(path, f, nil)
}

func mustParse(tb testing.TB, path string) *Pack {
	tb.Helper()
	p, err := parseFile(tb, path)
	if err != nil {
		tb.Fatalf("Parse(%s): %v", path, err)
	}
	return p
}

// realPacks pins, for each of the 44 public packs in the data set, the tags
// Parse keeps, how many of them are Bitcoin tags (network BTC), how many it
// dropped as duplicates, and how many it rejected for a bad Bitcoin address.
// PROVENANCE.md counts raw entries: kucoin 59 (54 + 5 duplicates), ofac 572
// with 385 BTC (one, TUCsTq…, is a TRON address), plustoken 12 (two
// mistyped).
var realPacks = []struct {
	file                      string
	tags, btc, dups, rejected int
}{
	{"Alt-Right.yaml", 517, 426, 0, 0},
	{"BITB_etf.yaml", 1, 1, 0, 0},
	{"africrypt-hack.yaml", 1, 1, 0, 0},
	{"aft-alqaeda-forfeit_vc.yaml", 155, 155, 0, 0},
	{"binance.yaml", 2, 2, 0, 0},
	{"binance_hack.yaml", 44, 44, 0, 0},
	{"blender_io.yaml", 45, 45, 0, 0},
	{"chaininfo.yaml", 122, 122, 0, 0},
	{"coinjoin_bounty.yaml", 1, 1, 0, 0},
	{"demo.yaml", 5, 1, 0, 0},
	{"electrum_phishing.yaml", 6, 3, 0, 0},
	{"etherhiding.yaml", 2, 0, 0, 0},
	{"exchange-wallets-binance.yaml", 86, 4, 0, 0},
	{"exchange-wallets-bitfinexcom.yaml", 135, 3, 0, 0},
	{"exchange-wallets-bybit.yaml", 8, 4, 0, 0},
	{"exchange-wallets-cryptocom.yaml", 10, 6, 0, 0},
	{"exchange-wallets-deribit.yaml", 18, 7, 0, 0},
	{"exchange-wallets-huobi.yaml", 58, 3, 0, 0},
	{"exchange-wallets-kucoin.yaml", 54, 4, 5, 0},
	{"exchange-wallets-okx.yaml", 36, 23, 0, 0},
	{"exchange-wallets-swissborg.yaml", 14, 6, 0, 0},
	{"forsage.yaml", 8, 0, 0, 0},
	{"hacks.yaml", 608, 608, 0, 0},
	{"hydra.yaml", 117, 117, 0, 0},
	{"interpol-real_services.yaml", 10, 7, 0, 0},
	{"lazarus.yaml", 21, 20, 0, 0},
	{"lazarus2.yaml", 6, 6, 0, 0},
	{"lockbit_tattoos.yaml", 18, 18, 0, 0},
	{"mixing_fc2021.yaml", 66, 66, 0, 0},
	{"ofac.yaml", 571, 384, 0, 1},
	{"plustoken.yaml", 10, 10, 0, 2},
	{"ponzi_scheme.yaml", 52, 52, 0, 0},
	{"protonmail.yaml", 1, 1, 0, 0},
	{"ransomware.yaml", 7178, 7178, 0, 0},
	{"ransomwhere.yaml", 7457, 7457, 0, 0},
	{"richest_addresses.yaml", 36, 36, 0, 0},
	{"ronin_bridge.yaml", 6, 0, 0, 0},
	{"service-wallets-checksig.yaml", 247, 247, 0, 0},
	{"sinbad_io.yaml", 2, 2, 0, 0},
	{"suidlanders.yaml", 2, 2, 0, 0},
	{"tornado_cash.yaml", 39, 0, 0, 0},
	{"twitter_hack_scam.yaml", 3, 3, 0, 0},
	{"walletexplorer.yaml", 386, 386, 0, 0},
	{"wasabi_collector.yaml", 2, 2, 0, 0},
}

// rejectedAddresses are the Bitcoin tags of the public packs that sleuth
// refuses and the tool only warns about, with the line of each address.
var rejectedAddresses = map[string][]struct {
	line int
	addr string
	err  error
}{
	"ofac.yaml": {{1069, "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", address.ErrFormat}}, // TRON, listed as BTC
	"plustoken.yaml": {
		{11, "1MFgcyJ7ZNSknbTBRaih6zWDE6V1A64tRYs", address.ErrChecksum},
		{31, "14bwh6gmvol5ntwbvxqjkjdtzv4y5ebtvm", address.ErrFormat}, // lower-cased base58
	},
}

func TestRealPacks(t *testing.T) {
	dir := filepath.Join(realData(t), "packs")
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	var want []string
	for _, rp := range realPacks {
		want = append(want, rp.file)
	}
	sort.Strings(want)
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("packs in %s:\n got %v\nwant %v", dir, names, want)
	}
	var total, totalBTC int
	for _, rp := range realPacks {
		t.Run(rp.file, func(t *testing.T) {
			path := filepath.Join(dir, rp.file)
			p, err := parseFile(t, path)
			if p == nil {
				t.Fatalf("Parse: %v", err)
			}
			btcTags := 0
			for i, tag := range p.Tags {
				if tag.Network == "BTC" {
					btcTags++
					if _, err := address.Decode(tag.Address, btc.Mainnet); tag.Address != "" && err != nil {
						t.Errorf("tag %d (line %d): %v", i, tag.Line, err)
					}
				}
				if tag.Label == "" || tag.Source == "" || tag.Currency == "" || tag.Network == "" || tag.Confidence == "" {
					t.Errorf("tag %d (line %d) lacks a mandatory field: %+v", i, tag.Line, tag)
				}
				if (tag.Address == "") == (tag.TxHash == "") {
					t.Errorf("tag %d (line %d): want exactly one of address and tx_hash", i, tag.Line)
				}
				if tag.ConfidenceLevel <= 0 || tag.ConfidenceLevel > 100 {
					t.Errorf("tag %d (line %d): confidence level %d", i, tag.Line, tag.ConfidenceLevel)
				}
			}
			t.Logf("%-34s %5d tags, %5d BTC, %d duplicates, %d rejected", rp.file, len(p.Tags), btcTags, p.Duplicates, p.Rejected)
			total += len(p.Tags)
			totalBTC += btcTags
			if len(p.Tags) != rp.tags || btcTags != rp.btc || p.Duplicates != rp.dups || p.Rejected != rp.rejected {
				t.Errorf("got %d tags, %d BTC, %d duplicates, %d rejected; want %d, %d, %d, %d",
					len(p.Tags), btcTags, p.Duplicates, p.Rejected, rp.tags, rp.btc, rp.dups, rp.rejected)
			}
			rej := rejectedAddresses[rp.file]
			if len(rej) == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrAddress) {
				t.Fatalf("Parse error %v, want ErrAddress", err)
			}
			got := allErrors(err)
			if len(got) != len(rej) {
				t.Fatalf("got %d errors, want %d: %v", len(got), len(rej), err)
			}
			for i, r := range rej {
				e := got[i]
				if e.Path != path || e.Line != r.line || e.Field != "address" || !strings.Contains(e.Error(), r.addr) ||
					!errors.Is(e, ErrAddress) || !errors.Is(e, r.err) {
					t.Errorf("error %d = %v (line %d); want line %d naming %s, wrapping %v", i, e, e.Line, r.line, r.addr, r.err)
				}
			}
		})
	}
	t.Logf("all packs: %d tags, %d BTC", total, totalBTC)
}

// allErrors flattens an *Error or *ErrorList.
func allErrors(err error) []*Error {
	var l *ErrorList
	if errors.As(err, &l) {
		return l.Errs
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

func findTag(p *Pack, addr string) *Tag {
	for i := range p.Tags {
		if p.Tags[i].Address == addr {
			return &p.Tags[i]
		}
	}
	return nil
}

func TestRealWannaCry(t *testing.T) {
	dir := filepath.Join(realData(t), "packs")
	p := mustParse(t, filepath.Join(dir, "ransomware.yaml"))
	if p.Title != "Ransomware Tagpack" || p.Creator != "Paquet-Clouston et al." ||
		!p.LastMod.Equal(time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("header: %q %q %v", p.Title, p.Creator, p.LastMod)
	}
	tag := findTag(p, "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn")
	if tag == nil {
		t.Fatal("WannaCry address 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn not found")
	}
	want := Tag{
		Line:             21514,
		Address:          "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn",
		Currency:         "BTC",
		Network:          "BTC",
		Label:            "Wannacry",
		Source:           "https://zenodo.org/record/1238041#.XLQwopMzZR4",
		Abuse:            "ransomware",
		Concepts:         []string{"ransomware"},
		Confidence:       "forensic",
		ConfidenceLevel:  50,
		IsClusterDefiner: true,
		LastMod:          time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC),
		TagType:          "actor",
	}
	if !reflect.DeepEqual(*tag, want) {
		t.Errorf("WannaCry tag:\n got %+v\nwant %+v", *tag, want)
	}
	n := 0
	for _, tg := range p.Tags {
		if tg.Label == "Wannacry" {
			n++
		}
	}
	if n != 5 {
		t.Errorf("%d Wannacry tags, want 5", n)
	}

	// The same address in ransomwhere.yaml: quoted, currency per tag.
	p = mustParse(t, filepath.Join(dir, "ransomwhere.yaml"))
	tag = findTag(p, "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn")
	if tag == nil || tag.Label != "WannaCry" || tag.Abuse != "ransomware" || tag.Currency != "BTC" || tag.Line != 54 {
		t.Errorf("ransomwhere WannaCry tag: %+v", tag)
	}
}

func TestRealInheritance(t *testing.T) {
	dir := filepath.Join(realData(t), "packs")

	// lazarus.yaml sets almost everything in the header.
	p := mustParse(t, filepath.Join(dir, "lazarus.yaml"))
	tag := findTag(p, "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak")
	if tag == nil || tag.Label != "Lazarus group" || tag.Actor != "lazarusgroup" || tag.Abuse != "sanction" ||
		tag.Category != "user" || tag.Confidence != "authority_data" || tag.ConfidenceLevel != 60 ||
		tag.IsClusterDefiner || !reflect.DeepEqual(tag.Concepts, []string{"sanction", "user"}) {
		t.Errorf("lazarus tag: %+v", tag)
	}

	// ofac.yaml has no confidence at all: the tool's default applies.
	p, err := parseFile(t, filepath.Join(dir, "ofac.yaml"))
	if p == nil {
		t.Fatal(err)
	}
	for _, tag := range p.Tags {
		if tag.Confidence != "unknown" || tag.ConfidenceLevel != 5 {
			t.Fatalf("ofac tag at line %d: confidence %q level %d, want unknown 5", tag.Line, tag.Confidence, tag.ConfidenceLevel)
		}
	}

	// hacks.yaml overrides label, source, category, abuse, actor per tag.
	p = mustParse(t, filepath.Join(dir, "hacks.yaml"))
	withAbuse, withCategory := 0, 0
	for _, tag := range p.Tags {
		if tag.Abuse != "" {
			withAbuse++
		}
		if tag.Category != "" {
			withCategory++
		}
		if tag.Confidence != "web_crawl" || tag.Currency != "BTC" {
			t.Fatalf("hacks tag at line %d: %+v", tag.Line, tag)
		}
	}
	if withAbuse != 178 || withCategory != 425 {
		t.Errorf("hacks: %d tags with abuse, %d with category; want 178, 425", withAbuse, withCategory)
	}
}

func TestInheritance(t *testing.T) {
	p := mustParse(t, "testdata/inherit.yaml")
	day := time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC)
	header := Tag{
		Currency: "BTC", Network: "BTC", Label: "Header Label", Source: "https://example.org/report",
		Abuse: "ransomware", Concepts: []string{"ransomware"}, Confidence: "forensic", ConfidenceLevel: 50,
		IsClusterDefiner: true, LastMod: day, TagType: "actor",
	}
	with := func(line int, f func(*Tag)) Tag {
		t := header
		t.Line = line
		f(&t)
		return t
	}
	want := []Tag{
		with(12, func(t *Tag) { t.Address = "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn" }),
		with(13, func(t *Tag) {
			t.Address = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq" // canonical: lower case
			t.Label = "Own Label"                                    // trimmed
			t.Confidence, t.ConfidenceLevel = "service_data", 50
			t.IsClusterDefiner = false
			t.Category = "exchange"
			t.Concepts = []string{"mixing_service", "ransomware", "exchange"}
			t.LastMod = time.Date(2022, 2, 3, 4, 5, 6, 500000000, time.FixedZone("", 3600))
		}),
		with(20, func(t *Tag) {
			t.Address = "0xfac583c0cf07ea434052c49115a4682172ab6b4f"
			t.Currency, t.Network = "USDT", "ETH"
		}),
		with(23, func(t *Tag) {
			t.Address = "LTC-ADDRESS-NOT-CHECKED" // not Bitcoin: not decoded
			t.Currency, t.Network = "LTC", "LTC"  // own currency sets own network
			t.Context = `{"note": "a mapping becomes JSON", "tags": ["Fraud", "kalashnikov rifles"]}`
			t.Concepts = []string{"ransomware", "abuse", "weapons"}
		}),
		with(28, func(t *Tag) {
			t.TxHash = "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4"
			t.TagType = "event"
		}),
	}
	if len(p.Tags) != len(want) {
		t.Fatalf("got %d tags, want %d: %+v", len(p.Tags), len(want), p.Tags)
	}
	for i := range want {
		got := p.Tags[i]
		if !got.LastMod.Equal(want[i].LastMod) {
			t.Errorf("tag %d: lastmod %v, want %v", i, got.LastMod, want[i].LastMod)
		}
		got.LastMod = want[i].LastMod
		if !reflect.DeepEqual(got, want[i]) {
			t.Errorf("tag %d:\n got %+v\nwant %+v", i, got, want[i])
		}
	}
	if p.Duplicates != 1 {
		t.Errorf("%d duplicates, want 1 (the last tag repeats the first, label in another case)", p.Duplicates)
	}
	if p.Description == "" || !p.LastMod.Equal(day) || p.IsPublic {
		t.Errorf("header: %+v", p)
	}
}

// badPacks: each hand-written bad pack and the exact errors it must give,
// as "line field sentinel" in file order.
var badPacks = []struct {
	file string
	want []string
}{
	{"bad_yaml.yaml", []string{"5  syntax"}},
	{"bad_checksum.yaml", []string{"9 address address", "10 address address"}},
	{"unknown_category.yaml", []string{"10 category taxonomy"}},
	{"unknown_confidence.yaml", []string{"6 confidence taxonomy"}},
	{"missing_mandatory.yaml", []string{"9 label schema"}},
	{"missing_creator.yaml", []string{"1 creator schema"}},
	{"wrong_type.yaml", []string{"9 is_cluster_definer schema", "11 label schema"}},
	{"unknown_field.yaml", []string{"7 colour schema", "10 title schema"}},
	{"duplicate_key.yaml", []string{"10 label schema"}},
	{"address_and_tx.yaml", []string{"8 address schema", "10 address schema"}},
	{"context_concept.yaml", []string{"9 context taxonomy"}},
}

var sentinels = map[string]error{
	"syntax": ErrSyntax, "schema": ErrSchema, "taxonomy": ErrTaxonomy, "address": ErrAddress,
}

func TestBadPacks(t *testing.T) {
	for _, bp := range badPacks {
		t.Run(bp.file, func(t *testing.T) {
			path := "testdata/" + bp.file
			p, err := parseFile(t, path)
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", p)
			}
			t.Logf("%v", err)
			got := allErrors(err)
			if len(got) != len(bp.want) {
				t.Fatalf("got %d errors, want %d: %v", len(got), len(bp.want), err)
			}
			for i, w := range bp.want {
				parts := strings.SplitN(w, " ", 3)
				e := got[i]
				if e.Path != path || itoa(e.Line) != parts[0] || e.Field != parts[1] || !errors.Is(e, sentinels[parts[2]]) {
					t.Errorf("error %d = %q; want %s:%s: %s: %v", i, e, path, parts[0], parts[1], sentinels[parts[2]])
				}
				prefix := path + ":" + parts[0] + ": "
				if parts[1] != "" {
					prefix += parts[1] + ": "
				}
				if !strings.HasPrefix(e.Error(), prefix) {
					t.Errorf("error %d = %q, want prefix %q", i, e, prefix)
				}
			}
			if onlyAddress := bp.file == "bad_checksum.yaml"; onlyAddress != (p != nil) {
				t.Errorf("pack returned: %v, want %v", p != nil, onlyAddress)
			}
			if p != nil && (len(p.Tags) != 2 || p.Rejected != 2) {
				t.Errorf("bad_checksum: kept %d tags, rejected %d; want 2, 2", len(p.Tags), p.Rejected)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// TestParseCases checks small rules one by one on inline packs.
func TestParseCases(t *testing.T) {
	const head = "title: t\ncreator: c\nsource: s\nlabel: l\nconfidence: forensic\n"
	cases := []struct {
		name, yaml string
		err        error // nil: must parse
		line       int   // of the first error
		check      func(*Pack) string
	}{
		{"empty file", "", ErrSchema, 0, nil},
		{"not a mapping", "- a\n- b\n", ErrSchema, 1, nil},
		{"two documents", head + "currency: BTC\ntags: []\n---\ntitle: x\n", ErrSyntax, 8, nil},
		{"no tags is fine", head + "currency: BTC\ntags: []\n", nil, 0, func(p *Pack) string {
			if len(p.Tags) != 0 {
				return "want no tags"
			}
			return ""
		}},
		{"tags null", head + "currency: BTC\ntags:\n", ErrSchema, 7, nil},
		{"tags not a list", head + "currency: BTC\ntags: x\n", ErrSchema, 7, nil},
		{"tag not a mapping", head + "currency: BTC\ntags:\n- 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", ErrSchema, 8, nil},
		{"blank label", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  label: '  '\n", ErrSchema, 9, nil},
		{"null value", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  actor: ~\n", ErrSchema, 9, nil},
		{"NUL in text", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  actor: \"a\\0b\"\n", ErrSchema, 9, nil},
		{"integer address", head + "currency: LTC\ntags:\n- address: 1234\n", ErrSchema, 8, nil},
		{"quoted header lastmod", head + "currency: BTC\nlastmod: '2022-1-5'\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", nil, 0, func(p *Pack) string {
			if !p.Tags[0].LastMod.Equal(time.Date(2022, 1, 5, 0, 0, 0, 0, time.UTC)) {
				return "lastmod not inherited from quoted header date"
			}
			return ""
		}},
		{"quoted tag lastmod", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  lastmod: '2022-01-05'\n", ErrSchema, 9, nil},
		{"impossible date", head + "currency: BTC\nlastmod: 2021-02-30\ntags: []\n", ErrSchema, 7, nil},
		{"yes is a boolean", head + "currency: BTC\nis_cluster_definer: yes\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", nil, 0, func(p *Pack) string {
			if !p.Tags[0].IsClusterDefiner {
				return "is_cluster_definer: yes not true"
			}
			return ""
		}},
		{"network defaults to currency", head + "currency: btc\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", nil, 0, func(p *Pack) string {
			if p.Tags[0].Currency != "BTC" || p.Tags[0].Network != "BTC" {
				return "currency/network not BTC"
			}
			return ""
		}},
		{"network without currency", head + "network: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", ErrSchema, 8, nil},
		{"header context mapping", head + "currency: BTC\ncontext:\n  a: b\ntags: []\n", ErrSchema, 8, nil},
		{"tag context date", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  context:\n    seen: 2021-01-01\n", ErrSchema, 10, nil},
		{"unknown tag type", head + "currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  tag_type: rumour\n", ErrTaxonomy, 9, nil},
		{"unknown concept in list", head + "currency: BTC\nconcepts: [exchange, bazaar]\ntags: []\n", ErrTaxonomy, 7, nil},
		{"header: block", "header:\n  title: t\n  creator: c\n  source: s\n  label: l\n  confidence: forensic\n  currency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", nil, 0, func(p *Pack) string {
			if p.Title != "t" || p.Tags[0].Label != "l" {
				return "header: block not merged"
			}
			return ""
		}},
		{"include not supported", head + "currency: BTC\ntags: !include other.yaml\n", ErrSchema, 7, nil},
		{"anchors and aliases", head + "currency: BTC\nactor: &a someone\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  label: *a\n", nil, 0, func(p *Pack) string {
			if p.Tags[0].Label != "someone" {
				return "alias not followed"
			}
			return ""
		}},
		{"merge key", head + "currency: BTC\ntags:\n- <<: {label: x}\n  address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n", ErrSchema, 8, nil},
		{"bech32m taproot", head + "currency: BTC\ntags:\n- address: bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0\n", nil, 0, nil},
		{"segwit typo", head + "currency: BTC\ntags:\n- address: bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kemeawh\n", ErrAddress, 8, nil},
		{"quoted BTC with blank", head + "currency: 'BTC '\ntags:\n- address: 1BadAddress\n", ErrAddress, 8, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse("case.yaml", strings.NewReader(tc.yaml), nil)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if tc.check != nil {
					if msg := tc.check(p); msg != "" {
						t.Error(msg)
					}
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("Parse error %v, want %v", err, tc.err)
			}
			if got := allErrors(err); len(got) == 0 || got[0].Line != tc.line {
				t.Errorf("error %v: want line %d", err, tc.line)
			}
		})
	}
}

// TestErrorLimit: a pack with many bad tags reports MaxErrors and counts the
// rest.
func TestErrorLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("title: t\ncreator: c\nsource: s\nlabel: l\nconfidence: forensic\ncurrency: BTC\ntags:\n")
	b.WriteString("- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n  category: nope\n")
	for range MaxErrors + 5 {
		b.WriteString("- address: 1BadAddress\n")
	}
	p, err := Parse("many.yaml", strings.NewReader(b.String()), nil)
	var l *ErrorList
	if !errors.As(err, &l) || len(l.Errs) != MaxErrors || l.Dropped != 6 || p != nil {
		t.Fatalf("got %v (pack %v)", err, p != nil)
	}
	if !errors.Is(err, ErrAddress) || !errors.Is(err, ErrTaxonomy) {
		t.Errorf("errors.Is does not see the list's elements")
	}
	if !strings.HasSuffix(err.Error(), "... and 6 more") {
		t.Errorf("error text ends %q", err.Error()[len(err.Error())-30:])
	}
}
