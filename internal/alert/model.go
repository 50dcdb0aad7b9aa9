package alert

import (
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// Level is an alert's severity.
type Level uint8

const (
	Low Level = iota + 1
	Medium
	High
	Critical
)

var levelNames = [...]string{"", "low", "medium", "high", "critical"}

func (l Level) String() string {
	if int(l) < len(levelNames) && l > 0 {
		return levelNames[l]
	}
	return fmt.Sprintf("level(%d)", l)
}

// ParseLevel parses "low", "medium", "high" or "critical".
func ParseLevel(s string) (Level, error) {
	for i := 1; i < len(levelNames); i++ {
		if levelNames[i] == s {
			return Level(i), nil
		}
	}
	return 0, fmt.Errorf("alert level %q: want low, medium, high or critical", s)
}

// Status is an alert's review status.
type Status uint8

const (
	Open Status = iota + 1
	Acknowledged
	Dismissed
	Escalated
)

var statusNames = [...]string{"", "open", "acknowledged", "dismissed", "escalated"}

func (s Status) String() string {
	if int(s) < len(statusNames) && s > 0 {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", s)
}

// ParseStatus parses a status name.
func ParseStatus(s string) (Status, error) {
	for i := 1; i < len(statusNames); i++ {
		if statusNames[i] == s {
			return Status(i), nil
		}
	}
	return 0, fmt.Errorf("alert status %q: want open, acknowledged, dismissed or escalated", s)
}

// Exposure is why a transaction is risky: the share (parts per million of
// the value) and value that trace to Category, and a sentence saying how.
type Exposure struct {
	Category    string `json:"category,omitempty"`
	SharePPM    uint32 `json:"share_ppm,omitempty"`
	Value       uint64 `json:"value_sat,omitempty"`
	Explanation string `json:"explanation,omitempty"`
}

// Note is a reviewer's note, with the status it set (0: unchanged) and
// who wrote it (the API key's name; "" from the CLI or a server without
// keys).
type Note struct {
	Time   time.Time `json:"time"`
	Status Status    `json:"-"`
	Text   string    `json:"text"`
	By     string    `json:"by,omitempty"`
}

// Alert is one watched-item hit in one transaction of one block.
type Alert struct {
	ID          uint64
	Level       Level
	Rule        string // the rule that fired, e.g. "watch:3/address" or "watch:3/exposure:theft>=10%"
	TxID        btc.Hash
	Address     string // the watched address involved ("" for an entity-wide rule without one)
	Value       uint64 // satoshis the watched item received or sent in the tx
	Exposure    Exposure
	Height      int64
	BlockHash   btc.Hash
	Status      Status
	Invalidated bool // the block was disconnected; Revalidate clears it
	Notes       []Note
	Created     time.Time
	Updated     time.Time
}

// ErrCorrupt wraps every decoding failure of a stored record.
var ErrCorrupt = errors.New("alert: corrupt record")

// alertVersion 2 added each note's author; version 1 records still decode.
const alertVersion = 2

// Times are stored as varint Unix nanoseconds, 0 for the zero time.
func putTime(e *encoding.Encbuf, t time.Time) {
	var ns int64
	if !t.IsZero() {
		ns = t.UnixNano()
	}
	e.PutVarint(ns)
}

func getTime(d *encoding.Decbuf) (t time.Time) {
	if ns := d.Varint(); ns != 0 {
		t = time.Unix(0, ns).UTC()
	}
	return t
}

// openRecord starts decoding a record of kind what, checking its version.
func openRecord(v []byte, what string, version byte) (*encoding.Decbuf, error) {
	d := &encoding.Decbuf{B: v}
	if ver := d.Byte(); d.E == nil && ver != version {
		return nil, fmt.Errorf("%w: %s record version %d", ErrCorrupt, what, ver)
	}
	return d, nil
}

// closeRecord ends decoding: the first error met, or bytes left over.
func closeRecord(d *encoding.Decbuf, what string) error {
	if d.E != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, what, d.E)
	}
	if d.Len() != 0 {
		return fmt.Errorf("%w: %s: %d trailing bytes", ErrCorrupt, what, d.Len())
	}
	return nil
}

func putString(e *encoding.Encbuf, s string) { e.PutUvarint(uint64(len(s))); e.B = append(e.B, s...) }

func getString(d *encoding.Decbuf, max int) string {
	n := d.Uvarint()
	if d.E == nil && n > uint64(max) {
		d.E = encoding.ErrInvalidSize
	}
	return string(d.Bytes(int(n)))
}

const (
	maxText  = 1 << 16
	maxNotes = 1 << 12
)

func (a *Alert) encode(e *encoding.Encbuf) {
	e.PutByte(alertVersion)
	e.PutUvarint(a.ID)
	e.PutByte(byte(a.Level))
	putString(e, a.Rule)
	e.PutBytes(a.TxID[:])
	putString(e, a.Address)
	e.PutUvarint(a.Value)
	putString(e, a.Exposure.Category)
	e.PutUvarint(uint64(a.Exposure.SharePPM))
	e.PutUvarint(a.Exposure.Value)
	putString(e, a.Exposure.Explanation)
	e.PutVarint(a.Height)
	e.PutBytes(a.BlockHash[:])
	e.PutByte(byte(a.Status))
	if a.Invalidated {
		e.PutByte(1)
	} else {
		e.PutByte(0)
	}
	putTime(e, a.Created)
	putTime(e, a.Updated)
	e.PutUvarint(uint64(len(a.Notes)))
	for _, n := range a.Notes {
		putTime(e, n.Time)
		e.PutByte(byte(n.Status))
		putString(e, n.Text)
		putString(e, n.By)
	}
}

func (a *Alert) decode(v []byte) error {
	d := &encoding.Decbuf{B: v}
	ver := d.Byte()
	if d.E == nil && (ver < 1 || ver > alertVersion) {
		return fmt.Errorf("%w: alert record version %d", ErrCorrupt, ver)
	}
	*a = Alert{}
	a.ID = d.Uvarint()
	a.Level = Level(d.Byte())
	a.Rule = getString(d, maxText)
	copy(a.TxID[:], d.Bytes(32))
	a.Address = getString(d, maxText)
	a.Value = d.Uvarint()
	a.Exposure.Category = getString(d, maxText)
	ppm := d.Uvarint()
	a.Exposure.Value = d.Uvarint()
	a.Exposure.Explanation = getString(d, maxText)
	a.Height = d.Varint()
	copy(a.BlockHash[:], d.Bytes(32))
	a.Status = Status(d.Byte())
	inv := d.Byte()
	a.Created = getTime(d)
	a.Updated = getTime(d)
	n := d.Uvarint()
	if d.E == nil && n > maxNotes {
		d.E = encoding.ErrInvalidSize
	}
	for i := uint64(0); i < n && d.E == nil; i++ {
		var nt Note
		nt.Time = getTime(d)
		nt.Status = Status(d.Byte())
		nt.Text = getString(d, maxText)
		if ver >= 2 {
			nt.By = getString(d, maxText)
		}
		a.Notes = append(a.Notes, nt)
	}
	if err := closeRecord(d, "alert"); err != nil {
		return err
	}
	switch {
	case ppm > 1_000_000:
		return fmt.Errorf("%w: alert %d: share %d ppm above 100%%", ErrCorrupt, a.ID, ppm)
	case a.Level < Low || a.Level > Critical:
		return fmt.Errorf("%w: alert %d: level %d", ErrCorrupt, a.ID, a.Level)
	case a.Status < Open || a.Status > Escalated:
		return fmt.Errorf("%w: alert %d: status %d", ErrCorrupt, a.ID, a.Status)
	case inv > 1:
		return fmt.Errorf("%w: alert %d: invalidated flag %d", ErrCorrupt, a.ID, inv)
	}
	for _, nt := range a.Notes {
		if nt.Status > Escalated {
			return fmt.Errorf("%w: alert %d: note status %d", ErrCorrupt, a.ID, nt.Status)
		}
	}
	a.Exposure.SharePPM = uint32(ppm)
	a.Invalidated = inv == 1
	return nil
}
