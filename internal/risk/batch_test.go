package risk

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// readCSVRows reads a CSV batch and returns its header and rows.
func readCSVRows(in, column string) ([]string, []Input, error) {
	var head []string
	var rows []Input
	err := ReadCSV(strings.NewReader(in), column, func(c []string) error { head = c; return nil },
		func(x *Input) error { rows = append(rows, *x); return nil })
	return head, rows, err
}

// row is an expected batch row: line, query and an Err substring ("" none).
type row struct {
	line  int
	query string
	err   string
}

func checkRows(t *testing.T, name string, got []Input, want []row) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d rows, want %d: %+v", name, len(got), len(want), got)
		return
	}
	for i, w := range want {
		g := got[i]
		if g.Line != w.line || g.Query != w.query || (w.err == "") != (g.Err == "") || !strings.Contains(g.Err, w.err) {
			t.Errorf("%s: row %d: %+v, want %+v", name, i, g, w)
		}
		if g.Err != "" && !strings.HasPrefix(g.Err, fmt.Sprintf("line %d: ", g.Line)) {
			t.Errorf("%s: row %d: error %q does not name its line", name, i, g.Err)
		}
	}
}

func TestReadCSV(t *testing.T) {
	cases := []struct {
		name, in, column string
		head             []string
		rows             []row
		err              error
	}{
		{"header address", "id,address,note\n1,1A,x\n2,1B,y\n", "", []string{"id", "address", "note"},
			[]row{{2, "1A", ""}, {3, "1B", ""}}, nil},
		{"header addr, CRLF, spaces", "Addr ,id\r\n 1A ,1\r\n", "", []string{"Addr ", "id"}, []row{{2, "1A", ""}}, nil},
		{"--column", "wallet,id\n1A,1\n", "wallet", []string{"wallet", "id"}, []row{{2, "1A", ""}}, nil},
		{"--column missing", "wallet,id\n1A,1\n", "addr", nil, nil, ErrNoColumn},
		{"no address column", "a,b\n1A,1\n", "", nil, nil, ErrNoColumn},
		{"one per line, no header", "1A\n\n# comment\n1B\n", "", []string{"address"}, []row{{1, "1A", ""}, {4, "1B", ""}}, nil},
		{"wrong field count", "address,id\n1A,1\n1B\n1C,3,extra\n", "", []string{"address", "id"},
			[]row{{2, "1A", ""}, {3, "1B", "1 fields, the header has 2"}, {4, "1C", "3 fields, the header has 2"}}, nil},
		{"empty address", "address,id\n,1\n  ,2\n", "", []string{"address", "id"},
			[]row{{2, "", "empty address"}, {3, "", "empty address"}}, nil},
		{"bad quoting", "address,id\n\"1A,1\n1B\"x,2\n1C,3\n", "", []string{"address", "id"},
			[]row{{2, "", "unparsable"}, {3, "", "unparsable"}, {4, "1C", ""}}, nil},
		{"quoted ok", "address,id\n\"1A\",\"a,b\"\n", "", []string{"address", "id"}, []row{{2, "1A", ""}}, nil},
		{"no final newline", "address\n1A", "", []string{"address"}, []row{{2, "1A", ""}}, nil},
		{"empty file", "", "", nil, nil, nil},
		{"too long", "address\n" + strings.Repeat("x", MaxLine+10) + "\n1B\n", "", []string{"address"},
			[]row{{2, "", "longer than"}, {3, "1B", ""}}, nil},
	}
	for _, c := range cases {
		head, rows, err := readCSVRows(c.in, c.column)
		if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
			t.Errorf("%s: error %v, want %v", c.name, err, c.err)
			continue
		}
		if err != nil {
			continue
		}
		if strings.Join(head, "|") != strings.Join(c.head, "|") {
			t.Errorf("%s: header %q, want %q", c.name, head, c.head)
		}
		checkRows(t, c.name, rows, c.rows)
		for _, r := range rows {
			if len(r.Fields) != len(head) {
				t.Errorf("%s: line %d: %d fields for %d columns", c.name, r.Line, len(r.Fields), len(head))
			}
		}
	}
}

func readJSONLRows(in, column string) ([]Input, error) {
	var rows []Input
	err := ReadJSONL(strings.NewReader(in), column, func(x *Input) error { rows = append(rows, *x); return nil })
	return rows, err
}

func TestReadJSONL(t *testing.T) {
	cases := []struct {
		name, in, column string
		rows             []row
	}{
		{"objects and strings", `{"address":"1A","id":7}` + "\n\n" + `"1B"` + "\n", "", []row{{1, "1A", ""}, {3, "1B", ""}}},
		{"--column", `{"wallet":" 1A "}`, "wallet", []row{{1, "1A", ""}}},
		{"missing field", `{"addr":"1A"}`, "", []row{{1, "", `no "address" field`}}},
		{"not a string", `{"address":5}`, "", []row{{1, "", "not a string"}}},
		{"not JSON", "{\"address\":\n1A\n", "", []row{{1, "", "unparsable"}, {2, "", "want a JSON object or string"}}},
		{"array", `["1A"]`, "", []row{{1, "", "want a JSON object or string"}}},
		{"empty string", `""`, "", []row{{1, "", "empty address"}}},
		{"bad string", `"1A`, "", []row{{1, "", "unparsable"}}},
	}
	for _, c := range cases {
		rows, err := readJSONLRows(c.in, c.column)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		checkRows(t, c.name, rows, c.rows)
	}
	rows, _ := readJSONLRows(`{"address":"1A","id":7,"tags":["a"]}`, "")
	if string(rows[0].Object["id"]) != "7" || string(rows[0].Object["tags"]) != `["a"]` {
		t.Fatalf("fields not kept: %+v", rows[0].Object)
	}
}

// TestBatchWriters: a CSV answer keeps every input column and adds the
// result columns; a JSON-lines answer keeps every input field and adds
// "screen" (risk null unless assessed).
func TestBatchWriters(t *testing.T) {
	b := &Basis{TipHeight: 42, Date: "2024-05-29"}
	low := Low
	assessed := &Report{Query: "1A", Address: "1A", Status: Assessed, Risk: Low, RiskJSON: &low, Exposure: []Row{}, Reasons: []string{}}
	invalid := &Report{Query: "1B", Status: Invalid, Reason: "line 3: empty address", Exposure: []Row{}, Reasons: []string{}}
	var buf bytes.Buffer
	cw, err := NewCSVWriter(&buf, []string{"id", "address", "status"}, b)
	if err != nil {
		t.Fatal(err)
	}
	cw.Write(&Input{Line: 2, Query: "1A", Fields: []string{"7", "1A", "x"}}, assessed)
	cw.Write(&Input{Line: 3, Fields: []string{"8", "", ""}}, invalid)
	if err := cw.Flush(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	want := []string{
		"id,address,status,screen_line,screen_status,screen_reason,screen_risk,screen_reasons,screen_entity,screen_received,screen_sent,screen_exposure,screen_method,screen_tip_height,screen_basis_date",
		"7,1A,x,2,assessed,,Low,,,0,0,,,42,2024-05-29",
		"8,,,3,invalid,line 3: empty address,,,,0,0,,,42,2024-05-29",
	}
	if strings.Join(lines, "\n") != strings.Join(want, "\n") {
		t.Fatalf("CSV:\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	buf.Reset()
	jw := NewJSONLWriter(&buf, b)
	jw.Write(&Input{Line: 1, Query: "1A", Object: map[string]json.RawMessage{"address": []byte(`"1A"`), "id": []byte("7")}}, assessed)
	jw.Write(&Input{Line: 2, Raw: "{oops"}, invalid)
	jw.Write(&Input{Line: 3, Query: "1A"}, assessed)
	var got []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		got = append(got, m)
	}
	sc := func(i int) map[string]any { return got[i]["screen"].(map[string]any) }
	if got[0]["id"] != 7.0 || sc(0)["risk"] != "Low" || sc(0)["line"] != 1.0 || sc(0)["tip_height"] != 42.0 || sc(0)["basis_date"] != "2024-05-29" {
		t.Fatalf("line 1: %v", got[0])
	}
	if got[1]["input"] != "{oops" || sc(1)["risk"] != nil || sc(1)["status"] != "invalid" {
		t.Fatalf("line 2: %v", got[1])
	}
	if got[2]["address"] != "1A" {
		t.Fatalf("line 3: %v", got[2])
	}
}

// FuzzReadCSV: any input is read without panic; every row names its line
// (increasing), has the header's width, and has an address or an error.
func FuzzReadCSV(f *testing.F) {
	for _, s := range []string{"address,id\n1A,1\n", "1A\n1B\n", "a,\"b\nc", "address\n\"\"\"\n,\n", "addr;x\n1A;2\n", "\xff\xfe,address\n"} {
		f.Add(s, "")
	}
	f.Add("wallet,id\n1A,1\n", "wallet")
	f.Fuzz(func(t *testing.T, in, column string) {
		var head []string
		last := 0
		err := ReadCSV(strings.NewReader(in), column, func(c []string) error { head = c; return nil }, func(x *Input) error {
			if x.Line <= last || len(x.Fields) != len(head) || x.Query == "" && x.Err == "" {
				t.Fatalf("row %+v after line %d, header %q", x, last, head)
			}
			last = x.Line
			return nil
		})
		if err != nil && !errors.Is(err, ErrNoColumn) && !strings.Contains(err.Error(), "header") {
			t.Fatalf("error %v", err)
		}
	})
}

// FuzzReadJSONL: any input is read without panic; every row names its
// line and has an address or an error.
func FuzzReadJSONL(f *testing.F) {
	for _, s := range []string{`{"address":"1A"}`, `"1A"` + "\n" + `{"x":1}`, "{", `{"address":null}`, "\"\\u0000\""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		last := 0
		err := ReadJSONL(strings.NewReader(in), "", func(x *Input) error {
			if x.Line <= last || x.Query == "" && x.Err == "" {
				t.Fatalf("row %+v after line %d", x, last)
			}
			last = x.Line
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

// TestBatchFile reads the batch in testdata with both readers.
func TestBatchFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "batch.csv"))
	if err != nil {
		t.Fatal(err)
	}
	head, rows, err := readCSVRows(string(b), "")
	if err != nil {
		t.Fatal(err)
	}
	bad := 0
	for _, r := range rows {
		if r.Err != "" {
			bad++
		}
	}
	if len(head) != 3 || len(rows) != 6 || bad != 3 {
		t.Fatalf("header %q, %d rows, %d bad: %+v", head, len(rows), bad, rows)
	}
}

// FuzzParseCSVLine: a line without quotes, split directly, gives what
// encoding/csv makes of it.
func FuzzParseCSVLine(f *testing.F) {
	for _, s := range []string{"a,b,c", "", ",", " a , b", "a\tb,c", "\xff,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		if strings.ContainsAny(line, "\"\r\n") {
			return
		}
		got, err := parseCSVLine([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(strings.NewReader(line))
		cr.FieldsPerRecord = -1
		want, err := cr.Read()
		if errors.Is(err, io.EOF) {
			want, err = []string{""}, nil
		}
		if err != nil {
			t.Fatalf("%q: encoding/csv: %v", line, err)
		}
		if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
			t.Fatalf("%q: %q, encoding/csv %q", line, got, want)
		}
	})
}
