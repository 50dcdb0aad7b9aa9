package alert

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

const maxBody = 1 << 20

func (ev *Event) encode(e *encoding.Encbuf) {
	e.PutByte(1)
	putString(e, ev.Type)
	e.PutUvarint(ev.Alert)
	putTime(e, ev.Time)
	e.PutUvarintBytes(ev.Body)
}

func (ev *Event) decode(v []byte) error {
	d, err := openRecord(v, "event", 1)
	if err != nil {
		return err
	}
	ev.Type = getString(d, maxText)
	ev.Alert = d.Uvarint()
	ev.Time = getTime(d)
	n := d.Uvarint()
	if d.E == nil && n > maxBody {
		d.E = encoding.ErrInvalidSize
	}
	ev.Body = append([]byte(nil), d.Bytes(int(n))...)
	if err := closeRecord(d, "event"); err != nil {
		return err
	}
	return nil
}

func (ep *Endpoint) encode(b []byte) []byte {
	e := encoding.Encbuf{B: b}
	e.PutByte(1)
	putString(&e, ep.URL)
	putString(&e, ep.Secret)
	putString(&e, ep.Disabled)
	putTime(&e, ep.Created)
	return e.B
}

func (ep *Endpoint) decode(v []byte) error {
	d, err := openRecord(v, "endpoint", 1)
	if err != nil {
		return err
	}
	ep.URL = getString(d, maxText)
	ep.Secret = getString(d, maxText)
	ep.Disabled = getString(d, maxText)
	ep.Created = getTime(d)
	if err := closeRecord(d, "endpoint"); err != nil {
		return err
	}
	return nil
}

func (dl *Delivery) encode(e *encoding.Encbuf) {
	e.PutByte(1)
	e.PutByte(byte(dl.State))
	putTime(e, dl.NextAt)
	e.PutUvarint(uint64(dl.Attempts))
	e.PutUvarint(uint64(len(dl.Log)))
	for _, a := range dl.Log {
		putTime(e, a.Time)
		e.PutUvarint(uint64(a.Status))
		putString(e, a.Error)
	}
}

func (dl *Delivery) decode(v []byte) error {
	d, err := openRecord(v, "delivery", 1)
	if err != nil {
		return err
	}
	dl.State = DeliveryState(d.Byte())
	dl.NextAt = getTime(d)
	att := d.Uvarint()
	n := d.Uvarint()
	if d.E == nil && (n > maxLog || att > 1<<32-1) {
		d.E = encoding.ErrInvalidSize
	}
	dl.Log = nil
	for i := uint64(0); i < n && d.E == nil; i++ {
		var a Attempt
		a.Time = getTime(d)
		st := d.Uvarint()
		if d.E == nil && st > 999 {
			d.E = encoding.ErrInvalidSize
		}
		a.Status = int(st)
		a.Error = getString(d, maxText)
		dl.Log = append(dl.Log, a)
	}
	if err := closeRecord(d, "delivery"); err != nil {
		return err
	}
	if dl.State < Pending || dl.State > Disabled {
		return fmt.Errorf("%w: delivery state %d", ErrCorrupt, dl.State)
	}
	dl.Attempts = uint32(att)
	return nil
}

type noteJSON struct {
	Time   string `json:"time"`
	Status string `json:"status,omitempty"`
	Text   string `json:"text,omitempty"`
	By     string `json:"by,omitempty"`
}

type alertJSON struct {
	ID          uint64     `json:"id"`
	Level       string     `json:"level"`
	Rule        string     `json:"rule"`
	TxID        string     `json:"txid"`
	Address     string     `json:"address,omitempty"`
	Value       uint64     `json:"value_sat"`
	Exposure    *Exposure  `json:"exposure,omitempty"`
	Height      int64      `json:"block_height"`
	BlockHash   string     `json:"block_hash"`
	Status      string     `json:"status"`
	Invalidated bool       `json:"invalidated"`
	Notes       []noteJSON `json:"notes,omitempty"`
	Created     string     `json:"created"`
	Updated     string     `json:"updated"`
}

// MarshalJSON is the alert as webhooks, the SSE stream and the CLI show it.
func (a *Alert) MarshalJSON() ([]byte, error) {
	j := alertJSON{ID: a.ID, Level: a.Level.String(), Rule: a.Rule, TxID: a.TxID.String(), Address: a.Address,
		Value: a.Value, Height: a.Height, BlockHash: a.BlockHash.String(), Status: a.Status.String(),
		Invalidated: a.Invalidated, Created: a.Created.Format(time.RFC3339Nano), Updated: a.Updated.Format(time.RFC3339Nano)}
	if a.Exposure != (Exposure{}) {
		j.Exposure = &a.Exposure
	}
	for _, n := range a.Notes {
		nj := noteJSON{Time: n.Time.Format(time.RFC3339Nano), Text: n.Text, By: n.By}
		if n.Status != 0 {
			nj.Status = n.Status.String()
		}
		j.Notes = append(j.Notes, nj)
	}
	return json.Marshal(j)
}
