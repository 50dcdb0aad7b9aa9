package ofac

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Format names one of the file formats this package reads.
type Format string

// The formats. The string values are stable and may appear in provenance
// records and command-line flags.
const (
	SDNCSV         Format = "sdn_csv"          // legacy SDN.CSV
	AddressList    Format = "address_list"     // one address per line (.txt) or a JSON array of strings (.json)
	SDNAdvancedXML Format = "sdn_advanced_xml" // sdn_advanced.xml
)

// RemarksLimit is the length, in characters, at which OFAC cuts the Remarks
// column of SDN.CSV.
const RemarksLimit = 1000

// Entry is one Bitcoin address named by a list.
type Entry struct {
	Address string // as published; decodes with address.Decode(s, btc.Mainnet)
	Line    int    // 1-based line of the address (of the array element in JSON)
	EntNum  int    // SDN entity number (SDN.CSV ent_num, XML Profile ID), 0 in plain lists
	Name    string // SDN name when known, in UTF-8
	Program string // sanctions program(s) when known, as SDN.CSV writes them, e.g. "CYBER2] [DPRK3"
	Alt     bool   // listed as "alt. Digital Currency Address - XBT" (SDN.CSV only)
}

// Truncated is a string published as XBT that was cut off (SDN.CSV only; see
// the package doc for the rule). It is reported, never imported.
type Truncated struct {
	Line     int    // line of the Remarks field
	Fragment string // what is left of the address, possibly ""
	EntNum   int
	Name     string
}

// Rejected is a string published as XBT that is not a Bitcoin mainnet
// address but is an intact address all the same (its own checksum
// verifies): another chain's or another network's, published under the
// wrong currency. It is reported, never imported (rule 3 of the package
// doc).
type Rejected struct {
	Line   int
	Value  string // as published
	EntNum int    // 0 in plain lists
	Name   string // "" in plain lists
	Reason error  // why address.Decode rejected it
}

// List is one parsed publication.
type List struct {
	Path   string
	Format Format
	// Date is the publication date: the XML DateOfIssue, otherwise a
	// YYYY-MM-DD date in the file name (sdn_2024-05-03.csv,
	// sanctioned_addresses_XBT_2022-09-03.txt), otherwise zero: the caller
	// must then supply one. It is UTC midnight.
	Date      time.Time
	Entries   []Entry
	Truncated []Truncated
	Rejected  []Rejected
	// Damaged holds the damaged strings (rule 4) when ParseWith was asked
	// to keep going past them (Options.KeepDamaged); Reason wraps
	// ErrAddress. Otherwise the first one fails the parse.
	Damaged []Rejected
}

// Options tune ParseWith. The zero value is Parse's behaviour.
type Options struct {
	// KeepDamaged collects damaged XBT strings in List.Damaged, each at
	// its line, and parses on, instead of failing at the first: for
	// callers that import the rest of a publication and report these.
	KeepDamaged bool
}

// Addresses returns the distinct addresses of l's entries, sorted, as
// published (the first spelling seen when one address is published in two
// cases).
func (l *List) Addresses() []string {
	seen := make(map[string]bool, len(l.Entries))
	var out []string
	for _, e := range l.Entries {
		if !seen[e.Address] {
			seen[e.Address] = true
			out = append(out, e.Address)
		}
	}
	slices.Sort(out)
	return out
}

// Sentinels wrapped by *Error.
var (
	// ErrFormat: not a recognised OFAC file, or a broken one (bad CSV
	// quoting, wrong column count, malformed XML or JSON, an empty file).
	ErrFormat = errors.New("not a well-formed OFAC file")
	// ErrAddress: a string published as XBT is damaged (see the package
	// doc): not an address, not cut off, not another chain's address.
	ErrAddress = errors.New("damaged XBT address")
)

// Error is a parse error at a place in a file.
type Error struct {
	Path string
	Line int // 1-based; 0 when the error is about the whole file
	Err  error
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", e.Path, e.Line, e.Err)
	}
	return fmt.Sprintf("%s: %v", e.Path, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// errAt returns an *Error at path:line wrapping sentinel with a detail.
func errAt(path string, line int, sentinel error, format string, args ...any) error {
	return &Error{Path: path, Line: line, Err: fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))}
}

// readErr wraps an error from the underlying reader: a corrupt or cut gzip
// stream is ErrFormat, anything else is passed through as I/O.
func readErr(path string, line int, err error) error {
	if errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Path: path, Line: line, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
	}
	return &Error{Path: path, Line: line, Err: err}
}

// Open opens path for reading, transparently gunzipping it when it starts
// with the gzip magic bytes (whatever its name).
func Open(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	br := bufio.NewReader(f)
	magic, _ := br.Peek(2)
	if len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			f.Close()
			return nil, &Error{Path: path, Err: fmt.Errorf("%w: %w", ErrFormat, err)}
		}
		return &gzipFile{Reader: zr, f: f}, nil
	}
	return &plainFile{Reader: br, f: f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g *gzipFile) Close() error { return errors.Join(g.Reader.Close(), g.f.Close()) }

type plainFile struct {
	*bufio.Reader
	f *os.File
}

func (p *plainFile) Close() error { return p.f.Close() }

// headSize is how much of a file Detect needs to see.
const headSize = 4096

// ParseFile opens path (see Open), detects its format and parses it.
func ParseFile(path string) (*List, error) {
	rc, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	br := bufio.NewReaderSize(rc, headSize)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, readErr(path, 0, err)
	}
	f, err := Detect(path, head)
	if err != nil {
		return nil, err
	}
	return Parse(path, br, f)
}

// Detect names the format of a file from its first bytes (after any gzip
// layer is removed; a few KiB suffice) and its path. Content decides; the
// extension only shapes the error message. An empty file is an ErrFormat
// error: OFAC downloads that fail have been seen to leave one.
func Detect(path string, head []byte) (Format, error) {
	h := bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	h = bytes.TrimLeft(h, " \t\r\n\x1a")
	if len(h) == 0 {
		return "", errAt(path, 0, ErrFormat, "empty file")
	}
	switch h[0] {
	case '<':
		switch {
		case bytes.Contains(h, []byte("<Sanctions")):
			return SDNAdvancedXML, nil
		case bytes.Contains(h, []byte("<sdnList")):
			return "", errAt(path, 0, ErrFormat, "the legacy sdn.xml is not read; use sdn_advanced.xml")
		}
		return "", errAt(path, 0, ErrFormat, "XML without a <Sanctions> root: not sdn_advanced.xml")
	case '[':
		return AddressList, nil
	}
	first, _, _ := bytes.Cut(h, []byte("\n"))
	first = bytes.TrimSuffix(first, []byte("\r"))
	if i := bytes.IndexByte(first, ','); i > 0 && allDigits(first[:i]) {
		return SDNCSV, nil
	}
	if len(first) > 0 && bytes.IndexAny(first, ", \t\"'") < 0 {
		return AddressList, nil
	}
	hint := ""
	switch ext := strings.ToLower(filepath.Ext(strings.TrimSuffix(path, ".gz"))); ext {
	case ".csv", ".txt", ".json", ".xml":
		hint = fmt.Sprintf(" (its %s extension says it should be)", ext)
	}
	return "", errAt(path, 1, ErrFormat, "neither SDN.CSV, sdn_advanced.xml nor a plain address list%s", hint)
}

func allDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// Parse reads a list of format f from r. path names the file in errors and
// in List.Path, and its base name may carry the publication date.
func Parse(path string, r io.Reader, f Format) (*List, error) {
	return ParseWith(path, r, f, Options{})
}

// ParseWith is Parse with options.
func ParseWith(path string, r io.Reader, f Format, opts Options) (*List, error) {
	var (
		l   *List
		err error
	)
	c := newCollector(path)
	c.keepDamaged = opts.KeepDamaged
	switch f {
	case SDNCSV:
		l, err = parseSDNCSV(path, r, c)
	case AddressList:
		l, err = parseAddressList(path, r, c)
	case SDNAdvancedXML:
		l, err = parseAdvancedXML(path, r, c)
	default:
		return nil, errAt(path, 0, ErrFormat, "unknown format %q", f)
	}
	if err != nil {
		return nil, err
	}
	l.Path, l.Format = path, f
	if l.Date.IsZero() {
		l.Date = DateFromName(path)
	}
	return l, nil
}

var nameDate = regexp.MustCompile(`\d{4}-\d{2}-\d{2}`)

// DateFromName returns the last valid YYYY-MM-DD date in the base name of
// path, as UTC midnight, or the zero time.
func DateFromName(path string) time.Time {
	ms := nameDate.FindAllString(filepath.Base(path), -1)
	for i := len(ms) - 1; i >= 0; i-- {
		if t, err := time.Parse(time.DateOnly, ms[i]); err == nil {
			return t
		}
	}
	return time.Time{}
}

// collector applies the package's rules to the strings a parser finds, in
// file order, and builds the List.
type collector struct {
	path string
	l    List
	seen map[entryKey]bool
	// keepDamaged: record damaged strings in l.Damaged instead of failing.
	keepDamaged bool
}

type entryKey struct {
	key      string // address.Key bytes, or the Value of a Rejected
	entNum   int
	rejected bool
}

func newCollector(path string) *collector {
	return &collector{path: path, seen: make(map[entryKey]bool)}
}

// verdict is what rule 1–4 of the package doc made of a string.
type verdict int

const (
	isEntry verdict = iota
	isRejected
	isDamaged
)

// judge applies rules 1, 3 and 4 (rule 2 is the SDN.CSV reader's): it adds
// an Entry or a Rejected, or returns an ErrAddress error.
func (c *collector) judge(e Entry) (verdict, error) {
	k, err := address.Decode(e.Address, btc.Mainnet)
	if err == nil {
		ek := entryKey{key: string(k.Bytes()), entNum: e.EntNum}
		if !c.seen[ek] {
			c.seen[ek] = true
			c.l.Entries = append(c.l.Entries, e)
		}
		return isEntry, nil
	}
	if intactForeign(e.Address) {
		fk := entryKey{key: e.Address, entNum: e.EntNum, rejected: true}
		if !c.seen[fk] {
			c.seen[fk] = true
			c.l.Rejected = append(c.l.Rejected, Rejected{Line: e.Line, Value: e.Address, EntNum: e.EntNum, Name: e.Name, Reason: err})
		}
		return isRejected, nil
	}
	damaged := &Error{Path: c.path, Line: e.Line, Err: fmt.Errorf("%w: %w", ErrAddress, err)}
	if c.keepDamaged {
		c.l.Damaged = append(c.l.Damaged, Rejected{Line: e.Line, Value: e.Address, EntNum: e.EntNum, Name: e.Name, Reason: damaged.Err})
		return isDamaged, nil
	}
	return isDamaged, damaged
}

// decodes reports whether s is a Bitcoin mainnet address.
func decodes(s string) bool {
	_, err := address.Decode(s, btc.Mainnet)
	return err == nil
}
