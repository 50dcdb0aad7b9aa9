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
