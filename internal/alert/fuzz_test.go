package alert

import (
	"bytes"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// FuzzRecords decodes arbitrary bytes as each stored record kind (and the
// alert stage's progress): no
// panic, and whatever decodes re-encodes to the same bytes.
func FuzzRecords(f *testing.F) {
	var e encoding.Encbuf
	a := sampleAlert(3, 7)
	a.ID, a.Status, a.Created = 5, Escalated, time.Unix(1700000000, 5)
	a.Notes = []Note{{Time: time.Unix(1700000100, 0), Status: Acknowledged, Text: "seen"}}
	a.encode(&e)
	f.Add(byte(0), append([]byte(nil), e.B...))
	e.Reset()
	(&Event{Type: EventCreated, Alert: 5, Time: time.Unix(1, 0), Body: []byte(`{"a":1}`)}).encode(&e)
	f.Add(byte(1), append([]byte(nil), e.B...))
	f.Add(byte(2), (&Endpoint{URL: "https://x/y", Secret: "whsec_AAAA", Created: time.Unix(2, 0)}).encode(nil))
	e.Reset()
	(&Delivery{State: Pending, NextAt: time.Unix(3, 0), Attempts: 2, Log: []Attempt{{Time: time.Unix(3, 0), Status: 503, Error: "HTTP 503"}}}).encode(&e)
	f.Add(byte(3), append([]byte(nil), e.B...))
	f.Add(byte(4), encodeProgress(Progress{Height: 840000, Hash: hashOf(7)}))
	f.Fuzz(func(t *testing.T, kind byte, v []byte) {
		var e encoding.Encbuf
		switch kind % 5 {
		case 0:
			var a Alert
			if a.decode(v) != nil {
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
