package tagpack

import (
	"reflect"
	"sort"
	"testing"

	"go.yaml.in/yaml/v3"
)

// schemaFile is the layout of tagpack_schema.yaml and actorpack_schema.yaml.
type schemaField struct {
	Type      string `yaml:"type"`
	Mandatory bool   `yaml:"mandatory"`
	ItemType  string `yaml:"item_type"`
	Taxonomy  any    `yaml:"taxonomy"` // a string or a list of strings
}

func loadSchema(t *testing.T, name string) map[string]map[string]schemaField {
	t.Helper()
	b, err := taxonomyFS.ReadFile("taxonomy/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var s map[string]map[string]schemaField
	if err := yaml.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

// render puts a schema section and a Go field table in one comparable form.
func renderSchema(section map[string]schemaField) map[string]string {
	out := map[string]string{}
	for name, f := range section {
		tax := ""
		switch v := f.Taxonomy.(type) {
		case string:
			tax = v
		case []any:
			if len(v) == 1 {
				tax, _ = v[0].(string)
			}
		}
		m := "optional"
		if f.Mandatory {
			m = "mandatory"
		}
		out[name] = f.Type + " " + m + " " + tax
	}
	return out
}

func renderDefs(defs []fieldDef) map[string]string {
	out := map[string]string{}
	for _, d := range defs {
		m := "optional"
		if d.mandatory {
			m = "mandatory"
		}
		out[d.name] = d.typ.String() + " " + m + " " + d.taxonomy
	}
	return out
}

// TestSchemaTables checks the Go field tables against the tool's schema
// files, so that an update of taxonomy/ cannot drift from the code.
func TestSchemaTables(t *testing.T) {
	tp := loadSchema(t, "tagpack_schema.yaml")
	ap := loadSchema(t, "actorpack_schema.yaml")
	checks := []struct {
		name string
		file map[string]schemaField
		defs []fieldDef
	}{
		{"tagpack header", tp["header"], tagpackHeaderDefs},
		{"tag", tp["tag"], tagFieldDefs[:]},
		{"actorpack header", ap["header"], actorpackHeaderDefs},
		{"actor", ap["actor"], actorFieldDefs[:]},
	}
	for _, c := range checks {
		if got, want := renderDefs(c.defs), renderSchema(c.file); !reflect.DeepEqual(got, want) {
			t.Errorf("%s fields:\n code %v\n file %v", c.name, got, want)
		}
	}
	// List fields of text items, and the @context type.
	for _, sec := range []map[string]schemaField{tp["tag"], ap["actor"]} {
		for name, f := range sec {
			if f.Type == "list" && f.ItemType != "text" {
				t.Errorf("list field %s has item type %q; only text is implemented", name, f.ItemType)
			}
		}
	}
	var ctxKeys []string
	for name, f := range ap["context"] {
		ctxKeys = append(ctxKeys, name)
		want := map[string]ftype{"list": tList, "text": tText}[f.Type]
		if got, ok := actorContextDefs[name]; !ok || got != want || f.Mandatory {
			t.Errorf("context field %s: schema %s mandatory=%v, code %v", name, f.Type, f.Mandatory, got)
		}
	}
	if len(ctxKeys) != len(actorContextDefs) {
		sort.Strings(ctxKeys)
		t.Errorf("context fields in the schema: %v; in the code: %v", ctxKeys, actorContextDefs)
	}
}
