package risk

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// Input is one row of a screening batch (a CSV or JSON-lines file).
type Input struct {
	Line  int    // 1-based line number in the file
	Query string // the address (txid) to screen, trimmed
	// Fields are a CSV row's fields, cut or padded to the header's
	// width; Object is a JSON line's object (nil for a bare string).
	Fields []string
	Object map[string]json.RawMessage
	// Raw is the line itself when it could not be parsed (JSON lines).
	Raw string
	// Err says why the row cannot be screened (wrong field count, empty
	// or missing address, unparsable); the row is then Invalid.
	Err string
}

// MaxLine bounds a batch file's line (longer lines are Invalid rows).
const MaxLine = 1 << 20

// AddressColumns are the header names a batch's address column is found
// by (case-insensitive) when no column is named.
var AddressColumns = []string{"address", "addr", "bitcoin_address", "btc_address", "wallet_address"}

// ErrNoColumn is returned when a batch's address column cannot be found.
var ErrNoColumn = errors.New("risk: no address column")

// eachLine calls fn with every line of r (without its line ending),
// numbered from 1; a line longer than MaxLine comes with tooLong and its
// start only.
func eachLine(r io.Reader, fn func(n int, line []byte, tooLong bool) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	var buf []byte
	for n := 1; ; n++ {
		buf = buf[:0]
		tooLong := false
		var err error
		for {
			var chunk []byte
			chunk, err = br.ReadSlice('\n')
			if len(buf)+len(chunk) <= MaxLine {
				buf = append(buf, chunk...)
			} else {
				tooLong = true
			}
			if !errors.Is(err, bufio.ErrBufferFull) {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
		if len(buf) == 0 && errors.Is(err, io.EOF) {
			return nil
		}
		line := bytes.TrimRight(buf, "\r\n")
		if ferr := fn(n, line, tooLong); ferr != nil {
			return ferr
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
	}
}

// skippable: blank lines and # comments are not rows.
func skippable(line []byte) bool {
	t := bytes.TrimSpace(line)
	return len(t) == 0 || t[0] == '#'
}

// ReadCSV reads a CSV batch: a header naming the address column (column,
// else one of AddressColumns), or, when the first row has a single field
// and no such name, one address per line with no header. It calls header
// once with the input's columns (["address"] without a header), then fn
// for every row in order. Bad rows (wrong field count, unparsable quoting,
// an empty address, a line over MaxLine) come with Err and their line
// (an unparsable row's Fields are its text split at commas);
// only I/O errors, a missing address column and fn's errors stop it.
// Quoted fields spanning lines are not supported (such a row is bad).
func ReadCSV(r io.Reader, column string, header func([]string) error, fn func(*Input) error) error {
	var cols []string
	col := -1
	return eachLine(r, func(n int, line []byte, tooLong bool) error {
		if skippable(line) && !tooLong {
			return nil
		}
		in := Input{Line: n}
		var fields []string
		var perr error
		if tooLong {
			perr = fmt.Errorf("line longer than %d bytes", MaxLine)
		} else {
			fields, perr = parseCSVLine(line)
		}
		if cols == nil {
			if perr != nil {
				return fmt.Errorf("line %d: header: %w", n, perr)
			}
			c, isHeader := findColumn(fields, column)
			switch {
			case isHeader:
				cols, col = slices.Clone(fields), c
				return header(cols)
			case column != "":
				return fmt.Errorf("%w: line %d has no column named %q (columns: %s)", ErrNoColumn, n, column, strings.Join(fields, ", "))
			case len(fields) > 1:
				return fmt.Errorf("%w: line %d: name it one of %s or pass --column (columns: %s)", ErrNoColumn, n,
					strings.Join(AddressColumns, ", "), strings.Join(fields, ", "))
			}
			cols, col = []string{"address"}, 0
			if err := header(cols); err != nil {
				return err
			}
		}
		switch {
		case perr != nil:
			in.Err = fmt.Sprintf("line %d: unparsable: %v", n, perr)
			if !tooLong {
				fields = strings.Split(string(line), ",") // kept as the text between commas
			}
		case len(fields) != len(cols):
			in.Err = fmt.Sprintf("line %d: %d fields, the header has %d", n, len(fields), len(cols))
		}
		in.Fields = make([]string, len(cols))
		copy(in.Fields, fields)
		if col < len(fields) && perr == nil {
			in.Query = strings.TrimSpace(fields[col])
		}
		if in.Err == "" && in.Query == "" {
			in.Err = fmt.Sprintf("line %d: empty address", n)
		}
		return fn(&in)
	})
}

// parseCSVLine parses one line as a CSV record.
func parseCSVLine(line []byte) ([]string, error) {
	if bytes.IndexByte(line, '"') < 0 {
		return strings.Split(string(line), ","), nil // what encoding/csv makes of it, without its buffers
	}
	cr := csv.NewReader(bytes.NewReader(line))
	cr.FieldsPerRecord = -1
	rec, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return []string{""}, nil
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, err
	}
	if _, err := cr.Read(); !errors.Is(err, io.EOF) {
		return nil, errors.New("a quoted field spans lines")
	}
	return rec, nil
}

// findColumn returns the index of the address column among header fields.
func findColumn(fields []string, column string) (int, bool) {
	for i, f := range fields {
		f = strings.TrimSpace(f)
		if column != "" && strings.EqualFold(f, column) || column == "" && slices.ContainsFunc(AddressColumns, func(c string) bool { return strings.EqualFold(c, f) }) {
			return i, true
		}
	}
	return 0, false
}

// ReadJSONL reads a JSON-lines batch: each line an object whose field
// column (default "address") holds the address, or a bare JSON string.
// It calls fn for every line in order; bad lines (not JSON, not an object
// or string, no or an empty address) come with Err and their line.
func ReadJSONL(r io.Reader, column string, fn func(*Input) error) error {
	if column == "" {
		column = "address"
	}
	return eachLine(r, func(n int, line []byte, tooLong bool) error {
		if len(bytes.TrimSpace(line)) == 0 && !tooLong {
			return nil
		}
		in := Input{Line: n}
		t := bytes.TrimSpace(line)
		switch {
		case tooLong:
			in.Err = fmt.Sprintf("line %d: longer than %d bytes", n, MaxLine)
		case t[0] == '"':
			if err := json.Unmarshal(t, &in.Query); err != nil {
				in.Err, in.Raw = fmt.Sprintf("line %d: unparsable: %v", n, err), string(line)
			}
		case t[0] == '{':
			if err := json.Unmarshal(t, &in.Object); err != nil {
				in.Err, in.Raw, in.Object = fmt.Sprintf("line %d: unparsable: %v", n, err), string(line), nil
				break
			}
			v, ok := in.Object[column]
			if !ok {
				in.Err = fmt.Sprintf("line %d: no %q field", n, column)
			} else if err := json.Unmarshal(v, &in.Query); err != nil {
				in.Err = fmt.Sprintf("line %d: field %q is not a string", n, column)
			}
		default:
			in.Err, in.Raw = fmt.Sprintf("line %d: want a JSON object or string", n), string(line)
		}
		in.Query = strings.TrimSpace(in.Query)
		if in.Err == "" && in.Query == "" {
			in.Err = fmt.Sprintf("line %d: empty address", n)
		}
		return fn(&in)
	})
}

// ScreenInput screens one batch row: a bad row is Invalid with its
// reason, anything else goes to Query (addresses and txids).
func (s *Screener) ScreenInput(ctx context.Context, in *Input) (*Report, error) {
	if in.Err != "" {
		return checked(InvalidRow(in), nil)
	}
	return s.Query(ctx, in.Query, false)
}

// InvalidRow is the Invalid report of a bad batch row (in.Err set), which
// needs no store: ScreenInput's answer, and a server client's.
func InvalidRow(in *Input) *Report {
	return &Report{Query: in.Query, Address: in.Query, Reasons: []string{}, Exposure: []Row{}, Status: Invalid, Reason: in.Err}
}

// CSVColumns are the result columns a CSV batch answer adds to the input's.
var CSVColumns = []string{"line", "status", "reason", "risk", "reasons", "entity", "received", "sent", "exposure", "method", "tip_height", "basis_date"}

// CSVWriter writes a CSV batch answer: every input column, then
// CSVColumns (prefixed "screen_" when the input already has one of them).
type CSVWriter struct {
	w     *csv.Writer
	basis *Basis
	row   []string
	tip   string
}

// NewCSVWriter writes the header of the answer to input columns cols.
func NewCSVWriter(w io.Writer, cols []string, b *Basis) (*CSVWriter, error) {
	prefix := ""
	for _, c := range cols {
		if slices.Contains(CSVColumns, strings.ToLower(strings.TrimSpace(c))) {
			prefix = "screen_"
		}
	}
	head := slices.Clone(cols)
	for _, c := range CSVColumns {
		head = append(head, prefix+c)
	}
	cw := &CSVWriter{w: csv.NewWriter(w), basis: b, tip: strconv.FormatInt(b.TipHeight, 10)}
	return cw, cw.w.Write(head)
}

// Write writes the answer r to row in.
func (cw *CSVWriter) Write(in *Input, r *Report) error {
	row := append(cw.row[:0], in.Fields...)
	ent, risk := "", ""
	if r.Entity != nil {
		ent = strconv.FormatUint(*r.Entity, 10)
	}
	if r.Status == Assessed {
		risk = r.Risk.String()
	}
	var ex strings.Builder
	for i, x := range r.Exposure {
		if i > 0 {
			ex.WriteByte(' ')
		}
		fmt.Fprintf(&ex, "%s:%s:%s:%s:%d:%.4f:%d", x.Category, x.Direction, x.Kind, x.Basis, x.Sats, x.Share, x.MinHops)
	}
	row = append(row, strconv.Itoa(in.Line), string(r.Status), r.Reason, risk, strings.Join(r.Reasons, "; "), ent,
		strconv.FormatUint(r.Received, 10), strconv.FormatUint(r.Sent, 10), ex.String(), r.Method, cw.tip, cw.basis.Date)
	cw.row = row
	return cw.w.Write(row)
}

// Flush flushes the CSV writer and returns its error.
func (cw *CSVWriter) Flush() error {
	cw.w.Flush()
	return cw.w.Error()
}

// JSONLWriter writes a JSON-lines batch answer: per row, the input
// object's fields (an address field for a bare string, input for an
// unparsable line) and "screen": the report with line, tip_height and
// basis_date.
type JSONLWriter struct {
	w     io.Writer
	basis *Basis
	buf   bytes.Buffer
}

// NewJSONLWriter returns a writer on w.
func NewJSONLWriter(w io.Writer, b *Basis) *JSONLWriter { return &JSONLWriter{w: w, basis: b} }

// Write writes the answer r to row in as one line.
func (jw *JSONLWriter) Write(in *Input, r *Report) error {
	rep, err := json.Marshal(r)
	if err != nil {
		return err
	}
	obj := map[string]json.RawMessage{}
	for k, v := range in.Object {
		obj[k] = v
	}
	if in.Object == nil && in.Raw == "" {
		obj["address"], _ = json.Marshal(in.Query)
	}
	if in.Raw != "" {
		obj["input"], _ = json.Marshal(in.Raw)
	}
	jw.buf.Reset()
	fmt.Fprintf(&jw.buf, `{"line":%d,"tip_height":%d,"basis_date":%q,`, in.Line, jw.basis.TipHeight, jw.basis.Date)
	jw.buf.Write(rep[1:])
	obj["screen"] = json.RawMessage(slices.Clone(jw.buf.Bytes()))
	b, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	_, err = jw.w.Write(append(b, '\n'))
	return err
}
