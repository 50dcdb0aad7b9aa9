package ofac

import (
	"bufio"
	"encoding/csv"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"
)

// SDN.CSV columns (no header row in the file).
const (
	colEntNum  = 0
	colName    = 1
	colProgram = 3
	colRemarks = 11
	sdnColumns = 12
)

// sdnEmpty is SDN.CSV's marker for an empty field.
const sdnEmpty = "-0-"

const xbtLabel = "Digital Currency Address - XBT"

// parseSDNCSV reads a whole SDN.CSV.
func parseSDNCSV(path string, r io.Reader, c *collector) (*List, error) {
	br := bufio.NewReader(r)
	if bom, _ := br.Peek(3); string(bom) == "\xef\xbb\xbf" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = -1 // checked below, to allow the DOS end-of-file line
	rows := 0
	eofLine := 0 // line of a 0x1a record; nothing may follow it
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				// StartLine is where the broken record begins: for an
				// unbalanced quote, where the quote was opened.
				return nil, errAt(path, pe.StartLine, ErrFormat, "%v (at line %d, column %d)", pe.Err, pe.Line, pe.Column)
			}
			return nil, readErr(path, 0, err)
		}
		line, _ := cr.FieldPos(0)
		if eofLine > 0 {
			return nil, errAt(path, line, ErrFormat, "data after the end-of-file byte 0x1a on line %d", eofLine)
		}
		if len(rec) == 1 && strings.Trim(rec[0], " \x1a") == "" && strings.Contains(rec[0], "\x1a") {
			eofLine = line
			continue
		}
		if len(rec) != sdnColumns {
			return nil, errAt(path, line, ErrFormat, "%d fields; an SDN.CSV row has %d", len(rec), sdnColumns)
		}
		ent, err := strconv.Atoi(strings.TrimSpace(rec[colEntNum]))
		if err != nil || ent <= 0 {
			return nil, errAt(path, line, ErrFormat, "ent_num %q is not a positive number", truncateForError(rec[colEntNum]))
		}
		rows++
		if !strings.Contains(rec[colRemarks], xbtLabel) {
			continue
		}
		remarksLine, _ := cr.FieldPos(colRemarks)
		if err := c.sdnRemarks(ent, sdnField(rec[colName]), sdnField(rec[colProgram]), rec[colRemarks], remarksLine); err != nil {
			return nil, err
		}
	}
	if rows == 0 {
		return nil, errAt(path, 0, ErrFormat, "no SDN rows: empty file (a failed download?)")
	}
	return &c.l, nil
}

// sdnRemarks extracts the XBT addresses of one row's Remarks field, which
// starts on line.
func (c *collector) sdnRemarks(ent int, name, program, remarks string, line int) error {
	rest, off := remarks, 0
	nl, counted := 0, 0 // newlines in remarks[:counted]
	for {
		i := strings.Index(rest, xbtLabel)
		if i < 0 {
			return nil
		}
		start := off + i
		after := start + len(xbtLabel)
		rest, off = remarks[after:], after
		if after < len(remarks) && remarks[after] != ' ' {
			continue // another ticker that starts with XBT
		}
		nl += strings.Count(remarks[counted:after], "\n")
		counted = after
		value := remarks[after:]
		terminated := false
		if j := strings.IndexByte(value, ';'); j >= 0 {
			value, terminated = value[:j], true
		}
		value = strings.TrimSpace(value)
		if !terminated && strings.HasSuffix(value, ".") {
			value, terminated = strings.TrimSuffix(value, "."), true
		}
		value = strings.Clone(value) // not a slice of the whole row
		e := Entry{
			Address: value,
			Line:    line + nl,
			EntNum:  ent,
			Name:    name,
			Program: program,
			Alt:     strings.HasSuffix(remarks[:start], "alt. "),
		}
		if !decodes(value) {
			cutByLimit := !terminated && len(remarks) == RemarksLimit
			if cutByLimit || prefixLike(value) {
				c.l.Truncated = append(c.l.Truncated, Truncated{Line: e.Line, Fragment: value, EntNum: ent, Name: name})
				continue
			}
		}
		if _, err := c.judge(e); err != nil {
			return err
		}
	}
}

// prefixLike reports whether s is made only of the characters of the
// encoding its first characters announce and is shorter than any complete
// Bitcoin mainnet address of that kind: the rule 2(b) of the package doc.
func prefixLike(s string) bool {
	switch {
	case s == "":
		return true
	case strings.EqualFold(s, "b") || strings.EqualFold(s, "bc"):
		return true
	case len(s) >= 3 && strings.EqualFold(s[:3], "bc1"):
		if len(s) >= 42 || (s != strings.ToLower(s) && s != strings.ToUpper(s)) {
			return false // P2WPKH, the shortest, has 42 characters; bech32 has one case
		}
		for i := 3; i < len(s); i++ {
			if strings.IndexByte(bech32Charset, s[i]|0x20) < 0 {
				return false
			}
		}
		return true
	case s[0] == '1' || s[0] == '3':
		min := 26 // P2PKH: 25 bytes, 26 to 34 characters
		if s[0] == '3' {
			min = 34 // P2SH: version 5 always gives 34 characters
		}
		if len(s) >= min {
			return false
		}
		for i := 0; i < len(s); i++ {
			if strings.IndexByte(base58Alphabet, s[i]) < 0 {
				return false
			}
		}
		return true
	}
	return false
}

// sdnField turns an SDN.CSV field into UTF-8 text, "" for the empty marker.
func sdnField(s string) string {
	s = strings.TrimSpace(s)
	if s == sdnEmpty {
		return ""
	}
	return strings.Clone(latin1(s)) // not a slice of the whole row
}

// latin1 converts ISO 8859-1 bytes to UTF-8.
func latin1(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/4)
	for i := 0; i < len(s); i++ {
		b.WriteRune(rune(s[i]))
	}
	return b.String()
}

// truncateForError shortens s for an error message.
func truncateForError(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
