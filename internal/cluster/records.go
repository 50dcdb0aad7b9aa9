package cluster

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Keyspaces (inside index.StageCluster's range). docs/format/index.md draws
// them; BE = big-endian.
const (
	pState    = index.StageCluster + 0x0 // 30 "state"                    -> state
	pBlock    = index.StageCluster + 0x1 // 31 height BE32                -> block hash (32) + uvarint first tx
	pMerge    = index.StageCluster + 0x2 // 32 txnum BE64 seq BE32        -> mergeRecord (the merge log)
	pAdj      = index.StageCluster + 0x3 // 33 addrid BE64 txnum BE64 seq BE32 -> empty (merges touching an address)
	pEntityOf = index.StageCluster + 0x4 // 34 addrid BE64                -> uvarint entity id (members of non-singletons)
	pMember   = index.StageCluster + 0x5 // 35 entity BE64 addrid BE64    -> empty
	pEntity   = index.StageCluster + 0x6 // 36 entity BE64                -> uvarint size (non-singletons)
	pTxNote   = index.StageCluster + 0x7 // 37 txnum BE64                 -> CoinJoin verdict
	pMixer    = index.StageCluster + 0x8 // 38 addrid BE64 txnum BE64     -> empty (address was a CoinJoin input)
	pRefused  = index.StageCluster + 0x9 // 39 txnum BE64 seq BE32        -> mergeRecord (refused by the guard)
	pCand     = index.StageCluster + 0xA // 3A outref BE64                -> candidate (change candidates)
	pEnd      = index.StageCluster + 0xB
	// pOverride lies past pEnd: a rebuild (which clears 30–3A) keeps the
	// investigators' decisions.
	pOverride = index.StageCluster + 0xE // 3E kind byte, subject        -> override (overrides.go)
)

var errCorrupt = errors.New("cluster: corrupt record")

func corrupt(what string, err error) error { return fmt.Errorf("%w: %s: %v", errCorrupt, what, err) }

func key64(p byte, x uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, x) }

func key64x2(p byte, x, y uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{p}, x), y)
}

func keyMerge(p byte, tx btc.TxNum, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(key64(p, uint64(tx)), seq)
}

func keyAdj(a btc.AddrID, tx btc.TxNum, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(key64x2(pAdj, uint64(a), uint64(tx)), seq)
}

func keyBlock(h btc.Height) []byte { return binary.BigEndian.AppendUint32([]byte{pBlock}, uint32(h)) }

func be64(b []byte) uint64 { return binary.BigEndian.Uint64(b) }

// state is the clustering's progress, written with every batch.
//
//	<varint height><32b tip><uvarint next tx><uvarint detached done>
//	<uvarint merges><uvarint refused><1b dirty><uvarint-bytes config>
//	[<uvarint adjacency pending from tx + 1>] (absent in older stores: 0)
type state struct {
	Height       int64 // last clustered best-chain block; -1 before any
	Tip          btc.Hash
	NextTx       btc.TxNum // first best-chain tx not yet clustered
	DetachedDone uint64    // standalone txs clustered
	Merges       uint64
	Refused      uint64
	// Dirty: merges were logged that the entity keyspaces (34–36) may not
	// show yet; the next run rebuilds them from the log.
	Dirty  bool
	Config []byte // Config.encode
	// AdjFrom, when not 0, is 1 + the first transaction whose merges may
	// lack their adjacency keys (33): a bulk run writes those at its end
	// from the merge log (deriveAdj), and an interrupted one leaves this
	// set for the next run to finish.
	AdjFrom uint64
}

func (s *state) encode() []byte {
	var e encoding.Encbuf
	e.PutVarint(s.Height)
	e.PutBytes(s.Tip[:])
	e.PutUvarint(uint64(s.NextTx))
	e.PutUvarint(s.DetachedDone)
	e.PutUvarint(s.Merges)
	e.PutUvarint(s.Refused)
	d := byte(0)
	if s.Dirty {
		d = 1
	}
	e.PutByte(d)
	e.PutUvarintBytes(s.Config)
	e.PutUvarint(s.AdjFrom)
	return e.Get()
}

func (s *state) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	s.Height = d.Varint()
	copy(s.Tip[:], d.Bytes(32))
	s.NextTx = btc.TxNum(d.Uvarint())
	s.DetachedDone = d.Uvarint()
	s.Merges = d.Uvarint()
	s.Refused = d.Uvarint()
	s.Dirty = d.Byte() == 1
	s.Config = append([]byte(nil), d.UvarintBytes()...)
	s.AdjFrom = 0
	if d.Err() == nil && d.Len() > 0 {
		s.AdjFrom = d.Uvarint()
	}
	if d.Err() != nil {
		return corrupt("state", d.Err())
	}
	return nil
}

// mergeRecord is one merge (or refused merge):
//
//	<uvarint a><uvarint b><1b heuristic><1b evidence><1b confidence %>
//	[change only: <uvarint outref of the change output>]
//	[refused only: <uvarint size a><uvarint size b>]
//	[refused multi-input only: <uvarint entities><uvarint established>]
//
// a is the address the link starts from (an input of the tx), b the one it
// joins (another input, or the change output's address). A refused
// co-spend names an input of each of the two largest entities it would
// have joined; its evidence byte holds the reason (refuseReason).
type mergeRecord struct {
	A, B       btc.AddrID
	Heuristic  Heuristic
	Evidence   Evidence
	Confidence uint8 // percent
	ChangeOut  btc.OutRef
	SizeA      uint32
	SizeB      uint32
	// Refused co-spends: the distinct entities among the inputs and how
	// many of them were established.
	Entities, Established uint32
}

func (m *mergeRecord) encode(refused bool) []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(m.A))
	e.PutUvarint(uint64(m.B))
	e.PutByte(byte(m.Heuristic))
	e.PutByte(byte(m.Evidence))
	e.PutByte(m.Confidence)
	if m.Heuristic == Change {
		e.PutUvarint(uint64(m.ChangeOut))
	}
	if refused {
		e.PutUvarint(uint64(m.SizeA))
		e.PutUvarint(uint64(m.SizeB))
		if m.Heuristic == MultiInput {
			e.PutUvarint(uint64(m.Entities))
			e.PutUvarint(uint64(m.Established))
		}
	}
	return e.Get()
}

func (m *mergeRecord) decode(b []byte, refused bool) error {
	d := encoding.Decbuf{B: b}
	m.A = btc.AddrID(d.Uvarint())
	m.B = btc.AddrID(d.Uvarint())
	m.Heuristic = Heuristic(d.Byte())
	m.Evidence = Evidence(d.Byte())
	m.Confidence = d.Byte()
	if m.Heuristic == Change {
		m.ChangeOut = btc.OutRef(d.Uvarint())
	}
	if refused {
		m.SizeA = uint32(d.Uvarint())
		m.SizeB = uint32(d.Uvarint())
		if m.Heuristic == MultiInput {
			m.Entities = uint32(d.Uvarint())
			m.Established = uint32(d.Uvarint())
		}
	}
	if d.Err() != nil {
		return corrupt("merge", d.Err())
	}
	if d.Len() != 0 {
		return corrupt("merge", errors.New("trailing bytes"))
	}
	return nil
}

// candidate: <1b evidence><uvarint version><1b lock style><1b two-out><uvarint input addr>
func (c *candidate) encode() []byte {
	var e encoding.Encbuf
	e.PutByte(byte(c.evidence))
	e.PutUvarint(uint64(c.fp.version))
	e.PutByte(c.fp.lock)
	t := byte(0)
	if c.twoOut {
		t = 1
	}
	e.PutByte(t)
	e.PutUvarint(uint64(c.input))
	return e.Get()
}

func (c *candidate) decode(b []byte, vout uint32) error {
	d := encoding.Decbuf{B: b}
	c.vout = vout
	c.evidence = Evidence(d.Byte())
	c.fp.version = uint32(d.Uvarint())
	c.fp.lock = d.Byte()
	c.twoOut = d.Byte() == 1
	c.input = btc.AddrID(d.Uvarint())
	if d.Err() != nil {
		return corrupt("change candidate", d.Err())
	}
	return nil
}
