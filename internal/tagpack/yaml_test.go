package tagpack

import (
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// TestResolvePlain pins PyYAML's YAML 1.1 typing of plain scalars (checked
// against PyYAML 6.0 yaml.safe_load).
func TestResolvePlain(t *testing.T) {
	cases := []struct {
		s    string
		want kind
	}{
		{"", kNull}, {"~", kNull}, {"null", kNull}, {"Null", kNull}, {"NULL", kNull}, {"nULL", kStr},
		{"yes", kBool}, {"No", kBool}, {"ON", kBool}, {"off", kBool}, {"true", kBool}, {"False", kBool},
		{"y", kStr}, {"n", kStr}, {"yEs", kStr},
		{"0", kInt}, {"-12", kInt}, {"+7", kInt}, {"1_000", kInt}, {"0x1F", kInt}, {"0b101", kInt}, {"017", kInt},
		{"190:20:30", kInt}, {"08", kStr}, {"0o17", kStr}, {"1e5", kStr},
		{"1.5", kFloat}, {"-.5", kStr}, {".5", kFloat}, {"1.", kFloat}, {"6.8523015e+5", kFloat}, {".inf", kFloat},
		{"-.Inf", kFloat}, {".NaN", kFloat}, {"190:20:30.15", kFloat},
		{"2021-11-14", kTimestamp}, {"2021-1-14", kStr}, {"2001-12-14t21:59:43.10-05:00", kTimestamp},
		{"2001-12-14 21:59:43.10 -5", kTimestamp}, {"2001-12-15 2:59:43.10", kTimestamp}, {"2021-11-14T10:00", kStr},
		{"115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", kStr}, {"0xfac583c0cf07ea434052c49115a4682172ab6b4f", kInt},
		{"bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", kStr}, {"BTC", kStr}, {"forensic", kStr},
	}
	for _, c := range cases {
		if got, ok := resolvePlain(c.s); !ok || got != c.want {
			t.Errorf("resolvePlain(%q) = %v, %v; want %v", c.s, got, ok, c.want)
		}
	}
	for _, s := range []string{"<<", "="} {
		if _, ok := resolvePlain(s); ok {
			t.Errorf("resolvePlain(%q) ok", s)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	cases := []struct {
		s    string
		want time.Time
	}{
		{"2021-11-14", time.Date(2021, 11, 14, 0, 0, 0, 0, time.UTC)},
		{"2001-12-14t21:59:43.10-05:00", time.Date(2001, 12, 14, 21, 59, 43, 100000000, time.FixedZone("", -5*3600))},
		{"2001-12-14 21:59:43.1234567 Z", time.Date(2001, 12, 14, 21, 59, 43, 123456000, time.UTC)},
		{"2001-12-15 2:59:43", time.Date(2001, 12, 15, 2, 59, 43, 0, time.UTC)},
	}
	for _, c := range cases {
		got, err := parseTimestamp(c.s)
		if err != nil || !got.Equal(c.want) {
			t.Errorf("parseTimestamp(%q) = %v, %v; want %v", c.s, got, err, c.want)
		}
	}
	for _, s := range []string{"2021-02-30", "2021-13-01", "2021-01-01 25:00:00", "0000-01-01"} {
		if _, err := parseTimestamp(s); err == nil {
			t.Errorf("parseTimestamp(%q) succeeded", s)
		}
	}
}

// TestContextJSON pins the JSON the tool's json.dumps writes for a context
// given as a YAML mapping.
func TestContextJSON(t *testing.T) {
	cases := []struct{ yaml, want string }{
		{"{b: 1, a: [x, 'y']}", `{"b": 1, "a": ["x", "y"]}`},
		{"{n: ~, t: yes, f: off, i: 0x10, o: 010, s: 1:30}", `{"n": null, "t": true, "f": false, "i": 16, "o": 8, "s": 90}`},
		{"{f: 1.5, g: 3., h: 1.0e+20, k: .inf, l: -.inf, m: 0.00001}", `{"f": 1.5, "g": 3.0, "h": 1e+20, "k": Infinity, "l": -Infinity, "m": 1e-05}`},
		{`{u: "Grüße \"q\" \\ é 😀", c: "a\tb\nc\u0001"}`, `{"u": "Gr\u00fc\u00dfe \"q\" \\ \u00e9 \ud83d\ude00", "c": "a\tb\nc\u0001"}`},
		{"{a: &x [1, 2], b: *x}", `{"a": [1, 2], "b": [1, 2]}`},
	}
	for _, c := range cases {
		var doc yaml.Node
		if err := yaml.Unmarshal([]byte(c.yaml), &doc); err != nil {
			t.Fatal(err)
		}
		w := &jsonWriter{}
		if err := w.value(doc.Content[0], 0); err != nil {
			t.Errorf("%s: %v", c.yaml, err)
			continue
		}
		if got := w.b.String(); got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.yaml, got, c.want)
		}
	}
	// Dates: an error for tags, str() for actors.
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte("{d: 2021-01-02, t: 2021-01-02 03:04:05+01:00}"), &doc); err != nil {
		t.Fatal(err)
	}
	if err := (&jsonWriter{}).value(doc.Content[0], 0); err == nil {
		t.Error("date in a tag context accepted")
	}
	w := &jsonWriter{datesAsStrings: true}
	if err := w.value(doc.Content[0], 0); err != nil || w.b.String() != `{"d": "2021-01-02", "t": "2021-01-02 03:04:05+01:00"}` {
		t.Errorf("actor context with dates: %s, %v", w.b.String(), err)
	}
	// A cyclic alias is cut off, not followed forever.
	if err := yaml.Unmarshal([]byte("&a [*a]"), &doc); err == nil {
		if err := (&jsonWriter{}).value(doc.Content[0], 0); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("cyclic alias: %v", err)
		}
	}
}

func TestSyntaxErrorLines(t *testing.T) {
	// yaml.v3 keeps only one mark per error: for parser problems the start
	// of the construct being parsed, which may be above the line at fault.
	cases := []struct {
		yaml string
		line int
	}{
		{"title: a\ncreator: b\ntags:\n- address: [x\n", 4},                   // flow sequence never closed
		{"title: a\ncreator: b\n  bad: indent\n", 3},                          // scanner
		{"title: a\ncreator: 'unterminated\ntags: []\n", 2},                   // quoted scalar never closed
		{"title: a\ncreator: b\ntags:\n- address: x\n label: y\n", 5},         // bad indentation
		{"title: a\ncreator: b\ntags: *nowhere\n", 3},                         // unknown alias
		{"title: a\ncreator: b\ntags:\n- a: 1\n\tb: 2\n", 4},                  // tab, in the scalar begun above
		{"title: a\ncreator: b\ntags: []\n...\ntitle: c\n", 5},                // second document
		{"%YAML 1.2\n---\ntitle: a\n", 1},                                     // directive
		{"title: a\ncreator: b\ntags:\n  - x\n - y\n", 5},                     // dedented entry
		{"title: a\n\"creator\n", 2},                                          // unterminated key
		{"title: a\ncreator: b\ntags:\n- address: x\n  label: y\n  - z\n", 4}, // entry inside the mapping begun at 4
		{"title: a\ncreator: b\x01\n", 2},                                     // control character
		{"title: a\ncreator: b\ntags: \xff\n", 3},                             // invalid UTF-8
		{"[\n", 2}, // parser problem at the end
		{"]\n", 1}, // first line
	}
	for _, c := range cases {
		_, err := Parse("s.yaml", strings.NewReader(c.yaml), nil)
		e := allErrors(err)
		if len(e) != 1 || e[0].Line != c.line {
			t.Errorf("%q: %v; want line %d", c.yaml, err, c.line)
		}
	}
}

// TestHostileInput: inputs built to make the parser do quadratic or
// exponential work must fail fast.
func TestHostileInput(t *testing.T) {
	// A tag with 50,000 keys.
	var b strings.Builder
	b.WriteString("title: t\ncreator: c\ntags:\n- address: a\n")
	for i := range 50000 {
		b.WriteString("  k")
		b.WriteString(itoa(i + 1))
		b.WriteString(": v\n")
	}
	start := time.Now()
	if _, err := Parse("keys.yaml", strings.NewReader(b.String()), nil); err == nil {
		t.Error("50,000 unknown keys accepted")
	}
	// Exponential aliases in a context, referenced by many tags.
	b.Reset()
	b.WriteString("title: t\ncreator: c\nsource: s\nlabel: l\ncurrency: LTC\nconfidence: forensic\n")
	b.WriteString("x0: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 10; i++ {
		b.WriteString("x" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	b.WriteString("tags:\n")
	for i := range 1000 {
		b.WriteString("- address: a" + itoa(i+1) + "\n  context: {bomb: *a9}\n")
	}
	if _, err := Parse("bomb.yaml", strings.NewReader(b.String()), nil); err == nil {
		t.Error("alias bomb accepted")
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("hostile inputs took %v", d)
	}
}
