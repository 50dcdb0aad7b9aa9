package tagpack

import (
	"testing"
)

func TestDefaultTaxonomy(t *testing.T) {
	tax := DefaultTaxonomy()
	if tax != DefaultTaxonomy() {
		t.Error("DefaultTaxonomy is not shared")
	}
	levels := map[string]int{
		"override": 100, "ownership": 100, "ledger_immanent": 100,
		"manual_transaction": 90,
		"service_api":        70, "forensic_investigation": 70,
		"authority_data":   60,
		"trusted_provider": 50, "service_data": 50, "forensic": 50,
		"untrusted_transaction": 40,
		"web_crawl":             20,
		"heuristic":             10,
		"unknown":               5,
	}
	if got := len(tax.Confidences()); got != len(levels) {
		t.Errorf("%d confidences, want %d", got, len(levels))
	}
	for id, level := range levels {
		c, ok := tax.Confidence(id)
		if !ok || c.Level != level || c.Label == "" {
			t.Errorf("confidence %s = %+v, %v; want level %d", id, c, ok, level)
		}
	}
	if d := tax.DefaultConfidence(); d.ID != "unknown" || d.Level != 5 {
		t.Errorf("DefaultConfidence = %+v, want unknown/5", d)
	}

	if n := len(tax.Concepts()); n != 86 {
		t.Errorf("%d concepts, want 86", n)
	}
	for id, broader := range map[string]string{
		"ransomware": "extortion", "exchange": "service", "sanction": "abuse", "concept": "",
		"defi_derivative": "defi", // the file's key is defi_derivatives: the id counts
	} {
		c, ok := tax.Concept(id)
		if !ok || c.Broader != broader || c.Label == "" {
			t.Errorf("concept %s = %+v, %v; want broader %q", id, c, ok, broader)
		}
	}
	if _, ok := tax.Concept("defi_derivatives"); ok {
		t.Error("concept defi_derivatives (a key, not an id) exists")
	}
	if _, ok := tax.Concept("scheme"); ok {
		t.Error("the scheme entry is a concept")
	}
	if name, ok := tax.Country("KP"); !ok || name != "Korea, Democratic People's Republic of" {
		t.Errorf("country KP = %q, %v", name, ok)
	}
	if _, ok := tax.Country("XX"); ok {
		t.Error("country XX exists")
	}
	for _, tt := range []string{"actor", "event", "mention"} {
		if _, ok := tax.TagType(tt); !ok {
			t.Errorf("tag type %s missing", tt)
		}
	}
}

// TestLegacyIDsAreConcepts: every category and abuse id of the retired
// two-taxonomy scheme is a concept, so 2021 packs need no mapping.
func TestLegacyIDsAreConcepts(t *testing.T) {
	read := func(name string) ([]byte, error) { return taxonomyFS.ReadFile("taxonomy/" + name) }
	tax := DefaultTaxonomy()
	for _, f := range []struct{ file, legacy string }{{"legacy_entities.yaml", "entity"}, {"legacy_abuses.yaml", "abuse"}} {
		old, err := readConcepts(read, f.file)
		if err != nil {
			t.Fatal(err)
		}
		if len(old) == 0 {
			t.Fatalf("%s: no concepts", f.file)
		}
		for _, c := range old {
			got, ok := tax.Concept(c.ID)
			if !ok {
				t.Errorf("%s: %s is not a concept", f.file, c.ID)
				continue
			}
			if got.Legacy == "" {
				t.Errorf("concept %s: Legacy not set", c.ID)
			}
		}
	}
	if c, _ := tax.Concept("ransomware"); c.Legacy != "abuse" {
		t.Errorf("ransomware.Legacy = %q, want abuse", c.Legacy)
	}
	if c, _ := tax.Concept("exchange"); c.Legacy != "entity" {
		t.Errorf("exchange.Legacy = %q, want entity", c.Legacy)
	}
}
