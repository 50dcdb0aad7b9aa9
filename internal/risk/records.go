package risk

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/cluster"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Keyspaces (docs/format/index.md, "Exposure").
const (
	pState    = index.StageRisk + 0x00 // 50: state
	pAggRuns  = index.StageRisk + 0x01 // 51: present while a from-scratch run defers its aggregates: how many runs of 5E it wrote
	pVector   = index.StageRisk + 0x02 // 52 outref: exposure vector of an output
	pAgg      = index.StageRisk + 0x03 // 53 addrid: exposure aggregate of an address
	pEntity   = index.StageRisk + 0x04 // 54 entity: its own categories and the address cited for each
	pIncident = index.StageRisk + 0x05 // 55 outref: an incident's output as exposure last applied it
	pUndo     = index.StageRisk + 0x06 // 56 height: a recent block's undo record (rollback.go)
	pAggRun   = index.StageRisk + 0x0e // 5E run addrid: a batch's partial aggregates, until merged into 53 (aggruns.go)
	pEnd      = index.StageRisk + 0x10 // one past the stage's range
)

var errCorrupt = errors.New("risk: corrupt record")

func corrupt(what string, err error) error { return fmt.Errorf("%w: %s: %v", errCorrupt, what, err) }

func key64(p byte, x uint64) []byte { return binary.BigEndian.AppendUint64([]byte{p}, x) }

// one is a share of 1 in parts per billion.
const one = 1_000_000_000

// state is keyspace 50: how far exposure has been computed, and under
// which attribution.
type state struct {
	Height       int64
	Tip          btc.Hash
	NextTx       btc.TxNum  // best-chain txs below this are done
	DetachedDone uint64     // standalone txs done
	Bound        btc.AddrID // the fingerprint covers addresses below this
	Fingerprint  [32]byte   // of the labelled entities restricted to Bound
	Config       []byte
	// Log sums the clustering's merges of the transactions below NextTx
	// when this state was written (HasLog: the field is stored; older
	// states lack it). The next update compares it with the log's sum
	// below the same bound: equal, the forest of those merges is the one
	// the stored attribution (54) was computed with, and only addresses
	// that later merges moved between attributions are affected.
	Log    cluster.LogSum
	HasLog bool
}

func (s *state) encode() []byte {
	var e encoding.Encbuf
	e.PutVarint(s.Height)
	e.PutBytes(s.Tip[:])
	e.PutUvarint(uint64(s.NextTx))
	e.PutUvarint(s.DetachedDone)
	e.PutUvarint(uint64(s.Bound))
	e.PutBytes(s.Fingerprint[:])
	e.PutUvarintBytes(s.Config)
	if s.HasLog {
		e.PutUvarint(s.Log.Merges)
		e.PutBE64(s.Log.Sum)
	}
	return e.Get()
}

func (s *state) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	s.Height = d.Varint()
	copy(s.Tip[:], d.Bytes(32))
	s.NextTx = btc.TxNum(d.Uvarint())
	s.DetachedDone = d.Uvarint()
	s.Bound = btc.AddrID(d.Uvarint())
	copy(s.Fingerprint[:], d.Bytes(32))
	s.Config = slices.Clone(d.UvarintBytes())
	if d.Err() == nil && d.Len() > 0 {
		s.Log.Merges, s.Log.Sum, s.HasLog = d.Uvarint(), d.BE64(), true
	}
	if d.Err() != nil {
		return corrupt("state", d.Err())
	}
	return nil
}

// entry is one category of an output's exposure vector: the share of its
// value that traces back to the category, the fewest hops to a labelled
// entity of it, and the biggest contributor's labelled address and the
// transaction in which that entity paid (hop 1).
type entry struct {
	Cat   Category
	Hops  uint8
	Share uint32 // parts per billion
	Src   btc.AddrID
	SrcTx btc.TxNum
}

type vector []entry

func (v vector) encode(e *encoding.Encbuf) {
	e.PutUvarint(uint64(len(v)))
	for _, x := range v {
		e.PutByte(byte(x.Cat))
		e.PutByte(x.Hops)
		e.PutUvarint(uint64(x.Share))
		e.PutUvarint(uint64(x.Src))
		e.PutUvarint(uint64(x.SrcTx))
	}
}

func decodeVector(b []byte) (vector, error) {
	d := encoding.Decbuf{B: b}
	n := d.Uvarint()
	if n >= nCategories {
		return nil, corrupt("vector", fmt.Errorf("%d categories", n))
	}
	v := make(vector, n)
	for i := range v {
		v[i] = entry{Cat: Category(d.Byte()), Hops: d.Byte(), Share: uint32(d.Uvarint()), Src: btc.AddrID(d.Uvarint()), SrcTx: btc.TxNum(d.Uvarint())}
		if v[i].Share > one || v[i].Cat == 0 || v[i].Cat >= nCategories {
			return nil, corrupt("vector", fmt.Errorf("entry %+v", v[i]))
		}
	}
	if d.Err() != nil {
		return nil, corrupt("vector", d.Err())
	}
	return v, nil
}

// Direction says whether exposed sats came in or went out.
type Direction uint8

const (
	Received Direction = 0
	Sent     Direction = 1
)

func (d Direction) String() string {
	if d == Sent {
		return "sent"
	}
	return "received"
}

// flow is one row of an address's aggregate: what it received from (or
// sent to) a category, directly or indirectly.
type flow struct {
	Cat      Category
	Dir      Direction
	Indirect bool
	Sats     uint64
	MinHops  uint8
	Best     uint64 // the biggest single contribution…
	BestHops uint8
	Src      btc.AddrID // …its labelled address
	SrcTx    btc.TxNum  // …and the hop-1 transaction
}

func (f *flow) slot() int { return (int(f.Cat)*2+int(f.Dir))*2 + b2i(f.Indirect) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// add merges contribution c into f. The best contribution is the largest,
// ties broken by the earlier source transaction and smaller address, so
// the result does not depend on the order of additions.
func (f *flow) add(c flow) {
	if f.Sats == 0 && f.Best == 0 {
		*f = c
		return
	}
	f.Sats += c.Sats
	f.MinHops = min(f.MinHops, c.MinHops)
	if c.Best > f.Best || c.Best == f.Best && (c.SrcTx < f.SrcTx || c.SrcTx == f.SrcTx && (c.Src < f.Src || c.Src == f.Src && c.BestHops < f.BestHops)) {
		f.Best, f.BestHops, f.Src, f.SrcTx = c.Best, c.BestHops, c.Src, c.SrcTx
	}
}

type aggregate []flow // sorted by slot

func (a aggregate) encode() []byte {
	var e encoding.Encbuf
	a.encodeTo(&e)
	return e.Get()
}

func (a aggregate) encodeTo(e *encoding.Encbuf) {
	e.PutUvarint(uint64(len(a)))
	for _, f := range a {
		e.PutByte(byte(f.Cat))
		e.PutByte(byte(f.Dir)<<1 | byte(b2i(f.Indirect)))
		e.PutUvarint(f.Sats)
		e.PutByte(f.MinHops)
		e.PutUvarint(f.Best)
		e.PutByte(f.BestHops)
		e.PutUvarint(uint64(f.Src))
		e.PutUvarint(uint64(f.SrcTx))
	}
}

func decodeAggregate(b []byte) (aggregate, error) { return decodeAggregateTo(nil, b) }

// decodeAggregateTo decodes b into dst's array when it has room.
func decodeAggregateTo(dst aggregate, b []byte) (aggregate, error) {
	d := encoding.Decbuf{B: b}
	n := d.Uvarint()
	if n > 4*nCategories {
		return nil, corrupt("aggregate", fmt.Errorf("%d rows", n))
	}
	a := slices.Grow(dst[:0], int(n))[:n]
	for i := range a {
		f := &a[i]
		f.Cat = Category(d.Byte())
		x := d.Byte()
		f.Dir, f.Indirect = Direction(x>>1), x&1 == 1
		f.Sats = d.Uvarint()
		f.MinHops = d.Byte()
		f.Best = d.Uvarint()
		f.BestHops = d.Byte()
		f.Src = btc.AddrID(d.Uvarint())
		f.SrcTx = btc.TxNum(d.Uvarint())
	}
	if d.Err() != nil {
		return nil, corrupt("aggregate", d.Err())
	}
	return a, nil
}

// merge adds c to a, keeping a sorted by slot.
func (a aggregate) merge(c flow) aggregate {
	s := c.slot()
	i, found := slices.BinarySearchFunc(a, s, func(f flow, s int) int { return f.slot() - s })
	if found {
		a[i].add(c)
		return a
	}
	return slices.Insert(a, i, c)
}

// has reports whether a holds exactly c in c's slot.
func (a aggregate) has(c flow) bool {
	s := c.slot()
	i, found := slices.BinarySearchFunc(a, s, func(f flow, s int) int { return f.slot() - s })
	return found && a[i] == c
}

// remove takes contribution c back out of a (the reverse of merge). The
// sats subtract exactly; ok is false when a's fewest hops or biggest
// contribution could be c's own (then only a recomputation can tell what
// is left).
func (a aggregate) remove(c flow) (aggregate, bool) {
	s := c.slot()
	i, found := slices.BinarySearchFunc(a, s, func(f flow, s int) int { return f.slot() - s })
	if !found {
		return a, false
	}
	f := &a[i]
	switch {
	case c.Sats > f.Sats:
		return a, false
	case c.Sats == f.Sats:
		return slices.Delete(a, i, i+1), true // every contribution was c's
	case c.MinHops <= f.MinHops:
		return a, false
	}
	sameBest := c.Best == f.Best && c.SrcTx == f.SrcTx && c.Src == f.Src && c.BestHops == f.BestHops
	cBetter := c.Best > f.Best || c.Best == f.Best && (c.SrcTx < f.SrcTx || c.SrcTx == f.SrcTx && (c.Src < f.Src || c.Src == f.Src && c.BestHops < f.BestHops))
	if sameBest || cBetter {
		return a, false
	}
	f.Sats -= c.Sats
	return a, true
}

func keyEntity(root uint64) []byte { return binary.BigEndian.AppendUint64([]byte{pEntity}, root) }

// riskEntity record: <uvarint cats><1B stop><uvarint n> n × (<1B category><uvarint cited addrid>)
// <uvarint members below the state's bound> (absent in records written
// before it was stored)
func (re *riskEntity) encode() []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(re.cats))
	stop := byte(0)
	if re.stop {
		stop = 1
	}
	e.PutByte(stop)
	n := 0
	for c := Category(1); c < nCategories; c++ {
		if re.cats&(1<<c) != 0 {
			n++
		}
	}
	e.PutUvarint(uint64(n))
	for c := Category(1); c < nCategories; c++ {
		if re.cats&(1<<c) != 0 {
			e.PutByte(byte(c))
			e.PutUvarint(uint64(re.rep[c]))
		}
	}
	if re.hasN {
		e.PutUvarint(uint64(re.n))
	}
	return e.Get()
}

func (re *riskEntity) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	re.cats = uint16(d.Uvarint())
	re.stop = d.Byte() == 1
	n := d.Uvarint()
	for i := uint64(0); i < n && d.Err() == nil; i++ {
		c := Category(d.Byte())
		a := btc.AddrID(d.Uvarint())
		if c > 0 && c < nCategories {
			re.rep[c] = a
		}
	}
	if d.Err() == nil && d.Len() > 0 {
		re.n, re.hasN = uint32(d.Uvarint()), true
	}
	return d.Err()
}

// same reports whether two records of one entity describe it alike.
func (re *riskEntity) same(o *riskEntity) bool {
	if re.cats != o.cats || re.stop != o.stop || re.n != o.n || !re.hasN || !o.hasN {
		return false
	}
	for c := Category(1); c < nCategories; c++ {
		if re.cats&(1<<c) != 0 && re.rep[c] != o.rep[c] {
			return false
		}
	}
	return true
}

// sameAttribution reports whether an address attributed o before and a
// now is attributed alike: both unlabelled, or the same categories,
// service flag and cited addresses (the entity's size aside).
func sameAttribution(o, a *riskEntity) bool {
	if o == nil || a == nil {
		return o == nil && a == nil
	}
	if o.cats != a.cats || o.stop != a.stop {
		return false
	}
	for c := Category(1); c < nCategories; c++ {
		if o.cats&(1<<c) != 0 && o.rep[c] != a.rep[c] {
			return false
		}
	}
	return true
}

// incident output record (55): <uvarint cats><uvarint source addrid>
func encodeIncident(x incidentOut) []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(x.cats))
	e.PutUvarint(uint64(x.src))
	return e.Get()
}

func decodeIncident(b []byte) (incidentOut, error) {
	d := encoding.Decbuf{B: b}
	x := incidentOut{cats: uint16(d.Uvarint()), src: btc.AddrID(d.Uvarint())}
	if d.Err() != nil {
		return x, corrupt("incident", d.Err())
	}
	return x, nil
}
