package eval

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// The answer-key files LoadTruth reads and the columns it needs from each.
// Other files in truth/ and extra columns are ignored.
const (
	entitiesFile  = "entities.csv"
	addressesFile = "addresses.csv"
	txsFile       = "txs.csv"
	coinjoinsFile = "coinjoins.csv"
)

var (
	entityCols   = []string{"entity_id", "name", "type"}
	addressCols  = []string{"address", "entity_id", "role"}
	txCols       = []string{"txid", "kind", "change_vout"}
	coinjoinCols = []string{"txid", "kind"}
)

// maxKinds bounds the distinct transaction kinds and address roles, which
// are stored as a byte.
const maxKinds = 256

// Entity is one row of entities.csv.
type Entity struct {
	ID   int32
	Name string
	Type string // retail, exchange, mining_pool, …
}

// Address is one row of addresses.csv.
type Address struct {
	Addr   string
	Entity int32
	Role   string // receive, change, deposit, …
}

// TxInfo is what the answer key says of one transaction.
type TxInfo struct {
	Kind   string // payment, exchange_withdrawal, coinjoin_wasabi, …
	Change int32  // the spender's change output; -1 when there is none
}

// Truth is a simulator answer key in memory, kept compact for keys of
// 10M transactions and 20M addresses: addresses in one string with a hash
// index (about 65 bytes each on sim-1m), transactions in one table sorted by txid
// (36 bytes each) rather than maps; most transactions have change, so a
// separate change map would store most txids twice.
type Truth struct {
	// Dir is the truth/ directory that was read.
	Dir string
	// Entities is indexed by entity id: Entities[i].ID == i.
	Entities []Entity
	// CoinJoins maps the txid of every CoinJoin to its kind
	// (coinjoin_wasabi, coinjoin_whirlpool, coinjoin_joinmarket).
	CoinJoins map[btc.Hash]string

	addrs      addrTable // addresses.csv in file order
	roles      []string  // role code → name
	txs        txTable
	kinds      []string // kind code → name
	kindTxs    []int64  // kind code → transactions
	kindChange []int64  // kind code → transactions with change
}

// LoadError reports a problem in an answer-key file: the file, the line
// (1 is the header; 0 when the problem is not on one line), the column
// when one is to blame, and the problem.
type LoadError struct {
	Path   string
	Line   int
	Column string
	Err    error
}

func (e *LoadError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Column != "" {
		b.WriteString(e.Column)
		b.WriteString(": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

func (e *LoadError) Unwrap() error { return e.Err }

// LoadTruth reads the answer key in dir, which is either a simulator output
// directory (holding truth/) or the truth/ directory itself. Files are
// streamed row by row; an error names the file, line and column.
func LoadTruth(dir string) (*Truth, error) {
	tdir := filepath.Join(dir, "truth")
	if _, err := os.Stat(filepath.Join(tdir, entitiesFile)); err != nil {
		tdir = dir
		if _, err := os.Stat(filepath.Join(tdir, entitiesFile)); err != nil {
			return nil, fmt.Errorf("eval: no answer key in %s (want %s or %s): %w",
				dir, filepath.Join(dir, "truth", entitiesFile), filepath.Join(dir, entitiesFile), err)
		}
	}
	t := &Truth{Dir: tdir, CoinJoins: make(map[btc.Hash]string)}
	intern := make(map[string]string)
	for _, step := range []func(string, map[string]string) error{
		t.loadEntities, t.loadAddresses, t.loadTxs, t.loadCoinJoins,
	} {
		if err := step(tdir, intern); err != nil {
			return nil, err
		}
	}
	return t, nil
}

// internString returns the canonical copy of s, so that repeated values
// (roles, types, kinds) share one string and do not pin the CSV line they
// were sliced from.
func internString(m map[string]string, s string) string {
	if c, ok := m[s]; ok {
		return c
	}
	c := strings.Clone(s)
	m[c] = c
	return c
}

// table streams one CSV file and resolves the wanted columns by header name.
type table struct {
	path string
	f    *os.File
	r    *csv.Reader
	cols []string // wanted column names
	idx  []int    // their positions in a record
	opt  map[string]int
	line int // line of the current record
}

func openTable(path string, cols, optional []string) (*table, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("eval: %w", err)
	}
	r := csv.NewReader(f)
	r.ReuseRecord = true
	t := &table{path: path, f: f, r: r, cols: cols, opt: make(map[string]int)}
	header, err := r.Read()
	if err == io.EOF {
		f.Close()
		return nil, &LoadError{Path: path, Line: 1, Err: errors.New("empty file, want a header row")}
	}
	if err != nil {
		f.Close()
		return nil, t.csvError(err)
	}
	pos := make(map[string]int, len(header))
	for i, h := range header {
		pos[h] = i
	}
	for _, c := range cols {
		i, ok := pos[c]
		if !ok {
			f.Close()
			return nil, &LoadError{Path: path, Line: 1,
				Err: fmt.Errorf("missing column %q (header: %s)", c, strings.Join(header, ","))}
		}
		t.idx = append(t.idx, i)
	}
	for _, c := range optional {
		if i, ok := pos[c]; ok {
			t.opt[c] = i
		}
	}
	return t, nil
}

// next returns the wanted fields of the next record, in the order of cols,
// and the record itself; io.EOF at the end. The slices are reused.
func (t *table) next(dst []string) ([]string, []string, error) {
	rec, err := t.r.Read()
	if err == io.EOF {
		return nil, nil, io.EOF
	}
	if err != nil {
		return nil, nil, t.csvError(err)
	}
	t.line, _ = t.r.FieldPos(0)
	dst = dst[:0]
	for _, i := range t.idx {
		dst = append(dst, rec[i])
	}
	return dst, rec, nil
}

// each calls fn with every record's wanted fields (and the whole record)
// until the end of the table or an error.
func (t *table) each(fn func(f, rec []string) error) error {
	var f []string
	for {
		var rec []string
		var err error
		f, rec, err = t.next(f)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := fn(f, rec); err != nil {
			return err
		}
	}
}

func (t *table) csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &LoadError{Path: t.path, Line: pe.Line, Err: pe.Err}
	}
	return fmt.Errorf("eval: read %s: %w", t.path, err)
}

// errorf reports a problem with column col of the current record.
func (t *table) errorf(col, format string, args ...any) error {
	return &LoadError{Path: t.path, Line: t.line, Column: col, Err: fmt.Errorf(format, args...)}
}

func (t *table) close() { t.f.Close() }

func (t *table) int32Field(col, s string, lo, hi int64) (int32, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, t.errorf(col, "%q is not an integer", s)
	}
	if v < lo || v > hi {
		return 0, t.errorf(col, "%d out of range %d..%d", v, lo, hi)
	}
	return int32(v), nil
}

func (t *table) hashField(col, s string) (btc.Hash, error) {
	h, err := btc.ParseHash(s)
	if err != nil {
		return h, t.errorf(col, "%q: %w", s, err)
	}
	return h, nil
}

func (t *Truth) loadEntities(dir string, intern map[string]string) error {
	tb, err := openTable(filepath.Join(dir, entitiesFile), entityCols, nil)
	if err != nil {
		return err
	}
	defer tb.close()
	return tb.each(func(f, _ []string) error {
		// Entity ids index the table: row n holds entity n.
		want := int64(len(t.Entities))
		id, err := tb.int32Field("entity_id", f[0], 0, 1<<31-1)
		if err != nil {
			return err
		}
		if int64(id) != want {
			return tb.errorf("entity_id", "%d out of sequence, want %d (ids must be 0, 1, 2, … in order)", id, want)
		}
		t.Entities = append(t.Entities, Entity{ID: id, Name: strings.Clone(f[1]), Type: internString(intern, f[2])})
		return nil
	})
}

func (t *Truth) loadAddresses(dir string, intern map[string]string) error {
	tb, err := openTable(filepath.Join(dir, addressesFile), addressCols, nil)
	if err != nil {
		return err
	}
	defer tb.close()
	maxEntity := int64(len(t.Entities)) - 1
	codes := make(map[string]uint8)
	return tb.each(func(f, _ []string) error {
		if f[0] == "" {
			return tb.errorf("address", "empty")
		}
		if t.addrs.find(f[0]) >= 0 {
			return tb.errorf("address", "%s listed twice", f[0])
		}
		e, err := tb.int32Field("entity_id", f[1], 0, maxEntity)
		if err != nil {
			return err
		}
		role, ok := codes[f[2]]
		if !ok {
			if len(t.roles) == maxKinds {
				return tb.errorf("role", "%q: more than %d roles", f[2], maxKinds)
			}
			role = uint8(len(t.roles))
			name := internString(intern, f[2])
			codes[name] = role
			t.roles = append(t.roles, name)
		}
		if err := t.addrs.add(f[0], e, role); err != nil {
			return tb.errorf("address", "%w", err)
		}
		return nil
	})
}

func (t *Truth) loadTxs(dir string, intern map[string]string) error {
	tb, err := openTable(filepath.Join(dir, txsFile), txCols, []string{"n_out"})
	if err != nil {
		return err
	}
	defer tb.close()
	nOutCol, hasNOut := tb.opt["n_out"]
	codes := make(map[string]uint8)
	err = tb.each(func(f, rec []string) error {
		id, err := tb.hashField("txid", f[0])
		if err != nil {
			return err
		}
		code, ok := codes[f[1]]
		if !ok {
			if f[1] == "" {
				return tb.errorf("kind", "empty")
			}
			if len(t.kinds) == maxKinds {
				return tb.errorf("kind", "%q: more than %d kinds", f[1], maxKinds)
			}
			code = uint8(len(t.kinds))
			name := internString(intern, f[1])
			codes[name] = code
			t.kinds = append(t.kinds, name)
			t.kindTxs = append(t.kindTxs, 0)
			t.kindChange = append(t.kindChange, 0)
		}
		hi := int64(btc.MaxIndex - 1)
		if hasNOut {
			nOut, err := strconv.ParseInt(rec[nOutCol], 10, 64)
			if err != nil || nOut < 0 {
				return tb.errorf("n_out", "%q is not a count", rec[nOutCol])
			}
			hi = min(hi, nOut-1)
		}
		vout, err := tb.int32Field("change_vout", f[2], -1, hi)
		if err != nil {
			return err
		}
		t.txs.rows = append(t.txs.rows, makeTxRow(id, code, vout))
		t.kindTxs[code]++
		if vout >= 0 {
			t.kindChange[code]++
		}
		return nil
	})
	if err != nil {
		return err
	}
	if dup := t.txs.build(); dup != nil {
		return &LoadError{Path: tb.path, Err: fmt.Errorf("txid %s listed twice", dup)}
	}
	return nil
}

func (t *Truth) loadCoinJoins(dir string, intern map[string]string) error {
	tb, err := openTable(filepath.Join(dir, coinjoinsFile), coinjoinCols, nil)
	if err != nil {
		return err
	}
	defer tb.close()
	return tb.each(func(f, _ []string) error {
		id, err := tb.hashField("txid", f[0])
		if err != nil {
			return err
		}
		if f[1] == "" {
			return tb.errorf("kind", "empty")
		}
		if _, dup := t.CoinJoins[id]; dup {
			return tb.errorf("txid", "%s listed twice", f[0])
		}
		if _, ok := t.Tx(id); !ok {
			return tb.errorf("txid", "%s is not in %s", f[0], txsFile)
		}
		t.CoinJoins[id] = internString(intern, f[1])
		return nil
	})
}

// NumAddresses returns the number of addresses in the key.
func (t *Truth) NumAddresses() int { return t.addrs.len() }

// Address returns the i-th address of addresses.csv (0-based, in file
// order).
func (t *Truth) Address(i int) Address {
	return Address{Addr: t.addrs.addr(i), Entity: t.addrs.entity[i], Role: t.roles[t.addrs.role[i]]}
}

// Addresses yields the addresses of the key in file order.
func (t *Truth) Addresses() iter.Seq[Address] {
	return func(yield func(Address) bool) {
		for i := range t.addrs.len() {
			if !yield(t.Address(i)) {
				return
			}
		}
	}
}

// Lookup returns the key's row for an address.
func (t *Truth) Lookup(addr string) (Address, bool) {
	i := t.addrs.find(addr)
	if i < 0 {
		return Address{}, false
	}
	return t.Address(i), true
}

// EntityOf returns the entity owning addr, or -1 when the key does not list
// it. It is what a caller puts in Clustering.Truth.
func (t *Truth) EntityOf(addr string) int32 {
	if i := t.addrs.find(addr); i >= 0 {
		return t.addrs.entity[i]
	}
	return -1
}

// Name returns the name of entity e, or "" when there is no such entity.
// It has the signature Clusters takes.
func (t *Truth) Name(e int32) string {
	if e < 0 || int(e) >= len(t.Entities) {
		return ""
	}
	return t.Entities[e].Name
}

// NumTxs returns the number of transactions in the key.
func (t *Truth) NumTxs() int { return len(t.txs.rows) }

// Tx returns what the key says of a transaction; false when it is not in
// the key (the genesis coinbase, stale blocks, another chain).
func (t *Truth) Tx(id btc.Hash) (TxInfo, bool) {
	r := t.find(id)
	if r == nil {
		return TxInfo{}, false
	}
	return TxInfo{Kind: t.kinds[r.kind], Change: r.changeVout()}, true
}

func (t *Truth) find(id btc.Hash) *txRow { return t.txs.find(&id) }

// Txs yields every transaction of the key in txid byte order.
func (t *Truth) Txs() iter.Seq2[btc.Hash, TxInfo] {
	return func(yield func(btc.Hash, TxInfo) bool) {
		for i := range t.txs.rows {
			r := &t.txs.rows[i]
			if !yield(r.id, TxInfo{Kind: t.kinds[r.kind], Change: r.changeVout()}) {
				return
			}
		}
	}
}

// TxKinds returns the transaction kinds of the key in name order.
func (t *Truth) TxKinds() []string {
	k := slices.Clone(t.kinds)
	slices.Sort(k)
	return k
}

// NumChange returns the number of transactions whose change output the key
// knows.
func (t *Truth) NumChange() int64 {
	var n int64
	for _, c := range t.kindChange {
		n += c
	}
	return n
}
