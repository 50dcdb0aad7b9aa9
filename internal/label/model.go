package label

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// Keyspaces (inside index.StageLabel's range). BE = big-endian.
const (
	pState    = index.StageLabel + 0x0 // 40                                  -> state
	pSource   = index.StageLabel + 0x1 // 41 source BE32                      -> Source
	pLabel    = index.StageLabel + 0x2 // 42 len(key) key source BE32 seq BE32 -> Label (labels of an address)
	pPub      = index.StageLabel + 0x3 // 43 source BE32 date BE64            -> publication (a dated list snapshot)
	pAdded    = index.StageLabel + 0x4 // 44 import BE32 len(key) key         -> empty: the import first put the address on its source
	pEntity   = index.StageLabel + 0x5 // 45 entity BE64 addrid BE64          -> empty: labelled indexed addresses by entity
	pActor    = index.StageLabel + 0x6 // 46 actor id                         -> actor (from ActorPacks)
	pIncident = index.StageLabel + 0x7 // 47 incident BE32                    -> Incident (outputs that are a source of a category)
	pReported = index.StageLabel + 0x8 // 48 len(key)… address key             -> <uvarint tx bound><uvarint standalone bound>: rescreen reported its txs below these
	pEnd      = index.StageLabel + 0x9
	keyState  = "state"
)

// Scope says what a label is about.
type Scope uint8

const (
	// OnAddress: the label describes the address (and flows to its entity
	// when it is a cluster definer).
	OnAddress Scope = 0
	// OnEntity: an investigator labelled the whole entity through this
	// address; it always flows to the entity.
	OnEntity Scope = 1
)

// Label is one attribution of one address.
type Label struct {
	Address        address.Key `json:"-"`
	Label          string      `json:"label"`
	Category       string      `json:"category"`        // concept id (exchange, mixing_service, …)
	Abuse          string      `json:"abuse,omitempty"` // concept id (ransomware, sanction, …)
	Actor          string      `json:"actor,omitempty"` // ActorPack id
	Source         string      `json:"source"`          // where the claim comes from (URL, list, investigator)
	Confidence     int         `json:"confidence"`      // 0..100
	ConfidenceID   string      `json:"confidence_id,omitempty"`
	Context        string      `json:"context,omitempty"` // free text from the pack
	ClusterDefiner bool        `json:"cluster_definer"`
	Scope          Scope       `json:"-"`
	// ListedFrom and ListedTo bound when the label applied: for a dated
	// list, the first publication listing the address and the first
	// complete one after it that did not; for a TagPack, the tag's lastmod.
	// Zero when unknown (open).
	ListedFrom time.Time `json:"-"`
	ListedTo   time.Time `json:"-"`
	// LastSeen is the last publication of a dated list that listed the
	// address (zero for other sources).
	LastSeen time.Time `json:"-"`
	// SourceID is the import (pack, list) the label came from; Import is
	// the import that added it.
	SourceID uint32 `json:"-"`
	Import   uint32 `json:"-"`
}

// Source is one origin of labels: a TagPack file, a sanctions list (all
// its dated publications), or the investigator's own labels.
type Source struct {
	ID       uint32    `json:"id"`
	Kind     string    `json:"kind"` // "tagpack", "ofac", "own"
	Name     string    `json:"name"` // pack title, list name
	File     string    `json:"file"` // the last file imported into it
	Digest   string    `json:"sha256"`
	Imported time.Time `json:"imported"`
	Labels   int       `json:"labels"` // addresses labelled
}

// publication is one dated snapshot of a list: complete when absence from
// it means removal (a plain list, the XML), partial when not (SDN.CSV,
// whose remarks are truncated).
type publication struct {
	Date     time.Time
	Complete bool
	File     string
	Count    int
}

var errCorrupt = errors.New("label: corrupt record")

func corrupt(what string, err error) error { return fmt.Errorf("%w: %s: %v", errCorrupt, what, err) }

func putTime(e *encoding.Encbuf, t time.Time) {
	if t.IsZero() {
		e.PutVarint(0)
		return
	}
	e.PutVarint(t.Unix())
}

func getTime(d *encoding.Decbuf) time.Time {
	x := d.Varint()
	if x == 0 {
		return time.Time{}
	}
	return time.Unix(x, 0).UTC()
}

// Label record: <uvarint-bytes label, category, abuse, actor, source,
// confidence id, context><1B confidence><1B flags: 1 definer, 2 entity
// scope><varint from><varint to><varint last seen><uvarint import>
func (l *Label) encode() []byte {
	var e encoding.Encbuf
	for _, s := range []string{l.Label, l.Category, l.Abuse, l.Actor, l.Source, l.ConfidenceID, l.Context} {
		e.PutUvarintBytes([]byte(s))
	}
	e.PutByte(byte(l.Confidence))
	var flags byte
	if l.ClusterDefiner {
		flags |= 1
	}
	if l.Scope == OnEntity {
		flags |= 2
	}
	e.PutByte(flags)
	putTime(&e, l.ListedFrom)
	putTime(&e, l.ListedTo)
	putTime(&e, l.LastSeen)
	e.PutUvarint(uint64(l.Import))
	return e.Get()
}

func (l *Label) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	for _, s := range []*string{&l.Label, &l.Category, &l.Abuse, &l.Actor, &l.Source, &l.ConfidenceID, &l.Context} {
		*s = string(d.UvarintBytes())
	}
	l.Confidence = int(d.Byte())
	flags := d.Byte()
	l.ClusterDefiner = flags&1 != 0
	l.Scope = OnAddress
	if flags&2 != 0 {
		l.Scope = OnEntity
	}
	l.ListedFrom = getTime(&d)
	l.ListedTo = getTime(&d)
	l.LastSeen = getTime(&d)
	l.Import = uint32(d.Uvarint())
	if d.Err() != nil {
		return corrupt("label", d.Err())
	}
	return nil
}

// Source record: <uvarint-bytes kind, name, file, digest><varint imported><uvarint labels>
func (s *Source) encode() []byte {
	var e encoding.Encbuf
	for _, x := range []string{s.Kind, s.Name, s.File, s.Digest} {
		e.PutUvarintBytes([]byte(x))
	}
	putTime(&e, s.Imported)
	e.PutUvarint(uint64(s.Labels))
	return e.Get()
}

func (s *Source) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	for _, x := range []*string{&s.Kind, &s.Name, &s.File, &s.Digest} {
		*x = string(d.UvarintBytes())
	}
	s.Imported = getTime(&d)
	s.Labels = int(d.Uvarint())
	if d.Err() != nil {
		return corrupt("source", d.Err())
	}
	return nil
}

// publication record: <1B complete><uvarint-bytes file><uvarint count>
func (p *publication) encode() []byte {
	var e encoding.Encbuf
	c := byte(0)
	if p.Complete {
		c = 1
	}
	e.PutByte(c)
	e.PutUvarintBytes([]byte(p.File))
	e.PutUvarint(uint64(p.Count))
	return e.Get()
}

func (p *publication) decode(date int64, b []byte) error {
	d := encoding.Decbuf{B: b}
	p.Date = time.Unix(date, 0).UTC()
	p.Complete = d.Byte() == 1
	p.File = string(d.UvarintBytes())
	p.Count = int(d.Uvarint())
	if d.Err() != nil {
		return corrupt("publication", d.Err())
	}
	return nil
}

// state: <uvarint next source><uvarint next import><uvarint rescreened through import>
// <uvarint cluster merges the entity index reflects + 1 (0: never built)>
// [<uvarint the index's next address id when the entity index was last
// brought up to date> (absent in older stores: 0, unknown)]
type state struct {
	NextSource   uint32
	NextImport   uint32
	Rescreened   uint32
	EntityIndex  uint64
	IndexedAddrs uint64
}

func (s *state) encode() []byte {
	var e encoding.Encbuf
	e.PutUvarint(uint64(s.NextSource))
	e.PutUvarint(uint64(s.NextImport))
	e.PutUvarint(uint64(s.Rescreened))
	e.PutUvarint(s.EntityIndex)
	e.PutUvarint(s.IndexedAddrs)
	return e.Get()
}

func (s *state) decode(b []byte) error {
	d := encoding.Decbuf{B: b}
	s.NextSource = uint32(d.Uvarint())
	s.NextImport = uint32(d.Uvarint())
	s.Rescreened = uint32(d.Uvarint())
	s.EntityIndex = d.Uvarint()
	s.IndexedAddrs = 0
	if d.Err() == nil && d.Len() > 0 {
		s.IndexedAddrs = d.Uvarint()
	}
	if d.Err() != nil {
		return corrupt("state", d.Err())
	}
	return nil
}

// Keys.

func keyAddrPrefix(k address.Key) []byte {
	kb := k.Bytes()
	return append([]byte{pLabel, byte(len(kb))}, kb...)
}

func keyLabel(k address.Key, source, seq uint32) []byte {
	b := keyAddrPrefix(k)
	b = binary.BigEndian.AppendUint32(b, source)
	return binary.BigEndian.AppendUint32(b, seq)
}

func keySource(id uint32) []byte { return binary.BigEndian.AppendUint32([]byte{pSource}, id) }

func keyPub(source uint32, date time.Time) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint32([]byte{pPub}, source), uint64(date.Unix()))
}

func keyAdded(imp uint32, k address.Key) []byte {
	kb := k.Bytes()
	return append(append(binary.BigEndian.AppendUint32([]byte{pAdded}, imp), byte(len(kb))), kb...)
}

func keyEntity(entity, addr uint64) []byte {
	return binary.BigEndian.AppendUint64(binary.BigEndian.AppendUint64([]byte{pEntity}, entity), addr)
}

// parseLabelKey splits a 42 key into address key, source and seq.
func parseLabelKey(k []byte) (address.Key, uint32, uint32, error) {
	if len(k) < 2 || len(k) != 2+int(k[1])+8 {
		return address.Key{}, 0, 0, corrupt("label key", fmt.Errorf("%x", k))
	}
	ak, err := address.KeyFromBytes(k[2 : 2+k[1]])
	if err != nil {
		return ak, 0, 0, corrupt("label key", err)
	}
	n := 2 + int(k[1])
	return ak, binary.BigEndian.Uint32(k[n:]), binary.BigEndian.Uint32(k[n+4:]), nil
}
