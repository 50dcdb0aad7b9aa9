package tagpack

import (
	"embed"
	"encoding/csv"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"sync"

	"go.yaml.in/yaml/v3"
)

// The taxonomy files of the tagpack tool, copied byte for byte; see
// taxonomy/PROVENANCE.md. The two schema files are embedded only for
// schema_test.go, which checks the field tables against them.
//
//go:embed taxonomy/*.yaml taxonomy/*.csv
var taxonomyFS embed.FS

// Taxonomy holds the controlled vocabularies a pack is checked against: the
// confidence levels, the concepts (categories and abuses), the countries and
// the tag types. It is read-only after loading and safe for concurrent use.
type Taxonomy struct {
	confidences []Confidence // file order
	confidence  map[string]int
	concepts    []Concept // sorted by id
	concept     map[string]int
	countries   map[string]string
	tagTypes    map[string]string
}

// Confidence is one row of confidence.csv: how far a tag's source can be
// trusted, as a level from 0 (worst) to 100 (best).
type Confidence struct {
	ID, Label, Description string
	Level                  int
}

// Concept is one concept of concepts.yaml. Category, abuse, concepts and
// actor categories all take concept ids.
type Concept struct {
	ID, Label, Description string
	// Broader is the id of the parent concept ("" for the top concept).
	Broader string
	// Legacy names the retired taxonomy the id also belonged to: "entity"
	// (legacy_entities.yaml, the old category values), "abuse"
	// (legacy_abuses.yaml, the old abuse values), or "".
	Legacy string
}

var (
	defaultTaxOnce sync.Once
	defaultTax     *Taxonomy
)

// DefaultTaxonomy returns the taxonomy built from the embedded copies of the
// tagpack tool's files. It is loaded once and shared.
func DefaultTaxonomy() *Taxonomy {
	defaultTaxOnce.Do(func() {
		t, err := loadTaxonomy(taxonomyFS, "taxonomy")
		if err != nil {
			// The files are compiled in and tested; this cannot happen
			// in a binary that passed its tests.
			panic("tagpack: embedded taxonomy: " + err.Error())
		}
		defaultTax = t
	})
	return defaultTax
}

// Confidence returns the confidence with the given id.
func (t *Taxonomy) Confidence(id string) (Confidence, bool) {
	i, ok := t.confidence[id]
	if !ok {
		return Confidence{}, false
	}
	return t.confidences[i], true
}

// Confidences returns all confidences in file order (best first).
func (t *Taxonomy) Confidences() []Confidence {
	return append([]Confidence(nil), t.confidences...)
}

// DefaultConfidence is the confidence the tagpack tool gives tags that have
// none: of the confidences with the lowest level, the last in the file
// ("unknown", level 5).
func (t *Taxonomy) DefaultConfidence() Confidence {
	best := -1
	for i, c := range t.confidences {
		if best < 0 || c.Level <= t.confidences[best].Level {
			best = i
		}
	}
	return t.confidences[best]
}

// Concept returns the concept with the given id.
func (t *Taxonomy) Concept(id string) (Concept, bool) {
	i, ok := t.concept[id]
	if !ok {
		return Concept{}, false
	}
	return t.concepts[i], true
}

// Concepts returns all concepts sorted by id.
func (t *Taxonomy) Concepts() []Concept {
	return append([]Concept(nil), t.concepts...)
}

// Country returns the name of the country with the given ISO 3166 alpha-2
// code (upper case, as in countries.csv).
func (t *Taxonomy) Country(code string) (string, bool) {
	name, ok := t.countries[code]
	return name, ok
}

// TagType returns the label of the tag type with the given id (actor, event,
// mention).
func (t *Taxonomy) TagType(id string) (string, bool) {
	label, ok := t.tagTypes[id]
	return label, ok
}

// loadTaxonomy reads the taxonomy files from dir in fsys.
func loadTaxonomy(fsys fs.FS, dir string) (*Taxonomy, error) {
	read := func(name string) ([]byte, error) {
		return fs.ReadFile(fsys, dir+"/"+name)
	}
	t := &Taxonomy{
		confidence: make(map[string]int),
		concept:    make(map[string]int),
		countries:  make(map[string]string),
		tagTypes:   make(map[string]string),
	}

	rows, err := readCSV(read, "confidence.csv", "id", "label", "description", "level")
	if err != nil {
		return nil, err
	}
	for i, r := range rows {
		// The last row's level is " 5": pandas reads it as 5, so do we.
		level, err := strconv.Atoi(strings.TrimSpace(r[3]))
		if err != nil || level < 0 || level > 100 {
			return nil, fmt.Errorf("confidence.csv: row %d: level %q is not an integer in 0..100", i+2, r[3])
		}
		if _, dup := t.confidence[r[0]]; dup {
			return nil, fmt.Errorf("confidence.csv: row %d: duplicate id %q", i+2, r[0])
		}
		t.confidence[r[0]] = len(t.confidences)
		t.confidences = append(t.confidences, Confidence{ID: r[0], Label: r[1], Description: r[2], Level: level})
	}
	if len(t.confidences) == 0 {
		return nil, fmt.Errorf("confidence.csv: no rows")
	}

	concepts, err := readConcepts(read, "concepts.yaml")
	if err != nil {
		return nil, err
	}
	for _, legacy := range []struct{ file, name string }{
		{"legacy_entities.yaml", "entity"},
		{"legacy_abuses.yaml", "abuse"},
	} {
		old, err := readConcepts(read, legacy.file)
		if err != nil {
			return nil, err
		}
		for _, c := range old {
			for i := range concepts {
				if concepts[i].ID == c.ID && concepts[i].Legacy == "" {
					concepts[i].Legacy = legacy.name
				}
			}
		}
	}
	sort.Slice(concepts, func(i, j int) bool { return concepts[i].ID < concepts[j].ID })
	for i, c := range concepts {
		if _, dup := t.concept[c.ID]; dup {
			return nil, fmt.Errorf("concepts.yaml: duplicate id %q", c.ID)
		}
		t.concept[c.ID] = i
	}
	t.concepts = concepts

	rows, err = readCSV(read, "countries.csv", "label", "id", "description")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		t.countries[r[1]] = r[0]
	}
	rows, err = readCSV(read, "tag_types.csv", "label", "id", "description")
	if err != nil {
		return nil, err
	}
	for _, r := range rows {
		t.tagTypes[r[1]] = r[0]
	}
	return t, nil
}

// readCSV reads a taxonomy CSV file whose header must be exactly cols.
func readCSV(read func(string) ([]byte, error), name string, cols ...string) ([][]string, error) {
	b, err := read(name)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(strings.NewReader(string(b)))
	r.FieldsPerRecord = len(cols)
	all, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(all) == 0 || strings.Join(all[0], ",") != strings.Join(cols, ",") {
		return nil, fmt.Errorf("%s: header is not %s", name, strings.Join(cols, ","))
	}
	return all[1:], nil
}

// readConcepts reads a SKOS-like concept file: a mapping whose values with
// type "concept" are concepts (the tool's Taxonomy.load_from_local).
func readConcepts(read func(string) ([]byte, error), name string) ([]Concept, error) {
	b, err := read(name)
	if err != nil {
		return nil, err
	}
	var entries map[string]struct {
		ID          string `yaml:"id"`
		Type        string `yaml:"type"`
		PrefLabel   string `yaml:"prefLabel"`
		Description string `yaml:"description"`
		Broader     string `yaml:"broader"`
	}
	if err := yaml.Unmarshal(b, &entries); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []Concept
	for key, e := range entries {
		if strings.TrimSpace(e.Type) != "concept" {
			continue
		}
		if e.ID == "" {
			return nil, fmt.Errorf("%s: concept %q has no id", name, key)
		}
		out = append(out, Concept{
			ID:          e.ID,
			Label:       e.PrefLabel,
			Description: strings.TrimSpace(e.Description),
			Broader:     e.Broader,
		})
	}
	return out, nil
}
