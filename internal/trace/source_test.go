package trace

import (
	"errors"
	"strings"
	"testing"
)

func TestParseSourceList(t *testing.T) {
	const txid = "c9e8eb57a83ce6bce2f1eb18b01973d805795637078aff25a214507e173f3a38"
	for i, c := range []struct {
		in    string
		lines []int
		kinds []sourceKind
		err   string // substring of the error; "" for none
	}{
		{in: txid + "\n" + txid + ":1\n\n# comment\n  1P49pfdQvaP6xmWYSRirVyYtwehCx1CuzH  # ransom\n2110\n",
			lines: []int{1, 2, 5, 6}, kinds: []sourceKind{srcTx, srcOutput, srcAddress, srcEntity}},
		{in: txid + "\r\n" + txid + ":0\r\n", lines: []int{1, 2}, kinds: []sourceKind{srcTx, srcOutput}},
		{in: "\n\n" + txid + ":x\n", err: "line 3: bad trace source: bad output index"},
		{in: txid + ":4294967296\n", err: "line 1: bad trace source: bad output index"},
		{in: "zz" + txid[2:] + ":0\n", err: "line 1: bad trace source: txid in"},
		{in: txid + " " + txid + "\n", err: "line 1: bad trace source: \"" + txid + " " + txid + "\": one source per argument or line"},
		{in: "99999999999999999999999\n", err: "line 1: bad trace source: entity id"},
		{in: strings.Repeat("a", 101) + "\n", err: "line 1: bad trace source: 101 characters"},
		{in: "# only comments\n\n", err: "bad trace source: no sources"},
		{in: "", err: "bad trace source: no sources"},
		{in: txid + "\n" + strings.Repeat("x", 70<<10), err: "line 2: bad trace source: longer than 64 KiB"},
	} {
		got, err := ParseSourceList(strings.NewReader(c.in))
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) || !errors.Is(err, ErrSource) {
				t.Errorf("#%d: error %v, want one containing %q wrapping ErrSource", i, err, c.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("#%d: %v", i, err)
			continue
		}
		if len(got) != len(c.lines) {
			t.Errorf("#%d: %d sources %+v, want lines %v", i, len(got), got, c.lines)
			continue
		}
		for j, l := range got {
			if l.Line != c.lines[j] || l.spec.kind != c.kinds[j] || strings.ContainsAny(l.Text, " #\r") {
				t.Errorf("#%d: source %d = line %d kind %d %q, want line %d kind %d", i, j, l.Line, l.spec.kind, l.Text, c.lines[j], c.kinds[j])
			}
		}
	}
}

// FuzzParseSourceList: any input is either refused with ErrSource (naming
// a line) or gives sources on increasing lines, each of which parses again
// to the same source.
func FuzzParseSourceList(f *testing.F) {
	f.Add("c9e8eb57a83ce6bce2f1eb18b01973d805795637078aff25a214507e173f3a38:1\n# x\n2110\n")
	f.Add("1P49pfdQvaP6xmWYSRirVyYtwehCx1CuzH\r\n\n bc1qemtr7lc0r4m0cxt49spfsqzhmjnt6rvsp0f7fw ")
	f.Add(":\n::0\n0:0\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := ParseSourceList(strings.NewReader(in))
		if err != nil {
			if !errors.Is(err, ErrSource) {
				t.Fatalf("error %v does not wrap ErrSource", err)
			}
			return
		}
		last := 0
		for _, l := range got {
			if l.Line <= last {
				t.Fatalf("lines out of order: %+v", got)
			}
			last = l.Line
			again, err := parseSpec(l.Text)
			if err != nil || again != l.spec {
				t.Fatalf("line %d %q parses again to %+v, %v; first %+v", l.Line, l.Text, again, err, l.spec)
			}
		}
	})
}
