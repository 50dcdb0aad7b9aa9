package ofac

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// checkList asserts the invariants of the package doc (O2–O4) on l.
func checkList(tb testing.TB, l *List) {
	tb.Helper()
	if l.Path == "" || l.Format == "" {
		tb.Errorf("List without Path or Format: %q %q", l.Path, l.Format)
	}
	type key struct {
		k   string
		ent int
	}
	seen := map[key]bool{}
	prev := 0
	for i, e := range l.Entries {
		k, err := address.Decode(e.Address, btc.Mainnet)
		if err != nil {
			tb.Errorf("O2: entry %d %q does not decode: %v", i, e.Address, err)
			continue
		}
		kk := key{string(k.Bytes()), e.EntNum}
		if seen[kk] {
			tb.Errorf("O3: entry %d %q for %d twice", i, e.Address, e.EntNum)
		}
		seen[kk] = true
		if e.Line < 1 || e.Line < prev {
			tb.Errorf("O4: entry %d on line %d after line %d", i, e.Line, prev)
		}
		prev = e.Line
	}
	for i, tr := range l.Truncated {
		if decodes(tr.Fragment) || tr.Line < 1 {
			tb.Errorf("O2: truncated %d %+v decodes or has no line", i, tr)
		}
	}
	for i, f := range l.Rejected {
		if decodes(f.Value) || !intactForeign(f.Value) || f.Reason == nil || f.Line < 1 {
			tb.Errorf("O2: foreign %d %+v is not an intact non-mainnet address", i, f)
		}
	}
}

// csvRow builds one SDN.CSV row (CRLF-terminated) with the given remarks.
func csvRow(ent, name, program, remarks string) string {
	return ent + `,"` + name + `","individual","` + program + `",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,"` + remarks + "\"\r\n"
}

const (
	addrA    = "1986rYHckYbJpGQJy6ornuMyD2N5MTqwDt"         // WU, Huihui
	addrB    = "125W5ek3DT6Zqy5S2iPt4FHQdNMCbZA3FU"         // WU, Huihui
	addrBech = "bc1q3y5v2khlyvemcz042wl98dzflywr8ghglqws6s" // KHATIBI AGHADA, Ahmad
	addrTRON = "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq"
	addrTest = "mipcBbFg9gMiCh81Kj8tqqdgoZub1ZJRfn" // a testnet3 P2PKH address
	badSum   = "1986rYHckYbJpGQJy6ornuMyD2N5MTqwDa" // addrA with its last character changed
)

// remarksOf pads a Remarks field with "x" to exactly n characters so that
// it ends with tail.
func remarksOf(n int, tail string) string {
	head := "DOB 1988; "
	return head + strings.Repeat("x", n-len(head)-len(tail)) + tail
}

func TestSDNCSVRules(t *testing.T) {
	xbt := "Digital Currency Address - XBT "
	cut := addrA[:30] // not prefix-like by length: only the 1000 limit says it is cut
	cases := []struct {
		name      string
		in        string
		entries   []Entry // Line 1 unless set
		truncated []string
		foreign   []string
		err       error
	}{
		{"one address and an alt", csvRow("42496", "WU, Huihui", "DPRK3", xbt+addrA+"; alt. "+xbt+addrB+"."),
			[]Entry{{Address: addrA, EntNum: 42496, Name: "WU, Huihui", Program: "DPRK3"},
				{Address: addrB, EntNum: 42496, Name: "WU, Huihui", Program: "DPRK3", Alt: true}}, nil, nil, nil},
		{"unterminated at the end of a short field but complete", csvRow("1", "A", "P", "Gender Male; "+xbt+addrA),
			[]Entry{{Address: addrA, EntNum: 1, Name: "A", Program: "P"}}, nil, nil, nil},
		{"cut by the 1000 limit", csvRow("1", "A", "P", remarksOf(RemarksLimit, "; alt. "+xbt+cut)),
			nil, []string{cut}, nil, nil},
		{"the same cut one character short of the limit is damaged", csvRow("1", "A", "P", remarksOf(RemarksLimit-1, "; alt. "+xbt+cut)),
			nil, nil, nil, ErrAddress},
		{"complete at the limit with its ;", csvRow("1", "A", "P", remarksOf(RemarksLimit, "; alt. "+xbt+addrA+";")),
			[]Entry{{Address: addrA, EntNum: 1, Name: "A", Program: "P", Alt: true}}, nil, nil, nil},
		{"prefix-like fragment mid-field", csvRow("1", "A", "P", xbt+"1B11Ezqg3AXj; "+xbt+addrB+";"),
			[]Entry{{Address: addrB, EntNum: 1, Name: "A", Program: "P"}}, []string{"1B11Ezqg3AXj"}, nil, nil},
		{"label at the very end", csvRow("1", "A", "P", "Gender Male; alt. Digital Currency Address - XBT"),
			nil, []string{""}, nil, nil},
		{"bad checksum mid-field", csvRow("1", "A", "P", xbt+badSum+"; "+xbt+addrB+";"), nil, nil, nil, ErrAddress},
		{"TRON address published as XBT", csvRow("45404", "WANG, Mingming", "X", xbt+addrTRON+";"),
			nil, nil, []string{addrTRON}, nil},
		{"testnet address published as XBT", csvRow("1", "A", "P", xbt+addrTest+";"), nil, nil, []string{addrTest}, nil},
		{"another ticker starting with XBT is not read", csvRow("1", "A", "P", "Digital Currency Address - XBTX foo;"),
			nil, nil, nil, nil},
		{"same address twice in a row, and in upper case", csvRow("1", "A", "P", xbt+addrBech+"; "+xbt+addrA+"; alt. "+xbt+strings.ToUpper(addrBech)+"; "+xbt+addrA+";"),
			[]Entry{{Address: addrBech, EntNum: 1, Name: "A", Program: "P"}, {Address: addrA, EntNum: 1, Name: "A", Program: "P"}}, nil, nil, nil},
		{"same address for two entities", csvRow("1", "A", "P", xbt+addrA+";") + csvRow("2", "B", "P", xbt+addrA+";"),
			[]Entry{{Address: addrA, EntNum: 1, Name: "A", Program: "P"}, {Address: addrA, EntNum: 2, Name: "B", Program: "P", Line: 2}}, nil, nil, nil},
		{"latin-1 name, empty program, DOS end-of-file byte", "7,\"M\xdcLLER, J\xfcrgen\",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,\"" + xbt + addrA + ".\"\r\n\x1a",
			[]Entry{{Address: addrA, EntNum: 7, Name: "MÜLLER, Jürgen"}}, nil, nil, nil},
		{"remarks spanning lines", csvRow("1", "A", "P", "a\r\nb; "+xbt+addrA+";"),
			[]Entry{{Address: addrA, EntNum: 1, Name: "A", Program: "P", Line: 2}}, nil, nil, nil},
		{"byte-order mark", "\xef\xbb\xbf" + csvRow("1", "A", "P", xbt+addrA+"."),
			[]Entry{{Address: addrA, EntNum: 1, Name: "A", Program: "P"}}, nil, nil, nil},
		{"rows without addresses", csvRow("1", "A", "P", "-0- ") + csvRow("2", "B", "P", "DOB 1960."), nil, nil, nil, nil},
		{"empty", "", nil, nil, nil, ErrFormat},
		{"only the end-of-file byte", "\x1a", nil, nil, nil, ErrFormat},
		{"data after the end-of-file byte", csvRow("1", "A", "P", "") + "\x1a\r\n" + csvRow("2", "B", "P", ""), nil, nil, nil, ErrFormat},
		{"11 columns", `1,"A","individual","P",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ` + "\r\n", nil, nil, nil, ErrFormat},
		{"ent_num not a number", csvRow("x1", "A", "P", ""), nil, nil, nil, ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, err := Parse("sdn.csv", strings.NewReader(c.in), SDNCSV)
			if c.err != nil {
				if !errors.Is(err, c.err) || l != nil {
					t.Fatalf("got %v, %v; want error %v", l, err, c.err)
				}
				var pe *Error
				if !errors.As(err, &pe) || pe.Path != "sdn.csv" {
					t.Errorf("error %v is not an *Error for sdn.csv", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			checkList(t, l)
			if len(l.Entries) != len(c.entries) {
				t.Fatalf("entries %+v, want %+v", l.Entries, c.entries)
			}
			for i, want := range c.entries {
				if want.Line == 0 {
					want.Line = 1
				}
				if l.Entries[i] != want {
					t.Errorf("entry %d = %+v, want %+v", i, l.Entries[i], want)
				}
			}
			var tr, fo []string
			for _, x := range l.Truncated {
				tr = append(tr, x.Fragment)
			}
			for _, x := range l.Rejected {
				fo = append(fo, x.Value)
			}
			if strings.Join(tr, "|") != strings.Join(c.truncated, "|") || len(tr) != len(c.truncated) {
				t.Errorf("truncated %q, want %q", tr, c.truncated)
			}
			if strings.Join(fo, "|") != strings.Join(c.foreign, "|") {
				t.Errorf("foreign %q, want %q", fo, c.foreign)
			}
		})
	}
}

// TestErrors checks that broken inputs fail whole, with the right sentinel
// and the line of the problem.
func TestErrors(t *testing.T) {
	excerpt, err := os.ReadFile("testdata/sdn_advanced_excerpt.xml")
	if err != nil {
		t.Fatal(err)
	}
	xmlHead := `<Sanctions xmlns="https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML">` + "\n"
	refs := `<ReferenceValueSets><FeatureTypeValues><FeatureType ID="344">Digital Currency Address - XBT</FeatureType></FeatureTypeValues></ReferenceValueSets>` + "\n"
	party := func(v string) string {
		return `<DistinctParties><DistinctParty FixedRef="1"><Profile ID="1">` + "\n" +
			`<Feature FeatureTypeID="344"><FeatureVersion><VersionDetail>` + v + `</VersionDetail></FeatureVersion></Feature>` + "\n" +
			`</Profile></DistinctParty></DistinctParties>` + "\n"
	}
	cases := []struct {
		name   string
		file   string // in testdata, read with ParseFile
		in     string // else parsed with Parse as format f
		f      Format
		err    error
		line   int
		substr string
	}{
		{name: "empty SDN.CSV (a failed download)", file: "sdn_empty.csv", err: ErrFormat, substr: "testdata/sdn_empty.csv: not a well-formed OFAC file: empty file"},
		{name: "unbalanced quote", file: "sdn_unbalanced_quote.csv", err: ErrFormat, line: 2, substr: `extraneous or missing " in quoted-field`},
		{name: "bad checksum in a plain list", file: "list_bad_checksum.txt", err: address.ErrChecksum, line: 3,
			substr: `testdata/list_bad_checksum.txt:3: damaged XBT address: decode "12HQDsicffSBaYdJ6BhnE22sfjTESmmzKa": bad checksum`},
		{name: "broken XML", file: "sdn_advanced_broken.xml", err: ErrFormat, line: 12, substr: "element <Feature> closed by </Profile>"},
		{name: "cut XML", in: string(excerpt[:len(excerpt)/2]), f: SDNAdvancedXML, err: ErrFormat, substr: "XML: unexpected EOF"},
		{name: "XML, wrong root", in: `<sdnList/>`, f: SDNAdvancedXML, err: ErrFormat, line: 1, substr: "root element <sdnList>"},
		{name: "XML, unknown namespace", in: `<Sanctions xmlns="urn:x"/>`, f: SDNAdvancedXML, err: ErrFormat, substr: `namespace "urn:x"`},
		{name: "XML, no document", in: "  ", f: SDNAdvancedXML, err: ErrFormat, substr: "no <Sanctions> document"},
		{name: "XML, parties before reference values", in: xmlHead + party(addrA) + refs + "</Sanctions>", f: SDNAdvancedXML, err: ErrFormat, line: 2},
		{name: "XML, impossible date", in: xmlHead + "<DateOfIssue><Year>2024</Year><Month>2</Month><Day>30</Day></DateOfIssue>\n</Sanctions>", f: SDNAdvancedXML, err: ErrFormat, line: 2, substr: "2024-02-30"},
		{name: "XML, empty XBT value", in: xmlHead + refs + party("") + "</Sanctions>", f: SDNAdvancedXML, err: ErrAddress, line: 4},
		{name: "XML, bad checksum", in: xmlHead + refs + party(badSum) + "</Sanctions>", f: SDNAdvancedXML, err: address.ErrChecksum, line: 4},
		{name: "XML, a second root", in: xmlHead + refs + "</Sanctions>\n<Sanctions/>", f: SDNAdvancedXML, err: ErrFormat, line: 4},
		{name: "JSON, not closed", in: "[\n  \"" + addrA + "\",\n", f: AddressList, err: ErrFormat, line: 3},
		{name: "JSON, a number", in: "[\n  \"" + addrA + "\",\n  7\n]\n", f: AddressList, err: ErrFormat, line: 3, substr: "element 1 is not a string"},
		{name: "JSON, bad checksum", in: "[\n  \"" + addrA + "\",\n  \"" + badSum + "\"\n]\n", f: AddressList, err: ErrAddress, line: 3},
		{name: "JSON, trailing data", in: "[\"" + addrA + "\"]\n[]", f: AddressList, err: ErrFormat, line: 2},
		{name: "JSON, empty array", in: "[]", f: AddressList, err: ErrFormat},
		{name: "JSON, an object", in: `{"a": 1}`, f: AddressList, err: ErrFormat},
		{name: "text, blank line", in: addrA + "\n\n" + addrB + "\n", f: AddressList, err: ErrFormat, line: 2},
		{name: "text, a fragment", in: addrA + "\n1B11Ezqg3AXj\n", f: AddressList, err: ErrAddress, line: 2},
		{name: "text, trailing space", in: addrA + " \n", f: AddressList, err: ErrAddress, line: 1},
		{name: "text, empty", in: "", f: AddressList, err: ErrFormat},
		{name: "unknown format", in: addrA, f: "pdf", err: ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var (
				l   *List
				err error
			)
			if c.file != "" {
				l, err = ParseFile(filepath.Join("testdata", c.file))
			} else {
				l, err = Parse("in", strings.NewReader(c.in), c.f)
			}
			if l != nil || !errors.Is(err, c.err) {
				t.Fatalf("got %+v, %v; want error %v", l, err, c.err)
			}
			var pe *Error
			if !errors.As(err, &pe) {
				t.Fatalf("%v is not an *Error", err)
			}
			if c.line != 0 && pe.Line != c.line {
				t.Errorf("line %d, want %d: %v", pe.Line, c.line, err)
			}
			if !errors.Is(err, ErrFormat) && !errors.Is(err, ErrAddress) {
				t.Errorf("O5: %v wraps neither ErrFormat nor ErrAddress", err)
			}
			if !strings.Contains(err.Error(), c.substr) {
				t.Errorf("error %q does not contain %q", err, c.substr)
			}
		})
	}
}

func TestAdvancedXMLExcerpt(t *testing.T) {
	l := mustParseFile(t, "testdata/sdn_advanced_excerpt.xml")
	if l.Format != SDNAdvancedXML {
		t.Errorf("Format = %q", l.Format)
	}
	if want := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC); !l.Date.Equal(want) {
		t.Errorf("Date = %v, want %v from DateOfIssue", l.Date, want)
	}
	const iran = "IRGC] [IFSR] [CYBER2"
	want := []Entry{
		{Address: "3K4rjdh8A5yi6LWvft2rbmyZvqEbPSSSX4", Line: 82, EntNum: 36216, Name: "HYDRA MARKET", Program: "CYBER2"},
		{Address: "1B11Ezqg3AXjFhMdRq5UpPDpNyriYNVtkn", Line: 88, EntNum: 36216, Name: "HYDRA MARKET", Program: "CYBER2"},
		{Address: "1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL", Line: 118, EntNum: 38419, Name: "KHATIBI AGHADA, Ahmad", Program: iran},
		{Address: addrBech, Line: 124, EntNum: 38419, Name: "KHATIBI AGHADA, Ahmad", Program: iran},
		{Address: "1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL", Line: 154, EntNum: 38420, Name: "NIKAEEN RAVARI, Amir Hossein", Program: iran},
		{Address: addrA, Line: 184, EntNum: 42496, Name: "WU, Huihui", Program: "DPRK3"},
		{Address: "1MLPqwaFFUBZePTjpR3nxRoK19Cv9mPCc7", Line: 214, EntNum: 45404, Name: "WANG, Mingming", Program: "ILLICIT-DRUGS-EO14059"},
	}
	if len(l.Entries) != len(want) {
		t.Fatalf("%d entries %+v, want %d", len(l.Entries), l.Entries, len(want))
	}
	for i := range want {
		if l.Entries[i] != want[i] {
			t.Errorf("entry %d:\n got %+v\nwant %+v", i, l.Entries[i], want[i])
		}
	}
	if len(l.Truncated) != 0 || len(l.Rejected) != 1 || l.Rejected[0].Value != addrTRON ||
		l.Rejected[0].EntNum != 45404 || l.Rejected[0].Name != "WANG, Mingming" || l.Rejected[0].Line != 220 {
		t.Errorf("truncated %+v, foreign %+v", l.Truncated, l.Rejected)
	}

	// The older namespace reads the same; no namespace does not.
	old := bytes.Replace(readFile(t, "testdata/sdn_advanced_excerpt.xml"),
		[]byte("https://sanctionslistservice.ofac.treas.gov/api/PublicationPreview/exports/ADVANCED_XML"),
		[]byte("http://www.un.org/sanctions/1.0"), 1)
	l2, err := Parse("old.xml", bytes.NewReader(old), SDNAdvancedXML)
	if err != nil || len(l2.Entries) != len(want) {
		t.Errorf("old namespace: %v, %d entries", err, len(l2.Entries))
	}

	// Names and programs agree with SDN.CSV for the same entities; Hydra's
	// second address is the one SDN.CSV cuts.
	p := filepath.Join(sharedData, "sdn_2024-05-03.csv.gz")
	if _, err := os.Stat(p); err != nil {
		t.Logf("skipping the comparison with SDN.CSV: %v", err)
		return
	}
	csvList := mustParseFile(t, p)
	for _, e := range l.Entries {
		i := indexEntry(csvList.Entries, e.Address, e.EntNum)
		if i < 0 {
			if e.Address != "1B11Ezqg3AXjFhMdRq5UpPDpNyriYNVtkn" {
				t.Errorf("%s for %d is not in SDN.CSV", e.Address, e.EntNum)
			}
			continue
		}
		if c := csvList.Entries[i]; c.Name != e.Name || c.Program != e.Program {
			t.Errorf("%s: XML %q %q, SDN.CSV %q %q", e.Address, e.Name, e.Program, c.Name, c.Program)
		}
	}
}

func indexEntry(es []Entry, addr string, ent int) int {
	for i, e := range es {
		if e.Address == addr && e.EntNum == ent {
			return i
		}
	}
	return -1
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func TestDetect(t *testing.T) {
	cases := []struct {
		path, head string
		want       Format
		err        bool
	}{
		{"sdn.csv", `36,"AEROCARIBBEAN AIRLINES",-0- ,"CUBA",-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ,-0- ` + "\r\n", SDNCSV, false},
		{"list.txt", addrA + "\n" + addrB + "\n", AddressList, false},
		{"list", "\xef\xbb\xbf" + addrA + "\r\n", AddressList, false},
		{"list.json", "\n[\n  \"" + addrA + "\"\n]\n", AddressList, false},
		{"a.xml", `<?xml version="1.0"?>` + "\n<Sanctions xmlns=\"x\">", SDNAdvancedXML, false},
		{"sdn.xml", `<?xml version="1.0"?><sdnList>`, "", true},
		{"other.xml", `<html>`, "", true},
		{"empty.csv", "", "", true},
		{"blank.csv", " \r\n\x1a", "", true},
		{"header.csv", "ent_num,SDN_Name\r\n", "", true},
		{"README.md", "# title\n", "", true},
	}
	for _, c := range cases {
		got, err := Detect(c.path, []byte(c.head))
		if got != c.want || (err != nil) != c.err {
			t.Errorf("Detect(%q, %q) = %q, %v; want %q, error %v", c.path, c.head, got, err, c.want, c.err)
		}
		if err != nil && !errors.Is(err, ErrFormat) {
			t.Errorf("Detect(%q): %v is not ErrFormat", c.path, err)
		}
	}
}

func TestDateFromName(t *testing.T) {
	cases := []struct{ path, want string }{
		{"sdn_2024-05-03.csv", "2024-05-03"},
		{"/x/2020-01-01/sdn_2024-05-03.csv.gz", "2024-05-03"},
		{"sanctioned_addresses_XBT_2022-09-03.txt", "2022-09-03"},
		{"a_2022-09-03_b_2023-01-02.txt", "2023-01-02"},
		{"a_2023-01-02_2023-02-30.txt", "2023-01-02"}, // the last valid one
		{"sanctioned_addresses_XBT.txt", ""},
		{"sdn_20240503.csv", ""},
	}
	for _, c := range cases {
		got := DateFromName(c.path)
		s := ""
		if !got.IsZero() {
			s = got.Format(time.DateOnly)
		}
		if s != c.want || (!got.IsZero() && got.Location() != time.UTC) {
			t.Errorf("DateFromName(%q) = %v, want %q", c.path, got, c.want)
		}
	}
}

func TestPrefixLike(t *testing.T) {
	cases := []struct {
		s    string
		want bool
	}{
		{"", true}, {"b", true}, {"BC", true}, {"1", true}, {"3", true}, {"1Gq", true},
		{"1B11Ezqg3AXj", true}, {"3F6bbvS1krsc1qR8FsbTDfYQyvkMm", true}, {"bc1q3y5v2k", true}, {"BC1Q3Y5V", true},
		{addrA[:25], true}, {addrA[:26], false}, {addrA, false}, {"3F6bbvS1krsc1qR8FsbTDfYQyvkMm3QvmR", false},
		{addrBech[:41], true}, {addrBech, false}, {"bc1Q3y", false}, {"bc1qb", false}, // 'b' is not bech32
		{"1O0", false}, {"2abc", false}, {addrTRON[:10], false}, {"tb1q", false}, {"1ab c", false},
	}
	for _, c := range cases {
		if got := prefixLike(c.s); got != c.want {
			t.Errorf("prefixLike(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

func TestIntactForeign(t *testing.T) {
	cases := []struct {
		s    string
		want bool
	}{
		{addrTRON, true},
		{addrTest, true},
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsx", true},  // BIP173 testnet vector
		{"ltc1qg42tkwuuxefutzxezdkdel39gfstuap288mfea", true}, // a Litecoin bech32 address
		{"LaMT348PWRnrqeeWArpwQPbuanpXDZGEUz", true},          // a Litecoin base58 address
		{"BC1SW50QGDZ25J", true},                              // BIP350 vector: witness v16, 2-byte program
		{"tb1qw508d6qejxtdg4y5r3zarvary0c5xw7kxpjzsy", false}, // last character changed
		{badSum, false},         // bad checksum
		{"1B11Ezqg3AXj", false}, // fragment
		{"0xfac583c0cf07ea434052c49115a4682172ab6b4f", false}, // Ethereum: no checksum to verify
		{"1111111111111111111114oLvT2", true},                 // the all-zero P2PKH: intact (rule 1 takes it first)
		{strings.Repeat("1", 30), false},                      // 30 zero bytes: no checksum
		{"", false},
	}
	for _, c := range cases {
		if got := intactForeign(c.s); got != c.want {
			t.Errorf("intactForeign(%q) = %v, want %v", c.s, got, c.want)
		}
	}
}

// TestOpenGzip reads a gzipped plain list and rejects a corrupt one.
func TestOpenGzip(t *testing.T) {
	dir := t.TempDir()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte(addrA + "\n" + addrB + "\n"))
	zw.Close()
	good := filepath.Join(dir, "sanctioned_addresses_XBT_2024-01-02.txt.gz")
	if err := os.WriteFile(good, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := ParseFile(good)
	if err != nil || len(l.Entries) != 2 || l.Date.Format(time.DateOnly) != "2024-01-02" {
		t.Fatalf("ParseFile(gz) = %+v, %v", l, err)
	}
	bad := filepath.Join(dir, "bad.txt.gz")
	b := buf.Bytes()
	if err := os.WriteFile(bad, b[:len(b)-6], 0o644); err != nil { // cut inside the trailer
		t.Fatal(err)
	}
	if l, err := ParseFile(bad); l != nil || !errors.Is(err, ErrFormat) {
		t.Errorf("cut gzip: %+v, %v; want ErrFormat", l, err)
	}
	if _, err := ParseFile(filepath.Join(dir, "missing.csv")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}
