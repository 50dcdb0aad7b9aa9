package index

import (
	"errors"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/chain"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// ErrCorrupt is wrapped by every error about a stored record that does not
// decode: the store was damaged or written by something else.
var ErrCorrupt = errors.New("index: corrupt record")

func corrupt(what string, err error) error {
	return fmt.Errorf("%w: %s: %v", ErrCorrupt, what, err)
}

// headerRecord: <80b header><uvarint file><uvarint offset><uvarint size><uvarint seq>
type headerRecord struct {
	Header [80]byte
	Loc    chain.Location
	Seq    uint64 // arrival order, for first-seen tie-breaks
}

func (r *headerRecord) encode(e *encoding.Encbuf) {
	e.PutBytes(r.Header[:])
	e.PutUvarint(uint64(r.Loc.File))
	e.PutUvarint(uint64(r.Loc.Offset))
	e.PutUvarint(uint64(r.Loc.Size))
	e.PutUvarint(r.Seq)
}

func (r *headerRecord) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	copy(r.Header[:], d.Bytes(80))
	r.Loc.File = uint32(d.Uvarint())
	r.Loc.Offset = int64(d.Uvarint())
	r.Loc.Size = uint32(d.Uvarint())
	r.Seq = d.Uvarint()
	if d.Err() == nil && d.Len() != 0 {
		return corrupt("header", errTrailing)
	}
	if d.Err() != nil {
		return corrupt("header", d.Err())
	}
	return nil
}

var errTrailing = errors.New("trailing bytes")

// blockRecord: <80b header><32b hash><uvarint height><uvarint firstTx><uvarint ntx>
// <uvarint size><uvarint weight><uvarint firstAddr><uvarint outputs><uvarint inputs>
// <uvarint source-length><source>
//
// firstAddr is the next address id when the block was connected; undoing
// the block deletes the ids from there on. source is the file a standalone
// block came from (empty for best-chain blocks).
type blockRecord struct {
	Header    [80]byte
	Hash      btc.Hash
	Height    btc.Height
	FirstTx   btc.TxNum
	NTx       uint64
	Size      uint64
	Weight    uint64
	FirstAddr btc.AddrID
	Outputs   uint64
	Inputs    uint64
	Source    string
}

func (r *blockRecord) encode(e *encoding.Encbuf) {
	e.PutBytes(r.Header[:])
	e.PutBytes(r.Hash[:])
	e.PutUvarint(uint64(r.Height))
	e.PutUvarint(uint64(r.FirstTx))
	e.PutUvarint(r.NTx)
	e.PutUvarint(r.Size)
	e.PutUvarint(r.Weight)
	e.PutUvarint(uint64(r.FirstAddr))
	e.PutUvarint(r.Outputs)
	e.PutUvarint(r.Inputs)
	e.PutUvarintBytes([]byte(r.Source))
}

func (r *blockRecord) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	copy(r.Header[:], d.Bytes(80))
	copy(r.Hash[:], d.Bytes(32))
	r.Height = btc.Height(d.Uvarint())
	r.FirstTx = btc.TxNum(d.Uvarint())
	r.NTx = d.Uvarint()
	r.Size = d.Uvarint()
	r.Weight = d.Uvarint()
	r.FirstAddr = btc.AddrID(d.Uvarint())
	r.Outputs = d.Uvarint()
	r.Inputs = d.Uvarint()
	r.Source = string(d.UvarintBytes())
	if d.Err() != nil {
		return corrupt("block", d.Err())
	}
	if d.Len() != 0 {
		return corrupt("block", errTrailing)
	}
	return nil
}

// Input kinds in a txRecord.
const (
	inCoinbase   = 0 // no prevout
	inResolved   = 1 // <uvarint outref>: the spent output is indexed
	inUnresolved = 2 // <32b txid><uvarint vout>: the spent output is not indexed
)

// txRecord layout:
//
//	<32b txid><uvarint height><uvarint version><uvarint locktime><uvarint size><uvarint weight>
//	[detached only: <32b block hash>]
//	<uvarint nin> nin × ( <1b kind> [outref | txid vout] <uvarint value+1> <uvarint addrid+1> <1b type> )
//	<uvarint nout> nout × ( <uvarint value> <1b type> <uvarint addrid+1> )
//
// value+1 and addrid+1 store 0 for "unknown" and "no address" (B4).
type txRecord struct {
	TxID      btc.Hash
	Height    btc.Height
	Version   uint32
	LockTime  uint32
	Size      uint64
	Weight    uint64
	BlockHash btc.Hash // detached only
	Ins       []txIn
	Outs      []txOut
}

type txIn struct {
	Kind     byte
	Prev     btc.OutRef   // inResolved
	PrevTxID btc.Hash     // inUnresolved
	PrevVout uint32       // inUnresolved
	Value    btc.Amount   // UnknownAmount if unknown
	Addr     btc.AddrID   // NoAddr if none/unknown
	Type     address.Type // script class of the spent output (of the address, when unresolved); NonStandard if unknown
}

type txOut struct {
	Value btc.Amount
	Type  address.Type
	Addr  btc.AddrID
}

// none is the stored "absent" sentinel for optional values (UnknownAmount, NoAddr).
const none = ^uint64(0)

func putOpt(e *encoding.Encbuf, x uint64, none uint64) {
	if x == none {
		e.PutUvarint(0)
	} else {
		e.PutUvarint(x + 1)
	}
}

func getOpt(d *encoding.Decbuf, none uint64) uint64 {
	x := d.Uvarint()
	if x == 0 {
		return none
	}
	return x - 1
}

func (r *txRecord) encodeHead(e *encoding.Encbuf, detached bool) {
	e.PutBytes(r.TxID[:])
	e.PutUvarint(uint64(r.Height))
	e.PutUvarint(uint64(r.Version))
	e.PutUvarint(uint64(r.LockTime))
	e.PutUvarint(r.Size)
	e.PutUvarint(r.Weight)
	if detached {
		e.PutBytes(r.BlockHash[:])
	}
}

func encodeIn(e *encoding.Encbuf, in *txIn) {
	e.PutByte(in.Kind)
	switch in.Kind {
	case inCoinbase:
		return
	case inResolved:
		e.PutUvarint(uint64(in.Prev))
	case inUnresolved:
		e.PutBytes(in.PrevTxID[:])
		e.PutUvarint(uint64(in.PrevVout))
	}
	putOpt(e, uint64(in.Value), none)
	putOpt(e, uint64(in.Addr), none)
	e.PutByte(byte(in.Type))
}

func encodeOut(e *encoding.Encbuf, o *txOut) {
	e.PutUvarint(uint64(o.Value))
	e.PutByte(byte(o.Type))
	putOpt(e, uint64(o.Addr), none)
}

func (r *txRecord) decode(b []byte, detached bool) error {
	d := encoding.Decbuf{B: b}
	copy(r.TxID[:], d.Bytes(32))
	r.Height = btc.Height(d.Uvarint())
	r.Version = uint32(d.Uvarint())
	r.LockTime = uint32(d.Uvarint())
	r.Size = d.Uvarint()
	r.Weight = d.Uvarint()
	if detached {
		copy(r.BlockHash[:], d.Bytes(32))
	}
	nin := d.Uvarint()
	if nin > uint64(d.Len()) {
		return corrupt("tx", fmt.Errorf("%d inputs in %d bytes", nin, d.Len()))
	}
	r.Ins = r.Ins[:0]
	for i := uint64(0); i < nin && d.Err() == nil; i++ {
		var in txIn
		in.Kind = d.Byte()
		switch in.Kind {
		case inCoinbase:
			in.Value, in.Addr = btc.UnknownAmount, btc.NoAddr
			r.Ins = append(r.Ins, in)
			continue
		case inResolved:
			in.Prev = btc.OutRef(d.Uvarint())
		case inUnresolved:
			copy(in.PrevTxID[:], d.Bytes(32))
			in.PrevVout = uint32(d.Uvarint())
		default:
			return corrupt("tx", fmt.Errorf("input kind %d", in.Kind))
		}
		in.Value = btc.Amount(getOpt(&d, none))
		in.Addr = btc.AddrID(getOpt(&d, none))
		in.Type = address.Type(d.Byte())
		r.Ins = append(r.Ins, in)
	}
	nout := d.Uvarint()
	if nout > uint64(d.Len()) {
		return corrupt("tx", fmt.Errorf("%d outputs in %d bytes", nout, d.Len()))
	}
	r.Outs = r.Outs[:0]
	for i := uint64(0); i < nout && d.Err() == nil; i++ {
		var o txOut
		o.Value = btc.Amount(d.Uvarint())
		o.Type = address.Type(d.Byte())
		o.Addr = btc.AddrID(getOpt(&d, none))
		r.Outs = append(r.Outs, o)
	}
	if d.Err() != nil {
		return corrupt("tx", d.Err())
	}
	if d.Len() != 0 {
		return corrupt("tx", errTrailing)
	}
	return nil
}

// utxoRecord: <uvarint outref><uvarint value><uvarint addrid+1><1b type>
type utxoRecord struct {
	Ref   btc.OutRef
	Value btc.Amount
	Addr  btc.AddrID
	Type  address.Type
}

func (u *utxoRecord) encode(e *encoding.Encbuf) {
	e.PutUvarint(uint64(u.Ref))
	e.PutUvarint(uint64(u.Value))
	putOpt(e, uint64(u.Addr), none)
	e.PutByte(byte(u.Type))
}

func (u *utxoRecord) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	u.Ref = btc.OutRef(d.Uvarint())
	u.Value = btc.Amount(d.Uvarint())
	u.Addr = btc.AddrID(getOpt(&d, none))
	u.Type = address.Type(d.Byte())
	if d.Err() != nil {
		return corrupt("utxo", d.Err())
	}
	return nil
}

// addrStats is both the stored value and the merge operand of an address's
// totals: <uvarint received><uvarint sent><uvarint txs><uvarint first+1>
// <uvarint last+1><uvarint unknown>. Merging adds the counters and keeps the
// smallest first and largest last transaction number.
type addrStats struct {
	Received uint64
	Sent     uint64
	TxCount  uint64
	First    btc.TxNum // valid when TxCount > 0
	Last     btc.TxNum
	Unknown  uint64 // inputs from this address whose value is unknown
}

func (s *addrStats) encode(e *encoding.Encbuf) {
	e.PutUvarint(s.Received)
	e.PutUvarint(s.Sent)
	e.PutUvarint(s.TxCount)
	e.PutUvarint(uint64(s.First))
	e.PutUvarint(uint64(s.Last))
	e.PutUvarint(s.Unknown)
}

func (s *addrStats) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	s.Received = d.Uvarint()
	s.Sent = d.Uvarint()
	s.TxCount = d.Uvarint()
	s.First = btc.TxNum(d.Uvarint())
	s.Last = btc.TxNum(d.Uvarint())
	s.Unknown = d.Uvarint()
	if d.Err() != nil {
		return corrupt("address stats", d.Err())
	}
	return nil
}

func (s *addrStats) add(o *addrStats) {
	if o.TxCount > 0 {
		if s.TxCount == 0 || o.First < s.First {
			s.First = o.First
		}
		if s.TxCount == 0 || o.Last > s.Last {
			s.Last = o.Last
		}
	}
	s.Received += o.Received
	s.Sent += o.Sent
	s.TxCount += o.TxCount
	s.Unknown += o.Unknown
}

// addrTxRecord: <uvarint received><uvarint sent><uvarint unknown-inputs>
// What one transaction did to one address.
type addrTxRecord struct {
	Received uint64
	Sent     uint64
	Unknown  uint64
}

func (r *addrTxRecord) encode(e *encoding.Encbuf) {
	e.PutUvarint(r.Received)
	e.PutUvarint(r.Sent)
	e.PutUvarint(r.Unknown)
}

func (r *addrTxRecord) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	r.Received = d.Uvarint()
	r.Sent = d.Uvarint()
	r.Unknown = d.Uvarint()
	if d.Err() != nil {
		return corrupt("address tx", d.Err())
	}
	return nil
}

// state is the ingest progress, written atomically with every batch under
// meta key "state". Everything in it is a pure function of the indexed blocks,
// so an interrupted and resumed ingest ends with the same bytes.
type state struct {
	Height         int64 // -1 before the genesis block
	Tip            btc.Hash
	NextTx         btc.TxNum
	NextAddr       btc.AddrID
	NextDetachedTx btc.TxNum // offset from DetachedBase
	Outputs        uint64    // best-chain outputs
	Inputs         uint64    // best-chain non-coinbase inputs
	UTXOs          uint64
	UTXOValue      uint64
	DetachedBlocks uint64
	DetachedTxs    uint64
	HeaderSeq      uint64
}

func (s *state) encode(e *encoding.Encbuf) {
	e.PutVarint(s.Height)
	e.PutBytes(s.Tip[:])
	e.PutUvarint(uint64(s.NextTx))
	e.PutUvarint(uint64(s.NextAddr))
	e.PutUvarint(uint64(s.NextDetachedTx))
	e.PutUvarint(s.Outputs)
	e.PutUvarint(s.Inputs)
	e.PutUvarint(s.UTXOs)
	e.PutUvarint(s.UTXOValue)
	e.PutUvarint(s.DetachedBlocks)
	e.PutUvarint(s.DetachedTxs)
	e.PutUvarint(s.HeaderSeq)
}

func (s *state) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	s.Height = d.Varint()
	copy(s.Tip[:], d.Bytes(32))
	s.NextTx = btc.TxNum(d.Uvarint())
	s.NextAddr = btc.AddrID(d.Uvarint())
	s.NextDetachedTx = btc.TxNum(d.Uvarint())
	s.Outputs = d.Uvarint()
	s.Inputs = d.Uvarint()
	s.UTXOs = d.Uvarint()
	s.UTXOValue = d.Uvarint()
	s.DetachedBlocks = d.Uvarint()
	s.DetachedTxs = d.Uvarint()
	s.HeaderSeq = d.Uvarint()
	if d.Err() != nil {
		return corrupt("state", d.Err())
	}
	return nil
}
