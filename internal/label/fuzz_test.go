package label

import (
	"testing"
	"time"
)

// FuzzRecordDecode: no stored label record, however damaged, panics a
// decoder; a decoded label encodes back to the same bytes.
func FuzzRecordDecode(f *testing.F) {
	l := Label{Label: "OFAC SDN: X", Category: "sanction", Abuse: "sanction", Source: "s", Confidence: 60,
		ConfidenceID: "authority_data", ClusterDefiner: true, ListedFrom: time.Date(2022, 9, 3, 0, 0, 0, 0, time.UTC), Import: 4}
	f.Add(l.encode())
	f.Add((&Source{Kind: "ofac", Name: "n", File: "f", Digest: "d", Labels: 3}).encode())
	f.Add((&publication{Complete: true, File: "f", Count: 9}).encode())
	f.Add((&state{NextSource: 2, NextImport: 5, Rescreened: 3, EntityIndex: 9}).encode())
	f.Fuzz(func(t *testing.T, b []byte) {
		var l Label
		if l.decode(b) == nil {
			var back Label
			if err := back.decode(l.encode()); err != nil || back.Label != l.Label || back.Import != l.Import {
				t.Fatalf("round trip: %v", err)
			}
		}
		var s Source
		_ = s.decode(b)
		var p publication
		_ = p.decode(0, b)
		var st state
		_ = st.decode(b)
		_, _, _, _ = parseLabelKey(append([]byte{pLabel}, b...))
	})
}

// FuzzIncidentDecode: no stored incident or rescreen record, however
// damaged, panics a decoder; a decoded incident encodes back to the same
// bytes.
func FuzzIncidentDecode(f *testing.F) {
	in := Incident{Vout: AllOutputs, Category: "theft", Name: "hack", Source: "case 1", SourceID: 3, Added: time.Date(2017, 4, 27, 0, 0, 0, 0, time.UTC)}
	f.Add(in.encode([32]byte{1, 2, 3}))
	in.Vout = 7
	f.Add(in.encode([32]byte{}))
	f.Add([]byte{0x80, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		var in Incident
		h, err := in.decode(9, b)
		if err != nil {
			return
		}
		enc := in.encode(h)
		var back Incident
		h2, err := back.decode(9, enc)
		if err != nil || h2 != h || back != in {
			t.Fatalf("round trip: %+v vs %+v, %v", back, in, err)
		}
	})
}
