package ofac

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// sharedData is the real OFAC data set beside the repository (see its
// PROVENANCE.md).
const sharedData = "../../../shared/data/ofac"

// realPath returns the path of a real data file, skipping the test when the
// data set is absent.
func realPath(tb testing.TB, name string) string {
	tb.Helper()
	p := filepath.Join(sharedData, name)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("real data %s not found (expected ../shared/data/ofac beside the repository): %v", p, err)
	}
	return p
}

func mustParseFile(tb testing.TB, path string) *List {
	tb.Helper()
	l, err := ParseFile(path)
	if err != nil {
		tb.Fatalf("ParseFile: %v", err)
	}
	checkList(tb, l)
	return l
}

// sdnCSVWant is what the real SDN.CSV of 2024-05-03 yields. Its Remarks
// column holds 204 XBT strings, 203 distinct: 195 distinct mainnet
// addresses (196 entries: 1H939dom… is listed for two people), 7 cut off at
// the 1000-character limit and 1 TRON address listed as XBT.
var sdnCSVWant = struct {
	entries, distinct int
	truncated         []Truncated // Line is checked only in the full file
	rejected          Rejected
}{
	entries:  196,
	distinct: 195,
	truncated: []Truncated{
		{Line: 7807, Fragment: "1Gq", EntNum: 30518, Name: "SECONDEYE SOLUTION"},
		{Line: 8382, Fragment: "1B64QRxf", EntNum: 33151, Name: "SUEX OTC, S.R.O."},
		{Line: 8650, Fragment: "3", EntNum: 33854, Name: "CHATEX"},
		{Line: 9774, Fragment: "1B11Ezqg3AXj", EntNum: 36216, Name: "HYDRA MARKET"},
		{Line: 10133, Fragment: "3F6bbvS1krsc1qR8FsbTDfYQyvkMm", EntNum: 37070, Name: "BLENDER.IO"},
		{Line: 10911, Fragment: "1N6XqS", EntNum: 39585, Name: "PEIJNENBURG, Alex Adrianus Martinus"},
		{Line: 10918, Fragment: "", EntNum: 39593, Name: "GRIMM, Matthew Simon"},
	},
	rejected: Rejected{Line: 12982, Value: "TUCsTq7TofTCJRRoHk6RvhMoS2mJLm5Yzq", EntNum: 45404, Name: "WANG, Mingming"},
}

// pinnedCSV are entries of the real SDN.CSV, with their line in the full
// file.
var pinnedCSV = []Entry{
	{Address: "12QtD5BFwRsdNsAZY76UVE1xyCGNTojH9h", Line: 5866, EntNum: 25308, Name: "YAN, Xiaobing", Program: "SDNTK"},
	// Lazarus Group launderers (DPRK).
	{Address: "134r8iHv69xdT6p5qVKTsHrcUEuBVZAYak", EntNum: 28263, Name: "TIAN, Yinyin", Program: "DPRK3] [CYBER2"},
	{Address: "15YK647qtoZQDzNrvY6HJL6QwXduLHfT28", EntNum: 28263, Name: "TIAN, Yinyin", Program: "DPRK3] [CYBER2", Alt: true},
	{Address: "1EfMVkxQQuZfBdocpJu6RUsCJvenQWbQyE", EntNum: 28264, Name: "LI, Jiadong", Program: "DPRK3] [CYBER2"},
	{Address: "bc1qq7p0es3dv5hcynjjf40f2xjjr6qp5py47d2f6n847vduuq9gvnyq7y9ecd", EntNum: 44437, Name: "SINBAD", Program: "DPRK3] [CYBER2"},
	{Address: "1986rYHckYbJpGQJy6ornuMyD2N5MTqwDt", EntNum: 42496, Name: "WU, Huihui", Program: "DPRK3"},
	// Ends exactly at the 1000-character cut, but with its ';': complete.
	{Address: "18yWCu6agTxYqAerMxiz9sgHrK3ViezzGa", EntNum: 42496, Name: "WU, Huihui", Program: "DPRK3", Alt: true},
	// Hydra: the first address survives, the last is cut (see above).
	{Address: "3K4rjdh8A5yi6LWvft2rbmyZvqEbPSSSX4", EntNum: 36216, Name: "HYDRA MARKET", Program: "CYBER2"},
	{Address: "17mhyeBX617ABZ1ffThhUTJkHUcMvCkfd5", EntNum: 36216, Name: "HYDRA MARKET", Program: "CYBER2", Alt: true},
	// The last remark of a row ends in '.', not ';'.
	{Address: "17a5bpKvEp1j1Trs4qTbcNZrby53JbaS9C", EntNum: 31811, Name: "FAYZIMATOV, Farrukh Furkatovitch", Program: "SDGT"},
	// One address, two people: two entries.
	{Address: "1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL", EntNum: 38419, Name: "KHATIBI AGHADA, Ahmad", Program: "IRGC] [IFSR] [CYBER2"},
	{Address: "1H939dom7i4WDLCKyGbXUp3fs9CSTNRzgL", EntNum: 38420, Name: "NIKAEEN RAVARI, Amir Hossein", Program: "IRGC] [IFSR] [CYBER2"},
	{Address: "bc1qsxf77cvwcd6jv6j8d8j3uhh4g0xqw4meswmwuc", EntNum: 38420, Name: "NIKAEEN RAVARI, Amir Hossein", Program: "IRGC] [IFSR] [CYBER2", Alt: true},
}

// checkSDNCSV checks a List parsed from the real SDN.CSV of 2024-05-03 or
// from its 45-row excerpt; full says which (lines differ).
func checkSDNCSV(t *testing.T, l *List, full bool) {
	t.Helper()
	if l.Format != SDNCSV {
		t.Errorf("Format = %q", l.Format)
	}
	if want := time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC); !l.Date.Equal(want) {
		t.Errorf("Date = %v, want %v (from the file name)", l.Date, want)
	}
	if len(l.Entries) != sdnCSVWant.entries || len(l.Addresses()) != sdnCSVWant.distinct {
		t.Errorf("%d entries, %d distinct addresses; want %d, %d", len(l.Entries), len(l.Addresses()), sdnCSVWant.entries, sdnCSVWant.distinct)
	}
	if len(l.Truncated) != len(sdnCSVWant.truncated) {
		t.Fatalf("%d truncated, want %d: %+v", len(l.Truncated), len(sdnCSVWant.truncated), l.Truncated)
	}
	for i, got := range l.Truncated {
		want := sdnCSVWant.truncated[i]
		if !full {
			want.Line = got.Line
		}
		if got != want {
			t.Errorf("Truncated[%d] = %+v, want %+v", i, got, want)
		}
	}
	if len(l.Rejected) != 1 {
		t.Fatalf("Rejected = %+v, want one", l.Rejected)
	}
	f := l.Rejected[0]
	if f.Reason == nil || f.Value != sdnCSVWant.rejected.Value || f.EntNum != sdnCSVWant.rejected.EntNum ||
		f.Name != sdnCSVWant.rejected.Name || (full && f.Line != sdnCSVWant.rejected.Line) {
		t.Errorf("Rejected[0] = %+v, want %+v", f, sdnCSVWant.rejected)
	}
	distinctStrings := len(l.Addresses()) + len(l.Truncated) + len(l.Rejected)
	if distinctStrings != 203 {
		t.Errorf("%d distinct XBT strings, want 203", distinctStrings)
	}
	for _, want := range pinnedCSV {
		i := slices.IndexFunc(l.Entries, func(e Entry) bool { return e.Address == want.Address && e.EntNum == want.EntNum })
		if i < 0 {
			t.Errorf("no entry %s for %d", want.Address, want.EntNum)
			continue
		}
		got := l.Entries[i]
		if want.Line == 0 || !full {
			want.Line = got.Line
		}
		if got != want {
			t.Errorf("entry %s:\n got %+v\nwant %+v", want.Address, got, want)
		}
	}
}

func TestRealSDNCSV(t *testing.T) {
	l := mustParseFile(t, realPath(t, "sdn_2024-05-03.csv.gz"))
	checkSDNCSV(t, l, true)
}

func TestRealSDNCSVExcerpt(t *testing.T) {
	full := mustParseFile(t, realPath(t, "sdn_2024-05-03.csv.gz"))
	l := mustParseFile(t, realPath(t, "sdn_2024-05-03_xbt_rows.csv"))
	checkSDNCSV(t, l, false)
	// The 45 rows are every row with an XBT address: the same entries, in
	// the same order, only on other lines.
	strip := func(es []Entry) []Entry {
		out := slices.Clone(es)
		for i := range out {
			out[i].Line = 0
		}
		return out
	}
	if !slices.Equal(strip(l.Entries), strip(full.Entries)) {
		t.Errorf("excerpt entries differ from the full file's")
	}
	if n := len(l.Entries); l.Entries[n-1].Line > 45 {
		t.Errorf("last entry on line %d of a 45-line file", l.Entries[n-1].Line)
	}
}

// TestRealSDNCSVAgainstXMLList checks SDN.CSV of 2024-05-03 against the
// XML-derived plain list of the day before: every address it imports is
// there, and every fragment it reports as cut is the start of exactly one
// address there: the cut-off rule drops nothing that was complete.
func TestRealSDNCSVAgainstXMLList(t *testing.T) {
	csvList := mustParseFile(t, realPath(t, "sdn_2024-05-03.csv.gz"))
	xmlList := mustParseFile(t, realPath(t, "xbt_history/sanctioned_addresses_XBT_2024-05-02.txt"))
	have := map[string]bool{}
	for _, a := range xmlList.Addresses() {
		have[a] = true
	}
	for _, e := range csvList.Entries {
		if !have[e.Address] {
			t.Errorf("%s (SDN.CSV line %d) not in the XML-derived list", e.Address, e.Line)
		}
	}
	for _, tr := range csvList.Truncated {
		if tr.Fragment == "" {
			continue
		}
		var matches []string
		for a := range have {
			if strings.HasPrefix(a, tr.Fragment) {
				matches = append(matches, a)
			}
		}
		// "3" and "1Gq" are too short to pick one out.
		if len(tr.Fragment) >= 6 && len(matches) != 1 {
			t.Errorf("fragment %q matches %v in the XML-derived list, want exactly one", tr.Fragment, matches)
		}
		if len(matches) == 0 {
			t.Errorf("fragment %q is the start of no address in the XML-derived list", tr.Fragment)
		}
	}
}

// historyCounts is the table of shared/data/ofac/PROVENANCE.md: lines per
// snapshot of sanctioned_addresses_XBT.txt.
var historyCounts = []struct {
	date string
	n    int
}{
	{"2022-09-03", 277}, {"2022-09-15", 283}, {"2022-09-16", 285}, {"2022-11-10", 339},
	{"2023-02-02", 340}, {"2023-03-01", 341}, {"2023-04-15", 342}, {"2023-04-25", 359},
	{"2023-05-24", 361}, {"2023-10-04", 370}, {"2023-10-19", 371}, {"2023-11-04", 374},
	{"2023-11-30", 376}, {"2024-02-21", 385}, {"2024-03-28", 386}, {"2024-05-02", 387},
	{"2024-05-08", 388}, {"2024-05-29", 434}, {"2024-09-27", 435},
}

func TestRealHistory(t *testing.T) {
	realPath(t, "xbt_history")
	files, _ := filepath.Glob(filepath.Join(sharedData, "xbt_history", "*.txt"))
	if len(files) != len(historyCounts) {
		t.Fatalf("%d snapshots, want %d", len(files), len(historyCounts))
	}
	var prev *List
	for _, c := range historyCounts {
		t.Run(c.date, func(t *testing.T) {
			l := mustParseFile(t, filepath.Join(sharedData, "xbt_history", "sanctioned_addresses_XBT_"+c.date+".txt"))
			if l.Format != AddressList {
				t.Errorf("Format = %q", l.Format)
			}
			if got := l.Date.Format(time.DateOnly); got != c.date {
				t.Errorf("Date = %s, want %s from the file name", got, c.date)
			}
			if got := len(l.Entries) + len(l.Rejected); got != c.n {
				t.Errorf("%d entries + %d foreign = %d, want %d", len(l.Entries), len(l.Rejected), got, c.n)
			}
			// OFAC's TRON-address-as-XBT reaches the lists on 2023-10-04.
			wantForeign := 0
			if c.date >= "2023-10-04" {
				wantForeign = 1
			}
			if len(l.Rejected) != wantForeign || (wantForeign == 1 && l.Rejected[0].Value != sdnCSVWant.rejected.Value) {
				t.Errorf("Rejected = %+v, want %d (the TRON address)", l.Rejected, wantForeign)
			}
			for i, e := range l.Entries {
				if e.EntNum != 0 || e.Name != "" || e.Program != "" || e.Alt {
					t.Errorf("entry %d of a plain list has SDN details: %+v", i, e)
				}
			}
			if prev != nil && len(l.Addresses()) < len(prev.Addresses()) {
				t.Errorf("%d addresses, fewer than the %d before", len(l.Addresses()), len(prev.Addresses()))
			}
			prev = l
		})
	}
}

func TestRealJSONEqualsTXT(t *testing.T) {
	txt := mustParseFile(t, realPath(t, "sanctioned_addresses_XBT.txt"))
	js := mustParseFile(t, realPath(t, "sanctioned_addresses_XBT.json"))
	if !slices.Equal(txt.Addresses(), js.Addresses()) || len(txt.Entries) != 434 {
		t.Errorf("txt has %d addresses, json %d; want the same 434", len(txt.Addresses()), len(js.Addresses()))
	}
	if len(js.Rejected) != 1 || len(txt.Rejected) != 1 || js.Rejected[0].Value != txt.Rejected[0].Value {
		t.Errorf("foreign: txt %+v, json %+v", txt.Rejected, js.Rejected)
	}
	// JSON lines: "[" is line 1, element i is on line i+2.
	for i, e := range js.Entries {
		if e.Line != txt.Entries[i].Line+1 {
			t.Fatalf("json entry %d (%s) on line %d, txt on %d", i, e.Address, e.Line, txt.Entries[i].Line)
		}
	}
	if !js.Date.IsZero() || !txt.Date.IsZero() {
		t.Errorf("undated file names gave dates %v, %v", txt.Date, js.Date)
	}
	latest := mustParseFile(t, realPath(t, "xbt_history/sanctioned_addresses_XBT_2024-09-27.txt"))
	if !slices.Equal(latest.Addresses(), txt.Addresses()) {
		t.Errorf("sanctioned_addresses_XBT.txt differs from the 2024-09-27 snapshot")
	}
}
