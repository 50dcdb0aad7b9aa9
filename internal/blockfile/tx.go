package blockfile

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Tx is a decoded transaction.
type Tx struct {
	TxID       btc.Hash
	Version    int32
	LockTime   uint32
	Ins        []TxIn
	Outs       []TxOut
	Size       int // bytes with witness
	BaseSize   int // bytes without witness
	HasWitness bool
}

// Weight is BaseSize*3 + Size.
func (t *Tx) Weight() int { return t.BaseSize*3 + t.Size }

// VSize is the virtual size, Weight/4 rounded up.
func (t *Tx) VSize() int { return (t.Weight() + 3) / 4 }

// IsCoinbase reports whether t has a single input with a null prevout.
func (t *Tx) IsCoinbase() bool {
	return len(t.Ins) == 1 && t.Ins[0].PrevVout == 0xffffffff && t.Ins[0].PrevTxID.IsZero()
}

// TxIn is a transaction input.
type TxIn struct {
	PrevTxID  btc.Hash
	PrevVout  uint32
	ScriptSig []byte
	Sequence  uint32
	Witness   [][]byte
}

// TxOut is a transaction output.
type TxOut struct {
	Value  int64
	Script []byte
}

// Consensus-derived ceilings. A count above one is ErrTooLarge; a count
// below it that cannot fit in the bytes that remain is ErrTruncated.
const (
	minTxSize       = 10 // version, two empty counts, locktime
	minTxInSize     = 41 // outpoint 36, script length 1, sequence 4
	minTxOutSize    = 9  // value 8, script length 1
	maxTxsPerBlock  = (MaxBlockSize - HeaderSize - 1) / minTxSize
	maxTxIns        = MaxBlockSize / minTxInSize
	maxTxOuts       = MaxBlockSize / minTxOutSize
	maxWitnessItems = MaxBlockSize // one length byte each
	maxItemSize     = MaxBlockSize // scripts and witness items
)

// ParseTx decodes one transaction from the start of raw into tx and returns
// the number of bytes it used. tx's slices alias raw and tx's storage: the
// capacity of tx.Ins and tx.Outs is reused, so they must not be shared with
// anything still in use (such as a Block's transactions).
func ParseTx(raw []byte, tx *Tx) (int, error) {
	st := txStore{ins: tx.Ins[:0], outs: tx.Outs[:0], exact: true}
	sp, err := parseTx(raw, 0, tx, &st, 0)
	if err != nil {
		err.TxIndex = -1
		*tx = Tx{Ins: tx.Ins[:0], Outs: tx.Outs[:0]}
		return 0, err
	}
	h := txHasher{d: sha256.New()}
	tx.TxID = h.txid(raw, sp)
	return sp.end, nil
}

// txStore is the reusable backing storage of a block's inputs, outputs and
// witness stacks. Each take hands out a full slice expression of fresh
// elements; when the pool is too small a new one replaces it (slices handed
// out earlier keep the old one alive), sized so that the next parse of the
// same data fits without growing.
type txStore struct {
	ins  []TxIn
	outs []TxOut
	wit  [][]byte
	// totals handed out since reset, across pool replacements
	nIns, nOuts, nWit int
	// exact makes pools grow to exactly what is needed (ParseTx).
	exact bool
}

func (s *txStore) reset() {
	s.ins, s.outs, s.wit = s.ins[:0], s.outs[:0], s.wit[:0]
	s.nIns, s.nOuts, s.nWit = 0, 0, 0
}

// growSize returns the size of a new pool able to hand out n more elements after
// total were handed out.
func growSize(total, n int, exact bool) int {
	if exact {
		return n
	}
	return max(2*(total+n), 64)
}

func (s *txStore) takeIns(n int) []TxIn {
	if cap(s.ins)-len(s.ins) < n {
		s.ins = make([]TxIn, 0, growSize(s.nIns, n, s.exact))
	}
	l := len(s.ins)
	s.ins = s.ins[:l+n]
	s.nIns += n
	return s.ins[l : l+n : l+n]
}

func (s *txStore) takeOuts(n int) []TxOut {
	if cap(s.outs)-len(s.outs) < n {
		s.outs = make([]TxOut, 0, growSize(s.nOuts, n, s.exact))
	}
	l := len(s.outs)
	s.outs = s.outs[:l+n]
	s.nOuts += n
	return s.outs[l : l+n : l+n]
}

func (s *txStore) takeWit(n int) [][]byte {
	if cap(s.wit)-len(s.wit) < n {
		s.wit = make([][]byte, 0, growSize(s.nWit, n, s.exact))
	}
	l := len(s.wit)
	s.wit = s.wit[:l+n]
	s.nWit += n
	return s.wit[l : l+n : l+n]
}

// txSpan locates the parts of a transaction that its txid covers: its
// serialization is raw[start:end]; without witness data it is
// raw[start:start+4] | raw[inStart:outEnd] | raw[end-4:end].
type txSpan struct {
	start, inStart, outEnd, end int
	segwit                      bool
}

// txHasher computes txids, reusing one digest for the segwit ones.
type txHasher struct {
	d   hash.Hash
	sum [sha256.Size]byte
}

// txid returns the double-SHA256 of the non-witness serialization at sp,
// hashing the pieces in place rather than copying them together.
func (h *txHasher) txid(raw []byte, sp txSpan) btc.Hash {
	if !sp.segwit {
		return doubleSHA256(raw[sp.start:sp.end])
	}
	d := h.d
	d.Reset()
	d.Write(raw[sp.start : sp.start+4])
	d.Write(raw[sp.inStart:sp.outEnd])
	d.Write(raw[sp.end-4 : sp.end])
	return sha256.Sum256(d.Sum(h.sum[:0]))
}

// readVarInt decodes the CompactSize integer at b[p:] and returns it with the
// offset just past it. It rejects encodings longer than necessary, as
// Bitcoin Core and btcd do.
func readVarInt(b []byte, p int) (uint64, int, error) {
	if p >= len(b) {
		return 0, p, truncated("varint", 1, 0)
	}
	if d := b[p]; d < 0xfd {
		return uint64(d), p + 1, nil
	}
	return readVarIntLong(b, p)
}

func readVarIntLong(b []byte, p int) (uint64, int, error) {
	var v, min uint64
	var n int
	switch b[p] {
	case 0xfd:
		n, min = 3, 0xfd
		if len(b)-p < n {
			return 0, p, truncated("varint", uint64(n), len(b)-p)
		}
		v = uint64(binary.LittleEndian.Uint16(b[p+1:]))
	case 0xfe:
		n, min = 5, 0x10000
		if len(b)-p < n {
			return 0, p, truncated("varint", uint64(n), len(b)-p)
		}
		v = uint64(binary.LittleEndian.Uint32(b[p+1:]))
	default:
		n, min = 9, 0x100000000
		if len(b)-p < n {
			return 0, p, truncated("varint", uint64(n), len(b)-p)
		}
		v = binary.LittleEndian.Uint64(b[p+1:])
	}
	if v < min {
		return 0, p, fmt.Errorf("%w: %d in %d bytes", ErrNonCanonical, v, n)
	}
	return v, p + n, nil
}

// varIntSize is the encoded size of v.
func varIntSize(v uint64) int {
	switch {
	case v < 0xfd:
		return 1
	case v <= 0xffff:
		return 3
	case v <= 0xffffffff:
		return 5
	default:
		return 9
	}
}

// readBytes reads a varint length at b[p:] and that many bytes, returning
// them (aliasing b, capacity clipped) and the offset past them.
func readBytes(b []byte, p int, what string) ([]byte, int, error) {
	n, q, err := readVarInt(b, p)
	if err != nil {
		return nil, p, err
	}
	if n > maxItemSize {
		return nil, p, tooLarge(what+" length", n, maxItemSize)
	}
	if n > uint64(len(b)-q) {
		return nil, p, truncated(what, n, len(b)-q)
	}
	e := q + int(n)
	return b[q:e:e], e, nil
}

// parseTx decodes the transaction at raw[p:] into tx, taking its inputs,
// outputs and witness stacks from st, and returns where its parts are (the
// end of the span is the offset just past it). It leaves tx.TxID alone: see
// txHasher.txid. idx is the transaction's index, for errors; offsets in
// errors are relative to raw.
func parseTx(raw []byte, p int, tx *Tx, st *txStore, idx int) (txSpan, *Error) {
	var fail txSpan
	start := p
	if len(raw)-p < 4 {
		return fail, errAt(p, idx, truncated("tx version", 4, len(raw)-p))
	}
	tx.Version = int32(binary.LittleEndian.Uint32(raw[p:]))
	p += 4

	// The input count, or the segwit marker (a count of zero).
	inStart := p
	nIn, q, err := readVarInt(raw, p)
	if err != nil {
		return fail, errAt(p, idx, err)
	}
	segwit := false
	if nIn == 0 {
		if q >= len(raw) {
			return fail, errAt(q, idx, truncated("segwit flag", 1, 0))
		}
		if f := raw[q]; f != 1 {
			return fail, errAt(q, idx, fmt.Errorf("%w: segwit flag %#02x, want 0x01", ErrBadWitness, f))
		}
		segwit = true
		p = q + 1
		inStart = p
		if nIn, q, err = readVarInt(raw, p); err != nil {
			return fail, errAt(p, idx, err)
		}
	}
	if nIn > maxTxIns {
		return fail, errAt(p, idx, tooLarge("input count", nIn, maxTxIns))
	}
	if nIn > uint64((len(raw)-q)/minTxInSize) {
		return fail, errAt(p, idx, truncated(fmt.Sprintf("%d inputs", nIn), nIn*minTxInSize, len(raw)-q))
	}
	p = q

	ins := st.takeIns(int(nIn))
	for i := range ins {
		in := &ins[i]
		if len(raw)-p < 36 {
			return fail, errAt(p, idx, truncated("outpoint", 36, len(raw)-p))
		}
		in.PrevTxID = btc.Hash(raw[p : p+32])
		in.PrevVout = binary.LittleEndian.Uint32(raw[p+32:])
		p += 36
		if in.ScriptSig, q, err = readBytes(raw, p, "input script"); err != nil {
			return fail, errAt(p, idx, err)
		}
		p = q
		if len(raw)-p < 4 {
			return fail, errAt(p, idx, truncated("sequence", 4, len(raw)-p))
		}
		in.Sequence = binary.LittleEndian.Uint32(raw[p:])
		in.Witness = nil
		p += 4
	}

	nOut, q, err := readVarInt(raw, p)
	if err != nil {
		return fail, errAt(p, idx, err)
	}
	if nOut > maxTxOuts {
		return fail, errAt(p, idx, tooLarge("output count", nOut, maxTxOuts))
	}
	if nOut > uint64((len(raw)-q)/minTxOutSize) {
		return fail, errAt(p, idx, truncated(fmt.Sprintf("%d outputs", nOut), nOut*minTxOutSize, len(raw)-q))
	}
	p = q
	outs := st.takeOuts(int(nOut))
	for i := range outs {
		out := &outs[i]
		if len(raw)-p < 8 {
			return fail, errAt(p, idx, truncated("output value", 8, len(raw)-p))
		}
		out.Value = int64(binary.LittleEndian.Uint64(raw[p:]))
		p += 8
		if out.Script, q, err = readBytes(raw, p, "output script"); err != nil {
			return fail, errAt(p, idx, err)
		}
		p = q
	}
	outEnd := p

	if segwit {
		witnessed := false
		for i := range ins {
			n, q, err := readVarInt(raw, p)
			if err != nil {
				return fail, errAt(p, idx, err)
			}
			if n > maxWitnessItems {
				return fail, errAt(p, idx, tooLarge("witness item count", n, maxWitnessItems))
			}
			if n > uint64(len(raw)-q) {
				return fail, errAt(p, idx, truncated(fmt.Sprintf("%d witness items", n), n, len(raw)-q))
			}
			p = q
			if n == 0 {
				continue
			}
			witnessed = true
			items := st.takeWit(int(n))
			for j := range items {
				if items[j], q, err = readBytes(raw, p, "witness item"); err != nil {
					return fail, errAt(p, idx, err)
				}
				p = q
			}
			ins[i].Witness = items
		}
		if !witnessed {
			return fail, errAt(start+4, idx, fmt.Errorf("%w: segwit marker without witness data", ErrBadWitness))
		}
	}

	if len(raw)-p < 4 {
		return fail, errAt(p, idx, truncated("locktime", 4, len(raw)-p))
	}
	tx.LockTime = binary.LittleEndian.Uint32(raw[p:])
	p += 4

	tx.Ins, tx.Outs = ins, outs
	tx.Size = p - start
	tx.HasWitness = segwit
	if segwit {
		tx.BaseSize = 4 + (outEnd - inStart) + 4
	} else {
		tx.BaseSize = tx.Size
	}
	return txSpan{start: start, inStart: inStart, outEnd: outEnd, end: p, segwit: segwit}, nil
}
