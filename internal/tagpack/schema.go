package tagpack

import (
	"fmt"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The field tables below restate taxonomy/tagpack_schema.yaml and
// taxonomy/actorpack_schema.yaml; schema_test.go keeps them in step.

// ftype is a schema field type.
type ftype uint8

const (
	tText     ftype = iota // a non-blank string
	tBool                  // true/false (YAML 1.1: also yes/no/on/off)
	tDate                  // a YAML date or timestamp
	tList                  // a sequence (of non-blank strings, unless the field is tags/actors)
	tJSONText              // a JSON object, written as a string or a YAML mapping
)

func (t ftype) String() string {
	return [...]string{"text", "boolean", "datetime", "list", "json_text"}[t]
}

type fieldDef struct {
	name      string
	typ       ftype
	mandatory bool
	taxonomy  string // "", "concept", "confidence", "tag_type", "country"
}

// Tag fields, indexed by the f* constants.
const (
	fLabel = iota
	fSource
	fCurrency
	fNetwork
	fContext
	fConfidence
	fIsClusterDefiner
	fLastmod
	fCategory
	fAbuse
	fAddress
	fTxHash
	fActor
	fConcepts
	fTagType
	numTagFields
)

var tagFieldDefs = [numTagFields]fieldDef{
	fLabel:            {"label", tText, true, ""},
	fSource:           {"source", tText, true, ""},
	fCurrency:         {"currency", tText, true, ""},
	fNetwork:          {"network", tText, true, ""},
	fContext:          {"context", tText, false, ""},
	fConfidence:       {"confidence", tText, true, "confidence"},
	fIsClusterDefiner: {"is_cluster_definer", tBool, false, ""},
	fLastmod:          {"lastmod", tDate, false, ""},
	fCategory:         {"category", tText, false, "concept"},
	fAbuse:            {"abuse", tText, false, "concept"},
	fAddress:          {"address", tText, false, ""},
	fTxHash:           {"tx_hash", tText, false, ""},
	fActor:            {"actor", tText, false, ""},
	fConcepts:         {"concepts", tList, false, "concept"},
	fTagType:          {"tag_type", tText, false, "tag_type"},
}

// TagPack header fields (besides the tag fields, which the header may also
// set for every tag).
var tagpackHeaderDefs = []fieldDef{
	{"title", tText, true, ""},
	{"creator", tText, true, ""},
	{"description", tText, false, ""},
	{"owner", tText, false, ""},
	{"is_public", tBool, false, ""},
	{"tags", tList, true, ""},
}

// Actor fields, indexed by the a* constants.
const (
	aID = iota
	aURI
	aLabel
	aLastmod
	aCategories
	aJurisdictions
	aContext
	aAliases
	numActorFields
)

var actorFieldDefs = [numActorFields]fieldDef{
	aID:            {"id", tText, true, ""},
	aURI:           {"uri", tText, true, ""},
	aLabel:         {"label", tText, true, ""},
	aLastmod:       {"lastmod", tDate, true, ""},
	aCategories:    {"categories", tList, true, "concept"},
	aJurisdictions: {"jurisdictions", tList, false, "country"},
	aContext:       {"context", tJSONText, false, ""},
	aAliases:       {"aliases", tList, false, ""},
}

var actorpackHeaderDefs = []fieldDef{
	{"title", tText, true, ""},
	{"creator", tText, true, ""},
	{"description", tText, false, ""},
	{"is_public", tBool, false, ""},
	{"actors", tList, true, ""},
}

// The "@context" type of an actor's context: known keys and their types;
// other keys are allowed and not checked.
var actorContextDefs = map[string]ftype{
	"uris":                tList,
	"refs":                tList,
	"images":              tList,
	"coingecko_ids":       tList,
	"defilama_ids":        tList,
	"twitter_handle":      tText,
	"github_organisation": tText,
	"legal_name":          tText,
}

// Field name -> index in tagFieldDefs and actorFieldDefs.
var (
	tagFieldIndex   = fieldIndex(tagFieldDefs[:])
	actorFieldIndex = fieldIndex(actorFieldDefs[:])
)

func fieldIndex(defs []fieldDef) map[string]int {
	index := make(map[string]int, len(defs))
	for i, d := range defs {
		index[d.name] = i
	}
	return index
}

func findDef(defs []fieldDef, name string) (fieldDef, bool) {
	for _, d := range defs {
		if d.name == name {
			return d, true
		}
	}
	return fieldDef{}, false
}

// value is a checked field value; which member is set depends on the type.
type value struct {
	node *yaml.Node // where it was written (for error lines)
	s    string     // tText, tJSONText
	b    bool       // tBool
	t    time.Time  // tDate
	list []string   // tList of text
}

// field is one key/value pair of a mapping, keys already checked.
type field struct {
	name     string
	key, val *yaml.Node
}

// mappingFields returns the pairs of mapping n, reporting keys that are not
// text and keys that repeat (the tool's UniqueKeyLoader rejects those).
func mappingFields(c *collector, n *yaml.Node) []field {
	out := make([]field, 0, len(n.Content)/2)
	seen := make(map[string]bool, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := deref(n.Content[i])
		if k.Kind != yaml.ScalarNode {
			c.add(k.Line, "", fmt.Errorf("%w: mapping key is not a scalar", ErrSchema))
			continue
		}
		if kk, err := scalarKind(k); err != nil {
			c.add(k.Line, k.Value, err)
			continue
		} else if kk != kStr && kk != kNull {
			// An int or bool key is never a field name; report it as such.
			c.add(k.Line, k.Value, fmt.Errorf("%w: field not allowed", ErrSchema))
			continue
		}
		if seen[k.Value] {
			c.add(k.Line, k.Value, fmt.Errorf("%w: duplicate key", ErrSchema))
			continue
		}
		seen[k.Value] = true
		out = append(out, field{name: k.Value, key: k, val: n.Content[i+1]})
	}
	return out
}

// checkValue checks raw node n against def (type, emptiness, taxonomy) and
// returns its value. Lists of mappings (tags, actors) are returned with only
// node set; the caller walks them.
func checkValue(def fieldDef, raw *yaml.Node, tax *Taxonomy) (value, error) {
	n := deref(raw)
	v := value{node: n}
	if n.Kind == yaml.AliasNode {
		return v, fmt.Errorf("%w: unknown alias", ErrSchema)
	}
	if n.Kind == yaml.ScalarNode {
		k, err := scalarKind(n)
		if err != nil {
			return v, err
		}
		if k == kNull {
			return v, fmt.Errorf("%w: value must not be empty (null)", ErrSchema)
		}
	}
	switch def.typ {
	case tText:
		s, err := textValue(n)
		if err != nil {
			return v, err
		}
		v.s = s
		if err := checkTaxonomy(def, s, tax); err != nil {
			return v, err
		}
	case tBool:
		if n.Kind != yaml.ScalarNode {
			return v, typeError(def, n)
		}
		if k, _ := scalarKind(n); k != kBool {
			return v, typeError(def, n)
		}
		switch n.Value {
		case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON":
			v.b = true
		}
	case tDate:
		if n.Kind != yaml.ScalarNode {
			return v, typeError(def, n)
		}
		if k, _ := scalarKind(n); k != kTimestamp {
			return v, typeError(def, n)
		}
		t, err := parseTimestamp(n.Value)
		if err != nil {
			return v, fmt.Errorf("%w: %v", ErrSchema, err)
		}
		v.t = t
	case tList:
		if n.Kind != yaml.SequenceNode {
			return v, typeError(def, n)
		}
		if def.name == "tags" || def.name == "actors" {
			return v, nil
		}
		v.list = make([]string, 0, len(n.Content))
		for i, item := range n.Content {
			item = deref(item)
			s, err := textValue(item)
			if err != nil {
				return value{node: item}, fmt.Errorf("item %d: %w", i, err)
			}
			if err := checkTaxonomy(def, s, tax); err != nil {
				return value{node: item}, err
			}
			v.list = append(v.list, s)
		}
	case tJSONText:
		// Handled by the caller: it depends on where the field stands.
		return v, fmt.Errorf("%w: internal: json_text in checkValue", ErrSchema)
	}
	return v, nil
}

// textValue returns the string of a text scalar: it must be a string for
// PyYAML, not blank, and free of NUL characters (which graphsense-lib
// rejects since they break the Postgres tag store).
func textValue(n *yaml.Node) (string, error) {
	if n.Kind != yaml.ScalarNode {
		return "", fmt.Errorf("%w: must be text, not a %s", ErrSchema, nodeKindName(n))
	}
	k, err := scalarKind(n)
	if err != nil {
		return "", err
	}
	if k != kStr {
		return "", fmt.Errorf("%w: must be text, not %s %q (quote it)", ErrSchema, k, n.Value)
	}
	if strings.TrimSpace(n.Value) == "" {
		return "", fmt.Errorf("%w: empty text", ErrSchema)
	}
	if strings.IndexByte(n.Value, 0) >= 0 {
		return "", fmt.Errorf("%w: text contains a NUL character", ErrSchema)
	}
	return n.Value, nil
}

func typeError(def fieldDef, n *yaml.Node) error {
	got := nodeKindName(n)
	if n.Kind == yaml.ScalarNode {
		if k, err := scalarKind(n); err == nil {
			got = k.String() + fmt.Sprintf(" %q", n.Value)
		}
	}
	return fmt.Errorf("%w: must be %s, not %s", ErrSchema, def.typ, got)
}

func nodeKindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	}
	return "node"
}

func checkTaxonomy(def fieldDef, s string, tax *Taxonomy) error {
	switch def.taxonomy {
	case "concept":
		if _, ok := tax.Concept(s); !ok {
			return fmt.Errorf("%w: unknown concept %q", ErrTaxonomy, s)
		}
	case "confidence":
		if _, ok := tax.Confidence(s); !ok {
			return fmt.Errorf("%w: unknown confidence %q", ErrTaxonomy, s)
		}
	case "tag_type":
		if _, ok := tax.TagType(s); !ok {
			return fmt.Errorf("%w: unknown tag type %q", ErrTaxonomy, s)
		}
	case "country":
		if _, ok := tax.Country(s); !ok {
			return fmt.Errorf("%w: unknown country %q", ErrTaxonomy, s)
		}
	}
	return nil
}
