package risk

import (
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// FuzzAttributionDecode: no stored entity (54) or incident output (55)
// record, however damaged, panics a decoder; decoded records encode back
// to what decodes the same.
func FuzzAttributionDecode(f *testing.F) {
	re := riskEntity{cats: 1<<Theft | 1<<Sanction, stop: true, n: 12, hasN: true}
	re.rep[Theft], re.rep[Sanction] = 7, 9
	f.Add(re.encode())
	re.hasN = false
	f.Add(re.encode())
	f.Add(encodeIncident(incidentOut{cats: 1 << Theft, src: btc.AddrID(42)}))
	f.Fuzz(func(t *testing.T, b []byte) {
		var re riskEntity
		if re.decode(b) == nil {
			var back riskEntity
			if err := back.decode(re.encode()); err != nil || !back.same(&re) && re.hasN {
				t.Fatalf("entity round trip: %+v vs %+v, %v", back, re, err)
			}
		}
		if x, err := decodeIncident(b); err == nil {
			if y, err := decodeIncident(encodeIncident(x)); err != nil || y != x {
				t.Fatalf("incident round trip: %+v vs %+v, %v", y, x, err)
			}
		}
	})
}

// TestConceptTaxonomy: concepts map to categories through the taxonomy's
// broader chain, so concepts the table does not name still count.
func TestConceptTaxonomy(t *testing.T) {
	for _, c := range []struct {
		concept string
		want    Category
	}{
		{"sanction", Sanction},
		{"ransomware", Ransomware},
		{"sextortion", Scam}, // named: the table wins over extortion → ransomware
		{"data_breach", Theft},
		{"social_engineering", Theft},
		{"pyramid_scheme", Scam},
		{"escrow_wallet", 0},
		{"user", 0},
		{"no_such_concept", 0},
	} {
		got, ok := conceptCategory(c.concept)
		if got != c.want || ok != (c.want != 0) {
			t.Errorf("%s: %v %v, want %v", c.concept, got, ok, c.want)
		}
	}
	if bits, err := IncidentCategory("theft"); err != nil || bits != 1<<Theft {
		t.Fatalf("theft: %b, %v", bits, err)
	}
	if bits, err := IncidentCategory("service_hack"); err != nil || bits != 1<<Theft {
		t.Fatalf("service_hack: %b, %v", bits, err)
	}
	if _, err := IncidentCategory("user"); err == nil {
		t.Fatal("user accepted as an incident category")
	}
}
