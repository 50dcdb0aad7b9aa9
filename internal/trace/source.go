package trace

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/coinjoin"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// readTxid reads transaction txid.
func readTxid(db *index.DB, txid btc.Hash) (btc.TxNum, *coinjoin.Tx, error) {
	num, err := db.TxNum(txid)
	if err != nil {
		return 0, nil, err
	}
	var tx coinjoin.Tx
	if err := db.ReadTx(num, &tx); err != nil {
		return 0, nil, err
	}
	return num, &tx, nil
}

// FromOutput returns output vout of txid, whole value tainted.
func FromOutput(db *index.DB, txid btc.Hash, vout uint32) ([]Taint, error) {
	num, tx, err := readTxid(db, txid)
	if err != nil {
		return nil, err
	}
	if int(vout) >= len(tx.Outs) {
		return nil, fmt.Errorf("%w: %s has %d outputs, no %d", ErrSource, txid, len(tx.Outs), vout)
	}
	return []Taint{{Out: btc.MakeOutRef(num, vout), Sats: tx.Outs[vout].Value}}, nil
}

// FromTx returns every output of transaction txid (with a value and an
// address), whole value tainted.
func FromTx(db *index.DB, txid btc.Hash) ([]Taint, error) {
	num, tx, err := readTxid(db, txid)
	if err != nil {
		return nil, err
	}
	var out []Taint
	for j, o := range tx.Outs {
		if o.Value > 0 && o.Addr != btc.NoAddr {
			out = append(out, Taint{Out: btc.MakeOutRef(num, uint32(j)), Sats: o.Value})
		}
	}
	return out, nil
}

// FromAddress returns every output address a ever received, spent or not,
// whole value tainted: forward tracing of a theft or ransom address
// follows the money paid into it. An output both received and later
// re-received through the address's own spends is counted once (Trace
// caps the taint of an output at its value).
func FromAddress(db *index.DB, a btc.AddrID) ([]Taint, error) {
	var nums []btc.TxNum
	if err := db.AddrTxNums(a, func(n btc.TxNum) bool { nums = append(nums, n); return true }); err != nil {
		return nil, err
	}
	var out []Taint
	var tx coinjoin.Tx
	for _, n := range nums {
		if err := db.ReadTx(n, &tx); err != nil {
			return nil, err
		}
		for j, o := range tx.Outs {
			if o.Addr == a && o.Value > 0 {
				out = append(out, Taint{Out: btc.MakeOutRef(n, uint32(j)), Sats: o.Value})
			}
		}
	}
	return out, nil
}

// FromEntity returns what every address of the entity received (see
// FromAddress), skipping outputs paid by the entity to itself (change,
// consolidation): taint starts where money came in.
func FromEntity(ctx context.Context, db *index.DB, entity uint64) ([]Taint, error) {
	var addrs []btc.AddrID
	err := cluster.Members(ctx, db, entity, 0, true, func(a btc.AddrID) bool { addrs = append(addrs, a); return true })
	if err != nil {
		return nil, err
	}
	var out []Taint
	var tx coinjoin.Tx
	seen := map[btc.TxNum]bool{}
	for _, a := range addrs {
		var nums []btc.TxNum
		if err := db.AddrTxNums(a, func(n btc.TxNum) bool { nums = append(nums, n); return true }); err != nil {
			return nil, err
		}
		for _, n := range nums {
			if seen[n] {
				continue
			}
			seen[n] = true
			if err := db.ReadTx(n, &tx); err != nil {
				return nil, err
			}
			internal := false
			for _, in := range tx.Ins {
				if in.Addr != btc.NoAddr {
					e, err := cluster.EntityOf(db, in.Addr)
					if err != nil {
						return nil, err
					}
					if e == entity {
						internal = true
						break
					}
				}
			}
			if internal {
				continue
			}
			for j, o := range tx.Outs {
				if o.Addr == btc.NoAddr || o.Value <= 0 {
					continue
				}
				e, err := cluster.EntityOf(db, o.Addr)
				if err != nil {
					return nil, err
				}
				if e == entity {
					out = append(out, Taint{Out: btc.MakeOutRef(n, uint32(j)), Sats: o.Value})
				}
			}
		}
	}
	return out, nil
}

// sourceKind is what a source argument names.
type sourceKind uint8

const (
	srcOutput sourceKind = iota
	srcTx
	srcEntity
	srcAddress
)

// sourceSpec is a source argument checked without the store.
type sourceSpec struct {
	kind   sourceKind
	hash   btc.Hash
	vout   uint32
	entity uint64
	text   string // as typed, trimmed
}

// maxSourceLen bounds one source argument (an address is at most 90
// characters, TXID:VOUT 75).
const maxSourceLen = 100

// parseSpec checks a source argument's syntax: TXID:VOUT, a 64-hex-digit
// txid, a decimal entity id, or else an address (decoded against the
// store's network later).
func parseSpec(s string) (sourceSpec, error) {
	s = strings.TrimSpace(s)
	sp := sourceSpec{text: s}
	switch {
	case s == "":
		return sp, fmt.Errorf("%w: empty", ErrSource)
	case strings.ContainsAny(s, " \t\r\n\v\f"):
		return sp, fmt.Errorf("%w: %q: one source per argument or line, without spaces", ErrSource, s)
	case len(s) > maxSourceLen:
		return sp, fmt.Errorf("%w: %d characters, longer than any TXID:VOUT, txid, address or entity id", ErrSource, len(s))
	case strings.Contains(s, ":"):
		i := strings.LastIndexByte(s, ':')
		h, err := btc.ParseHash(s[:i])
		if err != nil {
			return sp, fmt.Errorf("%w: txid in %q: %v", ErrSource, s, err)
		}
		v, err := strconv.ParseUint(s[i+1:], 10, 32)
		if err != nil || v > btc.MaxIndex {
			return sp, fmt.Errorf("%w: bad output index in %q", ErrSource, s)
		}
		sp.kind, sp.hash, sp.vout = srcOutput, h, uint32(v)
	case len(s) == 2*btc.HashSize && isHex(s):
		h, err := btc.ParseHash(s)
		if err != nil {
			return sp, fmt.Errorf("%w: txid %q: %v", ErrSource, s, err)
		}
		sp.kind, sp.hash = srcTx, h
	case isDigits(s):
		e, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return sp, fmt.Errorf("%w: entity id %q: %v", ErrSource, s, err)
		}
		sp.kind, sp.entity = srcEntity, e
	default:
		sp.kind = srcAddress
	}
	return sp, nil
}

// resolve reads the outputs a checked source names.
func (sp sourceSpec) resolve(ctx context.Context, db *index.DB) ([]Taint, error) {
	var out []Taint
	var err error
	switch sp.kind {
	case srcOutput:
		out, err = FromOutput(db, sp.hash, sp.vout)
	case srcTx:
		out, err = FromTx(db, sp.hash)
	case srcEntity:
		out, err = FromEntity(ctx, db, sp.entity)
	default:
		a, aerr := db.AddrID(sp.text)
		if aerr != nil {
			return nil, aerr
		}
		out, err = FromAddress(db, a)
	}
	if err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: %s holds no outputs to trace", ErrSource, sp.text)
	}
	return out, nil
}

// ParseSource builds sources from what a user typed: TXID:VOUT (one
// output), a txid (all its outputs), an entity id (a decimal number:
// everything it received from others), or an address (everything it
// received).
func ParseSource(ctx context.Context, db *index.DB, s string) ([]Taint, error) {
	sp, err := parseSpec(s)
	if err != nil {
		return nil, err
	}
	return sp.resolve(ctx, db)
}

// SourceLine is one source of a source list, with its line number.
type SourceLine struct {
	Line int
	Text string

	spec sourceSpec
}

// Resolve reads the outputs the line names (see ParseSource).
func (l SourceLine) Resolve(ctx context.Context, db *index.DB) ([]Taint, error) {
	return l.spec.resolve(ctx, db)
}

// MaxSourceLines bounds a source list.
const MaxSourceLines = 100_000

// ParseSourceList reads a list of sources, one per line, each as
// ParseSource takes them (an incident's txids, addresses, outputs or
// entity ids): blank lines and text after '#' are ignored. It checks
// every line's syntax without the store; an error names the line.
func ParseSourceList(r io.Reader) ([]SourceLine, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	var out []SourceLine
	n := 0
	for sc.Scan() {
		n++
		text := sc.Text()
		if i := strings.IndexByte(text, '#'); i >= 0 {
			text = text[:i]
		}
		text = strings.TrimSpace(text)
		if text == "" {
			continue
		}
		if len(out) == MaxSourceLines {
			return nil, fmt.Errorf("line %d: %w: more than %d sources", n, ErrSource, MaxSourceLines)
		}
		sp, err := parseSpec(text)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		out = append(out, SourceLine{Line: n, Text: sp.text, spec: sp})
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("line %d: %w: longer than 64 KiB", n+1, ErrSource)
		}
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no sources (one TXID:VOUT, txid, address or entity id per line)", ErrSource)
	}
	return out, nil
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
