package export

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// table is the rows of one table for one COPY, in PostgreSQL's text
// format, appended to a buffer reused from batch to batch: no value is
// boxed and no row allocates.
type table struct {
	name string
	cols string
	buf  []byte
	rows int64
	col  int // columns written on the current row
}

func newTable(name, cols string) *table { return &table{name: name, cols: cols} }

func (t *table) sep() {
	if t.col > 0 {
		t.buf = append(t.buf, '\t')
	}
	t.col++
}

func (t *table) int(x int64) *table {
	t.sep()
	t.buf = strconv.AppendInt(t.buf, x, 10)
	return t
}

func (t *table) uint(x uint64) *table {
	t.sep()
	t.buf = strconv.AppendUint(t.buf, x, 10)
	return t
}

func (t *table) null() *table {
	t.sep()
	t.buf = append(t.buf, `\N`...)
	return t
}

func (t *table) bool(b bool) *table {
	t.sep()
	if b {
		t.buf = append(t.buf, 't')
	} else {
		t.buf = append(t.buf, 'f')
	}
	return t
}

// hash writes h as explorers show it (byte-reversed hex).
func (t *table) hash(h *btc.Hash) *table {
	t.sep()
	var r [32]byte
	for i := range r {
		r[i] = h[31-i]
	}
	t.buf = hex.AppendEncode(t.buf, r[:])
	return t
}

func (t *table) time(unix int64) *table {
	t.sep()
	t.buf = time.Unix(unix, 0).UTC().AppendFormat(t.buf, "2006-01-02 15:04:05+00")
	return t
}

// text writes s escaped for COPY's text format.
func (t *table) text(s string) *table {
	t.sep()
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\':
			t.buf = append(t.buf, `\\`...)
		case '\t':
			t.buf = append(t.buf, `\t`...)
		case '\n':
			t.buf = append(t.buf, `\n`...)
		case '\r':
			t.buf = append(t.buf, `\r`...)
		case 0:
			// PostgreSQL text cannot hold NUL: drop it.
		default:
			t.buf = append(t.buf, c)
		}
	}
	return t
}

func (t *table) end() {
	t.buf = append(t.buf, '\n')
	t.rows++
	t.col = 0
}

func (t *table) reset() { t.buf, t.rows, t.col = t.buf[:0], 0, 0 }

// copyIn sends the table's rows with COPY inside tx.
func (t *table) copyIn(ctx context.Context, tx pgx.Tx) error {
	if t.rows == 0 {
		return nil
	}
	if _, err := tx.Conn().PgConn().CopyFrom(ctx, bytes.NewReader(t.buf), "COPY "+t.name+" ("+t.cols+") FROM STDIN"); err != nil {
		return fmt.Errorf("copy %d rows into %s: %w", t.rows, t.name, err)
	}
	return nil
}
