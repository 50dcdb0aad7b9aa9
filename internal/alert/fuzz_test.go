package alert

import (
	"bytes"
	"reflect"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// FuzzRecords decodes arbitrary bytes as each stored record kind (and the
// alert stage's progress): no
// panic, and whatever decodes re-encodes to the same bytes.
func FuzzRecords(f *testing.F) {
	var e encoding.Encbuf
	a := Alert{ID: 5, Level: High, Rule: "watch:1/address", TxID: btc.Hash{3}, Address: "1BoatSLRHtKNngkdXEeobR76b53LETtpyT",
		Value: 4000, Height: 7, BlockHash: btc.Hash{7}, Status: Escalated, Created: time.Unix(1700000000, 5),
		Exposure: Exposure{Category: "theft", SharePPM: 250_000, Value: 250, Explanation: "25% traces back 3 hops to incident 1"}}
	a.Notes = []Note{{Time: time.Unix(1700000100, 0), Status: Acknowledged, Text: "seen", By: "analyst key"}}
	a.encode(&e)
	f.Add(byte(0), append([]byte(nil), e.B...))
	f.Add(byte(0), alertV1(&a))
	e.Reset()
	(&Event{Type: EventCreated, Alert: 5, Time: time.Unix(1, 0), Body: []byte(`{"a":1}`)}).encode(&e)
	f.Add(byte(1), append([]byte(nil), e.B...))
	f.Add(byte(2), (&Endpoint{URL: "https://x/y", Secret: "whsec_AAAA", Created: time.Unix(2, 0)}).encode(nil))
	e.Reset()
	(&Delivery{State: Pending, NextAt: time.Unix(3, 0), Attempts: 2, Log: []Attempt{{Time: time.Unix(3, 0), Status: 503, Error: "HTTP 503"}}}).encode(&e)
	f.Add(byte(3), append([]byte(nil), e.B...))
	f.Add(byte(4), encodeProgress(Progress{Height: 840000, Hash: btc.Hash{7}}))
	f.Fuzz(func(t *testing.T, kind byte, v []byte) {
		var e encoding.Encbuf
		switch kind % 5 {
		case 0:
			var a Alert
			if a.decode(v) != nil {
				return
			}
			if v[0] == 1 { // version 1 (notes without authors) re-encodes as itself...
				if b := alertV1(&a); !bytes.Equal(b, v) {
					t.Fatalf("version-1 alert %x re-encodes to %x", v, b)
				}
				a.encode(&e) // ...and as version 2 to the same alert
				var back Alert
				if err := back.decode(e.B); err != nil || !reflect.DeepEqual(back, a) {
					t.Fatalf("version-1 alert %+v as version 2 decodes to %+v, %v", a, back, err)
				}
				return
			}
			a.encode(&e)
		case 1:
			var ev Event
			if ev.decode(v) != nil {
				return
			}
			ev.encode(&e)
		case 2:
			var ep Endpoint
			if ep.decode(v) != nil {
				return
			}
			e.B = ep.encode(nil)
		case 3:
			var d Delivery
			if d.decode(v) != nil {
				return
			}
			d.encode(&e)
		case 4:
			p, err := decodeProgress(v)
			if err != nil {
				return
			}
			e.B = encodeProgress(p)
		}
		if !bytes.Equal(e.B, v) {
			t.Fatalf("kind %d: decoded %x re-encodes to %x", kind%5, v, e.B)
		}
	})
}

// alertV1 encodes a as a version-1 record (notes without their author),
// as stores written before version 2 hold them.
func alertV1(a *Alert) []byte {
	var e encoding.Encbuf
	b := *a
	b.Notes = nil
	b.encode(&e)
	e.B[0] = 1
	e.B = e.B[:len(e.B)-1] // the note count 0
	e.PutUvarint(uint64(len(a.Notes)))
	for _, n := range a.Notes {
		putTime(&e, n.Time)
		e.PutByte(byte(n.Status))
		putString(&e, n.Text)
	}
	return e.B
}
