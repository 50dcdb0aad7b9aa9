package ofac

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// maxListBytes bounds a JSON plain list, which is read whole (the real one
// is 18 KB), and maxLineBytes a line of a text list.
const (
	maxListBytes = 64 << 20
	maxLineBytes = 1 << 10
)

// parseAddressList reads a plain list: a JSON array of strings when the
// first non-blank byte is '[', otherwise one address per line.
func parseAddressList(path string, r io.Reader, c *collector) (*List, error) {
	br := bufio.NewReaderSize(r, headSize)
	head, err := br.Peek(headSize)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, readErr(path, 0, err)
	}
	if len(head) == 0 {
		return nil, errAt(path, 0, ErrFormat, "empty file (a failed download?)")
	}
	if t := bytes.TrimLeft(head, " \t\r\n"); len(t) > 0 && (t[0] == '[' || t[0] == '{') {
		return parseJSONList(path, br, c)
	}
	return parseTextList(path, br, c)
}

// parseTextList reads one address per line. Every line must hold an address
// (after an optional CR of a CRLF line end); the real lists have no blank
// lines and no comments, so a blank line is an error too.
func parseTextList(path string, r io.Reader, c *collector) (*List, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 256), maxLineBytes)
	n := 0
	for sc.Scan() {
		n++
		s := string(bytes.TrimSuffix(sc.Bytes(), []byte("\r")))
		if n == 1 {
			s = string(bytes.TrimPrefix([]byte(s), []byte("\xef\xbb\xbf")))
		}
		if s == "" {
			return nil, errAt(path, n, ErrFormat, "blank line: a plain list has one address on every line")
		}
		if _, err := c.judge(Entry{Address: s, Line: n}); err != nil {
			return nil, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, errAt(path, n+1, ErrFormat, "line longer than %d bytes", maxLineBytes)
		}
		return nil, readErr(path, n+1, err)
	}
	if n == 0 {
		return nil, errAt(path, 0, ErrFormat, "empty file (a failed download?)")
	}
	return &c.l, nil
}

// parseJSONList reads a JSON array of address strings.
func parseJSONList(path string, r io.Reader, c *collector) (*List, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxListBytes+1))
	if err != nil {
		return nil, readErr(path, 0, err)
	}
	if len(data) > maxListBytes {
		return nil, errAt(path, 0, ErrFormat, "JSON list larger than %d bytes", maxListBytes)
	}
	lines := lineCounter{data: data}
	dec := json.NewDecoder(bytes.NewReader(data))
	jsonErr := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return errAt(path, lines.at(int(se.Offset)), ErrFormat, "JSON: %v", err)
		}
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return errAt(path, lines.at(len(data)), ErrFormat, "JSON: unexpected end of input")
		}
		return errAt(path, lines.at(int(dec.InputOffset())), ErrFormat, "JSON: %v", err)
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, jsonErr(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, errAt(path, lines.at(int(dec.InputOffset())), ErrFormat, "JSON: want an array of strings")
	}
	n := 0
	for dec.More() {
		start := skipSep(data, int(dec.InputOffset()))
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonErr(err)
		}
		s, ok := tok.(string)
		if !ok {
			return nil, errAt(path, lines.at(start), ErrFormat, "JSON: array element %d is not a string", n)
		}
		n++
		if _, err := c.judge(Entry{Address: s, Line: lines.at(start)}); err != nil {
			return nil, err
		}
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, jsonErr(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errAt(path, lines.at(skipSep(data, int(dec.InputOffset()))), ErrFormat, "JSON: data after the array")
	}
	if n == 0 {
		return nil, errAt(path, 0, ErrFormat, "empty JSON list (a failed download?)")
	}
	return &c.l, nil
}

// skipSep returns the offset of the first byte at or after off that is not
// JSON white space or a comma: where the next value starts.
func skipSep(data []byte, off int) int {
	for off < len(data) {
		switch data[off] {
		case ' ', '\t', '\r', '\n', ',':
			off++
		default:
			return off
		}
	}
	return off
}

// lineCounter maps increasing byte offsets to 1-based line numbers.
type lineCounter struct {
	data []byte
	off  int // newlines before off are counted in line
	line int // line-1 of off
}

func (c *lineCounter) at(off int) int {
	off = min(max(off, 0), len(c.data))
	if off < c.off {
		c.off, c.line = 0, 0
	}
	c.line += bytes.Count(c.data[c.off:off], []byte("\n"))
	c.off = off
	return c.line + 1
}
