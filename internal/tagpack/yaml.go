package tagpack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// The tagpack tool loads packs with PyYAML's SafeLoader, i.e. YAML 1.1 type
// resolution, while yaml.v3 resolves plain scalars by YAML 1.2 rules ("yes"
// is a string, "0o17" an int). This file re-implements PyYAML's implicit
// resolvers (yaml/resolver.py) on top of yaml.v3's node tree, so that a
// value is a string, a bool, a date... exactly when it is one for the tool.

// kind is the type PyYAML gives a scalar.
type kind uint8

const (
	kStr kind = iota
	kNull
	kBool
	kInt
	kFloat
	kTimestamp
)

func (k kind) String() string {
	switch k {
	case kStr:
		return "text"
	case kNull:
		return "null"
	case kBool:
		return "boolean"
	case kInt:
		return "integer"
	case kFloat:
		return "float"
	case kTimestamp:
		return "date"
	}
	return "unknown"
}

// PyYAML's implicit resolvers (resolver.py, Resolver class), in its order.
// Python's re.X flag strips the blanks of the original patterns.
var (
	reBool  = regexp.MustCompile(`^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)$`)
	reFloat = regexp.MustCompile(`^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?` +
		`|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*` +
		`|[-+]?\.(?:inf|Inf|INF)` +
		`|\.(?:nan|NaN|NAN))$`)
	reInt = regexp.MustCompile(`^(?:[-+]?0b[0-1_]+` +
		`|[-+]?0[0-7_]+` +
		`|[-+]?(?:0|[1-9][0-9_]*)` +
		`|[-+]?0x[0-9a-fA-F_]+` +
		`|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$`)
	reNull      = regexp.MustCompile(`^(?:~|null|Null|NULL|)$`)
	reTimestamp = regexp.MustCompile(`^(?:([0-9]{4})-([0-9]{2})-([0-9]{2})` +
		`|([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})(?:[Tt]|[ \t]+)([0-9]{1,2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]*))?` +
		`(?:[ \t]*(Z|([-+])([0-9]{1,2})(?::([0-9]{2}))?))?)$`)
)

// resolvePlain returns the type PyYAML gives the plain (unquoted, untagged)
// scalar s. ok is false for the two implicit tags SafeLoader cannot
// construct: merge ("<<") and value ("=").
func resolvePlain(s string) (k kind, ok bool) {
	if s == "" {
		return kNull, true
	}
	// PyYAML only tries the resolvers registered for the first character.
	switch c := s[0]; {
	case strings.IndexByte("yYnNtTfFoO", c) >= 0:
		if reBool.MatchString(s) {
			return kBool, true
		}
		if reNull.MatchString(s) {
			return kNull, true
		}
	case strings.IndexByte("-+0123456789.", c) >= 0:
		if reFloat.MatchString(s) {
			return kFloat, true
		}
		if reInt.MatchString(s) {
			return kInt, true
		}
		if reTimestamp.MatchString(s) {
			return kTimestamp, true
		}
	case c == '~':
		if s == "~" {
			return kNull, true
		}
	case c == '<':
		if s == "<<" {
			return kStr, false
		}
	case c == '=':
		if s == "=" {
			return kStr, false
		}
	}
	return kStr, true
}

// scalarKind returns the type of scalar node n (after alias resolution) as
// PyYAML's SafeLoader would construct it.
func scalarKind(n *yaml.Node) (kind, error) {
	if n.Style&yaml.TaggedStyle != 0 {
		var want kind
		switch n.Tag {
		case "!!str":
			return kStr, nil
		case "!!null":
			want = kNull
		case "!!bool":
			want = kBool
		case "!!int":
			want = kInt
		case "!!float":
			want = kFloat
		case "!!timestamp":
			want = kTimestamp
		default:
			return kStr, fmt.Errorf("%w: unsupported YAML tag %s", ErrSchema, n.Tag)
		}
		if got, ok := resolvePlain(n.Value); !ok || got != want {
			return kStr, fmt.Errorf("%w: %q is not a valid %s value", ErrSchema, n.Value, n.Tag)
		}
		return want, nil
	}
	if n.Style&(yaml.SingleQuotedStyle|yaml.DoubleQuotedStyle|yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		return kStr, nil
	}
	k, ok := resolvePlain(n.Value)
	if !ok {
		return kStr, fmt.Errorf("%w: YAML merge keys and %q values are not supported", ErrSchema, n.Value)
	}
	return k, nil
}

// parseTimestamp converts a value matching reTimestamp the way PyYAML's
// construct_yaml_timestamp does: a date (midnight UTC) for the date-only
// form, otherwise a date and time, in UTC when no zone is given. It fails
// for impossible dates such as 2021-02-30, on which PyYAML raises.
func parseTimestamp(s string) (time.Time, error) {
	m := reTimestamp.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, fmt.Errorf("%q is not a date", s)
	}
	atoi := func(s string) int { n, _ := strconv.Atoi(s); return n }
	if m[1] != "" {
		return makeDate(atoi(m[1]), atoi(m[2]), atoi(m[3]), 0, 0, 0, 0, time.UTC, s)
	}
	nsec := 0
	if frac := m[10]; frac != "" {
		// PyYAML keeps microseconds: the first six digits.
		if len(frac) > 6 {
			frac = frac[:6]
		}
		nsec = atoi((frac + "000000")[:6]) * 1000
	}
	loc := time.UTC
	if m[12] != "" {
		off := atoi(m[13])*3600 + atoi(m[14])*60
		if m[12] == "-" {
			off = -off
		}
		if off <= -86400 || off >= 86400 {
			return time.Time{}, fmt.Errorf("%q: time zone offset out of range", s)
		}
		if off != 0 {
			loc = time.FixedZone("", off)
		}
	}
	return makeDate(atoi(m[4]), atoi(m[5]), atoi(m[6]), atoi(m[7]), atoi(m[8]), atoi(m[9]), nsec, loc, s)
}

func makeDate(y, mo, d, h, mi, sec, nsec int, loc *time.Location, s string) (time.Time, error) {
	t := time.Date(y, time.Month(mo), d, h, mi, sec, nsec, loc)
	if y < 1 || t.Year() != y || int(t.Month()) != mo || t.Day() != d || t.Hour() != h || t.Minute() != mi || t.Second() != sec {
		return time.Time{}, fmt.Errorf("%q is not a valid date", s)
	}
	return t, nil
}

// reLooseDate is what Python's strptime(s, "%Y-%m-%d") accepts, which the
// tool applies to a string-valued lastmod in the pack header.
var reLooseDate = regexp.MustCompile(`^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})$`)

func parseLooseDate(s string) (time.Time, bool) {
	m := reLooseDate.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	y, _ := strconv.Atoi(m[1])
	mo, _ := strconv.Atoi(m[2])
	d, _ := strconv.Atoi(m[3])
	t, err := makeDate(y, mo, d, 0, 0, 0, 0, time.UTC, s)
	return t, err == nil
}

// decodeDocument reads r as exactly one YAML document and returns its root
// node. A syntax error becomes an *Error with the line yaml.v3 reports.
func decodeDocument(path string, r io.Reader) (*yaml.Node, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, &Error{Path: path, Err: fmt.Errorf("read: %w", err)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Path: path, Err: fmt.Errorf("%w: empty file", ErrSchema)}
		}
		return nil, syntaxError(path, data, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{Path: path, Line: extra.Line, Err: fmt.Errorf("%w: more than one YAML document", ErrSyntax)}
	} else if !errors.Is(err, io.EOF) {
		return nil, syntaxError(path, data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		return nil, &Error{Path: path, Err: fmt.Errorf("%w: empty file", ErrSchema)}
	}
	return doc.Content[0], nil
}

var reYAMLLine = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)

// parserProblems are the problems libyaml's parser (as opposed to its
// scanner) reports. For these yaml.v3 prints the 0-based line of the
// construct being parsed (decode.go, parser.fail), for scanner problems the
// 1-based line.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"found undefined tag handle":             true,
	"did not find expected node content":     true,
	"did not find expected '-' indicator":    true,
	"did not find expected key":              true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found incompatible YAML document":       true,
	"found duplicate %TAG directive":         true,
}

// readerProblems are libyaml's reader errors, which carry a byte offset
// that yaml.v3 drops.
var readerProblems = map[string]bool{
	"invalid leading UTF-8 octet":        true,
	"incomplete UTF-8 octet sequence":    true,
	"invalid trailing UTF-8 octet":       true,
	"invalid length of a UTF-8 sequence": true,
	"invalid Unicode character":          true,
	"incomplete UTF-16 character":        true,
	"unexpected low surrogate area":      true,
	"incomplete UTF-16 surrogate pair":   true,
	"expected low surrogate area":        true,
	"control characters are not allowed": true,
}

var reUnknownAnchor = regexp.MustCompile(`^unknown anchor '(.*)' referenced$`)

// syntaxError turns a yaml.v3 error into an *Error at the right 1-based
// line. yaml.v3 says "yaml: line N: msg", with N 0-based for parser
// problems, and leaves the line out when it is the first one, for reader
// problems (bad bytes) and for unknown aliases; those lines are recovered
// from data. Line is 0 only when none can be found.
func syntaxError(path string, data []byte, err error) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if m := reYAMLLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
		if parserProblems[msg] {
			line++
		}
	} else if readerProblems[msg] {
		line = lineOf(data, badCharOffset(data))
	} else if m := reUnknownAnchor.FindStringSubmatch(msg); m != nil {
		line = lineOf(data, bytes.Index(data, []byte("*"+m[1])))
	} else if !strings.HasPrefix(msg, "input error") {
		// A scanner or parser problem at the first line.
		line = 1
	}
	return &Error{Path: path, Line: line, Err: fmt.Errorf("%w: %s", ErrSyntax, msg)}
}

// lineOf returns the 1-based line of byte offset off in data, or 0 for a
// negative offset.
func lineOf(data []byte, off int) int {
	if off < 0 || off > len(data) {
		return 0
	}
	return 1 + bytes.Count(data[:off], []byte("\n"))
}

// badCharOffset returns the offset of the first byte sequence libyaml's
// reader refuses: invalid UTF-8, or a character outside YAML's printable
// set. -1 if there is none (or the input is UTF-16, which is not checked).
func badCharOffset(data []byte) int {
	for i := 0; i < len(data); {
		r, size := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && size <= 1 {
			return i
		}
		printable := r == 0x9 || r == 0xA || r == 0xD || (r >= 0x20 && r <= 0x7E) || r == 0x85 ||
			(r >= 0xA0 && r <= 0xD7FF) || (r >= 0xE000 && r <= 0xFFFD) || (r >= 0x10000 && r <= 0x10FFFF)
		if !printable {
			return i
		}
		i += size
	}
	return -1
}

// maxJSONNodes bounds the work of turning the YAML context mappings of one
// file into JSON, so that aliases (even cyclic ones) cannot blow it up. The
// public ActorPack needs about 60,000.
const maxJSONNodes = 1 << 20

// jsonWriter renders a YAML node tree as JSON the way Python's json.dumps
// does with its defaults: ", " and ": " separators, keys in file order,
// non-ASCII escaped as \uXXXX. The tool stores a context written as a YAML
// mapping as exactly that string.
type jsonWriter struct {
	b strings.Builder
	// nodes counts the nodes written; shared by all writers of one file.
	nodes *int
	// datesAsStrings: json.dumps(default=str), as for actor contexts. For
	// tag contexts the tool calls json.dumps without a default, which fails
	// on dates.
	datesAsStrings bool
}

func (w *jsonWriter) value(n *yaml.Node, depth int) error {
	if w.nodes == nil {
		w.nodes = new(int)
	}
	*w.nodes++
	if *w.nodes > maxJSONNodes || depth > 100 {
		return fmt.Errorf("%w: context is too large or too deeply nested", ErrSchema)
	}
	if n.Kind == yaml.AliasNode {
		if n.Alias == nil {
			return fmt.Errorf("%w: unknown alias", ErrSchema)
		}
		return w.value(n.Alias, depth+1)
	}
	switch n.Kind {
	case yaml.MappingNode:
		w.b.WriteByte('{')
		seen := make(map[string]bool, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k.Kind != yaml.ScalarNode {
				return fmt.Errorf("%w: context keys must be scalars", ErrSchema)
			}
			if kk, err := scalarKind(k); err != nil {
				return err
			} else if kk != kStr {
				// json.dumps turns int, float, bool and None keys into
				// strings; keep it simple and demand text keys.
				return fmt.Errorf("%w: context key %q is not text", ErrSchema, k.Value)
			}
			if seen[k.Value] {
				return fmt.Errorf("%w: duplicate key %q in context", ErrSchema, k.Value)
			}
			seen[k.Value] = true
			if i > 0 {
				w.b.WriteString(", ")
			}
			w.str(k.Value)
			w.b.WriteString(": ")
			if err := w.value(n.Content[i+1], depth+1); err != nil {
				return err
			}
		}
		w.b.WriteByte('}')
	case yaml.SequenceNode:
		w.b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.b.WriteString(", ")
			}
			if err := w.value(c, depth+1); err != nil {
				return err
			}
		}
		w.b.WriteByte(']')
	case yaml.ScalarNode:
		k, err := scalarKind(n)
		if err != nil {
			return err
		}
		switch k {
		case kStr:
			w.str(n.Value)
		case kNull:
			w.b.WriteString("null")
		case kBool:
			if strings.IndexByte("yYtToO", n.Value[0]) >= 0 && !strings.EqualFold(n.Value, "off") {
				w.b.WriteString("true")
			} else {
				w.b.WriteString("false")
			}
		case kInt:
			w.b.WriteString(pyInt(n.Value))
		case kFloat:
			w.b.WriteString(pyFloat(n.Value))
		case kTimestamp:
			t, err := parseTimestamp(n.Value)
			if err != nil {
				return fmt.Errorf("%w: %v", ErrSchema, err)
			}
			if !w.datesAsStrings {
				return fmt.Errorf("%w: date %s in context is not JSON serializable", ErrSchema, n.Value)
			}
			w.str(pyDateString(n.Value, t))
		}
	default:
		return fmt.Errorf("%w: unexpected YAML node in context", ErrSchema)
	}
	return nil
}

// str writes s as a JSON string with Python's ensure_ascii escaping.
func (w *jsonWriter) str(s string) {
	const hex = "0123456789abcdef"
	w.b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			w.b.WriteString(`\"`)
		case r == '\\':
			w.b.WriteString(`\\`)
		case r == '\n':
			w.b.WriteString(`\n`)
		case r == '\r':
			w.b.WriteString(`\r`)
		case r == '\t':
			w.b.WriteString(`\t`)
		case r == '\b':
			w.b.WriteString(`\b`)
		case r == '\f':
			w.b.WriteString(`\f`)
		case r < 0x20 || r >= 0x7f:
			if r > 0xffff {
				r -= 0x10000
				hi, lo := 0xd800+(r>>10), 0xdc00+(r&0x3ff)
				for _, u := range []rune{hi, lo} {
					w.b.WriteString(`\u`)
					w.b.WriteByte(hex[u>>12&0xf])
					w.b.WriteByte(hex[u>>8&0xf])
					w.b.WriteByte(hex[u>>4&0xf])
					w.b.WriteByte(hex[u&0xf])
				}
				continue
			}
			if r == 0x7f {
				w.b.WriteRune(r) // DEL is ASCII: Python leaves it alone
				continue
			}
			w.b.WriteString(`\u`)
			w.b.WriteByte(hex[r>>12&0xf])
			w.b.WriteByte(hex[r>>8&0xf])
			w.b.WriteByte(hex[r>>4&0xf])
			w.b.WriteByte(hex[r&0xf])
		default:
			w.b.WriteRune(r)
		}
	}
	w.b.WriteByte('"')
}

// pyInt converts a YAML 1.1 int to its decimal value, as PyYAML's
// construct_yaml_int does (underscores, 0b, 0x, leading-zero octal,
// sexagesimal a:b:c).
func pyInt(s string) string {
	s = strings.ReplaceAll(s, "_", "")
	neg := false
	if s != "" && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		s = s[1:]
	}
	v := new(big.Int)
	switch {
	case s == "0":
	case strings.HasPrefix(s, "0b"):
		v.SetString(s[2:], 2)
	case strings.HasPrefix(s, "0x"):
		v.SetString(s[2:], 16)
	case s[0] == '0':
		v.SetString(s[1:], 8)
	case strings.Contains(s, ":"):
		for _, part := range strings.Split(s, ":") {
			d, _ := strconv.Atoi(part)
			v.Mul(v, big.NewInt(60))
			v.Add(v, big.NewInt(int64(d)))
		}
	default:
		v.SetString(s, 10)
	}
	if neg {
		v.Neg(v)
	}
	return v.String()
}

// pyFloat converts a YAML 1.1 float to the text Python's json.dumps writes
// for it (repr, with NaN and Infinity spelled as Python does).
func pyFloat(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, "_", ""))
	sign := 1.0
	if s != "" && (s[0] == '-' || s[0] == '+') {
		if s[0] == '-' {
			sign = -1
		}
		s = s[1:]
	}
	var f float64
	switch {
	case s == ".inf":
		f = math.Inf(1)
	case s == ".nan":
		return "NaN"
	case strings.Contains(s, ":"):
		parts := strings.Split(s, ":")
		for _, p := range parts[:len(parts)-1] {
			d, _ := strconv.Atoi(p)
			f = f*60 + float64(d)
		}
		last, _ := strconv.ParseFloat(parts[len(parts)-1], 64)
		f = f*60 + last
	default:
		f, _ = strconv.ParseFloat(s, 64)
	}
	f *= sign
	switch {
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	// Python's repr: shortest round-trip digits, exponent form below 1e-4
	// and from 1e16 on, and always a ".0" on integral values.
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e16) {
		out := strconv.FormatFloat(f, 'e', -1, 64)
		return out
	}
	out := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(out, ".e") {
		out += ".0"
	}
	return out
}

// pyDateString is str() of the date or datetime PyYAML builds from s.
func pyDateString(s string, t time.Time) string {
	if m := reTimestamp.FindStringSubmatch(s); m != nil && m[1] != "" {
		return t.Format("2006-01-02")
	}
	out := t.Format("2006-01-02 15:04:05")
	if t.Nanosecond() != 0 {
		out += fmt.Sprintf(".%06d", t.Nanosecond()/1000)
	}
	if m := reTimestamp.FindStringSubmatch(s); m != nil && m[11] != "" {
		out += t.Format("-07:00")
	}
	return out
}

// deref follows an alias to the node it names.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n.Kind == yaml.AliasNode && n.Alias != nil && i < 8; i++ {
		n = n.Alias
	}
	return n
}
