package blockfile

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// Builders for hand-made transactions and blocks.

func le32(v uint32) []byte { return binary.LittleEndian.AppendUint32(nil, v) }
func le64(v uint64) []byte { return binary.LittleEndian.AppendUint64(nil, v) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func varint(v uint64) []byte {
	switch {
	case v < 0xfd:
		return []byte{byte(v)}
	case v <= 0xffff:
		return append([]byte{0xfd}, byte(v), byte(v>>8))
	case v <= 0xffffffff:
		return append([]byte{0xfe}, le32(uint32(v))...)
	default:
		return append([]byte{0xff}, le64(v)...)
	}
}

var (
	testHeader = bytes.Repeat([]byte{0x11}, HeaderSize)
	version    = le32(1)
	locktime   = le32(0)
	// one input: outpoint, script {0x51}, sequence
	oneIn = cat([]byte{1}, bytes.Repeat([]byte{0xaa}, 32), le32(0), []byte{1, 0x51}, le32(0xffffffff))
	// one output: 5000 sat, script {0x51}
	oneOut = cat([]byte{1}, le64(5000), []byte{1, 0x51})
	// witness for one input: two items, 2 and 0 bytes
	oneWit   = []byte{2, 2, 0xde, 0xad, 0}
	legacyTx = cat(version, oneIn, oneOut, locktime)
	segwitTx = cat(version, []byte{0, 1}, oneIn, oneOut, oneWit, locktime)
)

func block(txs ...[]byte) []byte {
	return cat(testHeader, varint(uint64(len(txs))), cat(txs...))
}

// TestParseHostile feeds hand-made malformed blocks to Parse.
func TestParseHostile(t *testing.T) {
	legacyTxAt := HeaderSize + 1 // offset of the first tx in a 1-tx block
	cases := []struct {
		name  string
		raw   []byte
		want  error // nil: must parse
		off   int64 // expected Error.Offset, -1 to skip the check
		txIdx int
	}{
		{"valid legacy", block(legacyTx), nil, -1, 0},
		{"valid segwit", block(legacyTx, segwitTx), nil, -1, 0},
		{"empty", nil, ErrTruncated, 0, -1},
		{"short header", testHeader[:79], ErrTruncated, 0, -1},
		{"header only", testHeader, ErrTruncated, 80, -1},
		{"zero txs", cat(testHeader, []byte{0}), ErrNoTxs, 80, -1},
		{"non-canonical fd count", cat(testHeader, []byte{0xfd, 1, 0}, legacyTx), ErrNonCanonical, 80, -1},
		{"non-canonical fe count", cat(testHeader, []byte{0xfe, 1, 0, 0, 0}, legacyTx), ErrNonCanonical, 80, -1},
		{"non-canonical ff count", cat(testHeader, []byte{0xff}, le64(1), legacyTx), ErrNonCanonical, 80, -1},
		{"huge tx count", cat(testHeader, []byte{0xff}, le64(1<<40), legacyTx), ErrTooLarge, 80, -1},
		{"tx count above bytes", cat(testHeader, []byte{9}, legacyTx), ErrTruncated, 80, -1},
		{"missing second tx", cat(testHeader, []byte{2}, legacyTx, legacyTx[:15]), ErrTruncated, -1, 1},
		{"trailing bytes", append(block(legacyTx), 0), ErrTrailingBytes, int64(len(block(legacyTx))), -1},
		{"too big", cat(testHeader, []byte{1}, make([]byte, MaxBlockSize)), ErrTooLarge, 0, -1},
		{"input count too large", block(cat(version, varint(maxTxIns+1), make([]byte, 100))), ErrTooLarge, int64(legacyTxAt + 4), 0},
		{"input count above bytes", block(cat(version, varint(3), oneIn[1:], oneOut, locktime)), ErrTruncated, int64(legacyTxAt + 4), 0},
		{"non-canonical input count", block(cat(version, []byte{0xfd, 1, 0}, oneIn[1:], oneOut, locktime)), ErrNonCanonical, int64(legacyTxAt + 4), 0},
		{"script length too large", block(cat(version, []byte{1}, make([]byte, 36), varint(MaxBlockSize+1), make([]byte, 50))), ErrTooLarge, int64(legacyTxAt + 4 + 1 + 36), 0},
		{"script past end", block(cat(version, []byte{1}, make([]byte, 36), varint(200), make([]byte, 50))), ErrTruncated, int64(legacyTxAt + 4 + 1 + 36), 0},
		{"output count too large", block(cat(version, oneIn, varint(maxTxOuts+1), make([]byte, 20))), ErrTooLarge, -1, 0},
		{"output count above bytes", block(cat(version, oneIn, varint(5), le64(1), []byte{0}, locktime)), ErrTruncated, -1, 0},
		{"missing locktime", block(cat(version, oneIn, oneOut)), ErrTruncated, -1, 0},
		{"segwit flag 2", block(cat(version, []byte{0, 2}, oneIn, oneOut, oneWit, locktime)), ErrBadWitness, int64(legacyTxAt + 5), 0},
		{"segwit flag 0", block(cat(version, []byte{0, 0}, oneIn, oneOut, oneWit, locktime)), ErrBadWitness, int64(legacyTxAt + 5), 0},
		{"marker without witness", block(cat(version, []byte{0, 1}, oneIn, oneOut, []byte{0}, locktime)), ErrBadWitness, int64(legacyTxAt + 4), 0},
		{"marker with no inputs", block(cat(version, []byte{0, 1, 0}, oneOut, locktime)), ErrBadWitness, int64(legacyTxAt + 4), 0},
		{"witness count too large", block(cat(version, []byte{0, 1}, oneIn, oneOut, varint(maxWitnessItems+1), make([]byte, 10))), ErrTooLarge, -1, 0},
		{"witness count above bytes", block(cat(version, []byte{0, 1}, oneIn, oneOut, varint(100), make([]byte, 10))), ErrTruncated, -1, 0},
		{"witness item too large", block(cat(version, []byte{0, 1}, oneIn, oneOut, []byte{1}, varint(maxItemSize+1), make([]byte, 10))), ErrTooLarge, -1, 0},
		{"witness item past end", block(cat(version, []byte{0, 1}, oneIn, oneOut, []byte{1, 100}, make([]byte, 10))), ErrTruncated, -1, 0},
		{"non-canonical witness item", block(cat(version, []byte{0, 1}, oneIn, oneOut, []byte{1, 0xfd, 2, 0, 0xaa, 0xbb}, locktime)), ErrNonCanonical, -1, 0},
		{"bad second tx", block(legacyTx, cat(version, []byte{0, 7})), ErrBadWitness, -1, 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var blk Block
			err := blk.Parse(tc.raw)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				checkAgainstBtcd(t, tc.raw, &blk)
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Parse error %T is not an *Error", err)
			}
			if tc.off >= 0 && e.Offset != tc.off {
				t.Errorf("offset %d, want %d (%v)", e.Offset, tc.off, err)
			}
			if e.TxIndex != tc.txIdx {
				t.Errorf("tx index %d, want %d (%v)", e.TxIndex, tc.txIdx, err)
			}
			if len(blk.Txs) != 0 || blk.Size != 0 {
				t.Errorf("after an error the Block still has %d txs, size %d", len(blk.Txs), blk.Size)
			}
		})
	}
}

// checkAgainstBtcd checks a successful parse against btcd's.
func checkAgainstBtcd(t *testing.T, raw []byte, blk *Block) {
	t.Helper()
	var msg wire.MsgBlock
	if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
		t.Fatalf("we parsed it but btcd fails: %v", err)
	}
	if len(msg.Transactions) != len(blk.Txs) {
		t.Fatalf("%d txs, btcd %d", len(blk.Txs), len(msg.Transactions))
	}
	for i := range blk.Txs {
		compareTx(t, fmt.Sprintf("tx %d", i), &blk.Txs[i], msg.Transactions[i])
	}
}

// TestParseTxHostile checks ParseTx on malformed transactions.
func TestParseTxHostile(t *testing.T) {
	cases := []struct {
		name string
		raw  []byte
		want error
		n    int
	}{
		{"legacy", legacyTx, nil, len(legacyTx)},
		{"segwit", segwitTx, nil, len(segwitTx)},
		{"legacy with trailing bytes", append(bytes.Clone(legacyTx), 1, 2, 3), nil, len(legacyTx)},
		{"empty", nil, ErrTruncated, 0},
		{"flag 3", cat(version, []byte{0, 3}), ErrBadWitness, 0},
		{"cut", legacyTx[:len(legacyTx)-1], ErrTruncated, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var tx Tx
			n, err := ParseTx(tc.raw, &tx)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) || n != tc.n {
				t.Fatalf("ParseTx = %d, %v; want %d, %v", n, err, tc.n, tc.want)
			}
			if err != nil {
				var e *Error
				if !errors.As(err, &e) || e.TxIndex != -1 {
					t.Fatalf("error %v is not an *Error without tx index", err)
				}
			}
		})
	}
}

// cutAll parses every prefix of raw and requires an error wrapping a
// sentinel (and, if strict, ErrTruncated); it must never panic.
func cutAll(t *testing.T, raw []byte, cuts []int, strict bool) {
	t.Helper()
	var blk Block
	for _, n := range cuts {
		err := blk.Parse(raw[:n:n])
		if err == nil {
			t.Fatalf("Parse(raw[:%d]) of %d bytes succeeded", n, len(raw))
		}
		if strict && !errors.Is(err, ErrTruncated) {
			t.Fatalf("Parse(raw[:%d]) = %v, want ErrTruncated", n, err)
		}
		if !wrapsSentinel(err) {
			t.Fatalf("Parse(raw[:%d]) = %v wraps no sentinel", n, err)
		}
		var e *Error
		if !errors.As(err, &e) || e.Offset < 0 || e.Offset > int64(n) {
			t.Fatalf("Parse(raw[:%d]) = %v: offset outside the input", n, err)
		}
	}
}

// TestCutEveryBoundary is btcd's fixedIO test in spirit: every prefix of a
// block is an error, never a panic.
func TestCutEveryBoundary(t *testing.T) {
	t.Run("block170", func(t *testing.T) {
		raw := blk0(t)[170]
		cuts := make([]int, len(raw))
		for i := range cuts {
			cuts[i] = i
		}
		cutAll(t, raw, cuts, true)
	})
	t.Run("handmade segwit", func(t *testing.T) {
		raw := block(legacyTx, segwitTx, segwitTx)
		cuts := make([]int, len(raw))
		for i := range cuts {
			cuts[i] = i
		}
		cutAll(t, raw, cuts, true)
	})
	for _, rb := range realBlocks {
		t.Run(rb.name, func(t *testing.T) {
			raw := rawBlock(t, rb)
			var blk Block
			if err := blk.Parse(raw); err != nil {
				t.Fatal(err)
			}
			// Every tx boundary and its neighbours, plus random cuts.
			var cuts []int
			p := HeaderSize + varIntSize(uint64(len(blk.Txs)))
			for i := range blk.Txs {
				if i%16 == 0 || i == len(blk.Txs)-1 {
					cuts = append(cuts, p-1, p, p+1, p+5, p+6)
				}
				p += blk.Txs[i].Size
			}
			rng := rand.New(rand.NewPCG(uint64(len(raw)), 7))
			for range 300 {
				cuts = append(cuts, rng.IntN(len(raw)))
			}
			cuts = append(cuts, 0, 79, 80, 81, len(raw)-1)
			cutAll(t, raw, cuts, true)
		})
	}
	t.Run("standalone tx", func(t *testing.T) {
		raw := loadData(t, "bitcoin-s/tx-7393096d.raw")
		var tx Tx
		rng := rand.New(rand.NewPCG(3, 4))
		for range 500 {
			n := rng.IntN(len(raw))
			if _, err := ParseTx(raw[:n:n], &tx); !errors.Is(err, ErrTruncated) {
				t.Fatalf("ParseTx(raw[:%d]) = %v, want ErrTruncated", n, err)
			}
		}
	})
}

// TestAllocsPerTx checks the steady-state allocation count of Parse: at
// most one per transaction (the goal is zero).
func TestAllocsPerTx(t *testing.T) {
	type input struct {
		name   string
		blocks [][]byte
	}
	inputs := []input{{"blk0-first-2000", blk0(t)[:2000]}}
	for _, rb := range realBlocks {
		inputs = append(inputs, input{rb.name, [][]byte{rawBlock(t, rb)}})
	}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			var blk Block
			txs := 0
			for _, raw := range in.blocks {
				if err := blk.Parse(raw); err != nil {
					t.Fatal(err)
				}
				txs += len(blk.Txs)
			}
			allocs := testing.AllocsPerRun(3, func() {
				for _, raw := range in.blocks {
					if err := blk.Parse(raw); err != nil {
						t.Fatal(err)
					}
				}
			})
			t.Logf("%.0f allocations for %d txs (%.4f/tx)", allocs, txs, allocs/float64(txs))
			// The requirement is at most one per tx; invariant F5 promises
			// none once the Block's storage has grown.
			if allocs > float64(txs) {
				t.Fatalf("%.0f allocations for %d txs: more than one per tx", allocs, txs)
			}
			if allocs != 0 {
				t.Fatalf("%.0f allocations in a steady-state Parse, want 0 (invariant F5)", allocs)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	cases := []struct {
		e    Error
		want string
	}{
		{Error{File: "blk00000.dat", Offset: 1234567, Height: 2, TxIndex: 5, Err: ErrTruncated}, "blk00000.dat: offset 1234567: block 2 tx 5: truncated"},
		{Error{File: "/x/blk00001.dat", Offset: 8, Height: -1, TxIndex: -1, Err: ErrBadMagic}, "/x/blk00001.dat: offset 8: wrong magic"},
		{Error{Offset: 90, Height: -1, TxIndex: 3, Err: ErrNonCanonical}, "offset 90: tx 3: non-canonical varint"},
		{Error{File: "f", Offset: -1, Height: 7, TxIndex: -1, Err: ErrNoTxs}, "f: block 7: block has no transactions"},
		{Error{Offset: -1, Height: -1, TxIndex: -1}, "unknown error"},
	}
	for _, tc := range cases {
		if got := tc.e.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestLocate(t *testing.T) {
	var blk Block
	err := blk.Parse(block(legacyTx, cat(version, []byte{0, 7})))
	loc := Locate(err, "blk00003.dat", 1000, 42)
	var e *Error
	if !errors.As(loc, &e) || e.File != "blk00003.dat" || e.Height != 42 || e.TxIndex != 1 || !errors.Is(loc, ErrBadWitness) {
		t.Fatalf("Locate = %#v", loc)
	}
	if want := int64(1000 + HeaderSize + 1 + len(legacyTx) + 5); e.Offset != want {
		t.Fatalf("offset %d, want %d", e.Offset, want)
	}
	if Locate(nil, "f", 1, 1) != nil {
		t.Fatal("Locate(nil) != nil")
	}
	plain := errors.New("boom")
	if l := Locate(plain, "f", 9, -1); !errors.Is(l, plain) || l.Error() != "f: offset 9: boom" {
		t.Fatalf("Locate(plain) = %v", l)
	}
}
