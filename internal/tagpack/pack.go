package tagpack

import (
	"fmt"
	"io"
	"time"

	"go.yaml.in/yaml/v3"
)

// What TagPacks and ActorPacks share: a header of title, creator,
// description and is_public over a list of items (tags or actors), whose
// fields the header may also set for every item. Parse and ParseActorPack
// read both through readPack and readItem, told apart by a format.

// format describes one kind of pack for the code that reads both.
type format struct {
	aPack      string     // "a TagPack", in messages
	headerDefs []fieldDef // the pack's own header fields, list included
	list       string     // the header field holding the items
	item       string     // "tag", in messages
	anItem     string     // "a tag", in messages
	fields     []fieldDef // the item fields, which the header may also set
	index      map[string]int
	lastmod    int // index of lastmod in fields
	// check checks item field i; own says whether it stands in an item
	// itself rather than in the header.
	check func(c *collector, i int, raw *yaml.Node, own bool, tax *Taxonomy) (value, error)
}

var tagpackFormat = format{
	aPack:      "a TagPack",
	headerDefs: tagpackHeaderDefs,
	list:       "tags",
	item:       "tag",
	anItem:     "a tag",
	fields:     tagFieldDefs[:],
	index:      tagFieldIndex,
	lastmod:    fLastmod,
	check:      checkTagValue,
}

var actorpackFormat = format{
	aPack:      "an ActorPack",
	headerDefs: actorpackHeaderDefs,
	list:       "actors",
	item:       "actor",
	anItem:     "an actor",
	fields:     actorFieldDefs[:],
	index:      actorFieldIndex,
	lastmod:    aLastmod,
	check:      checkActorValue,
}

// maxFields is the size of fieldValues: the larger of numTagFields and
// numActorFields (the array length below fails to compile otherwise).
const maxFields = numTagFields

var _ [maxFields - numActorFields]struct{}

// fieldValues holds the item fields given at one level (header or item),
// indexed like the format's fields.
type fieldValues struct {
	present [maxFields]bool // given and valid
	named   [maxFields]bool // given, valid or not
	v       [maxFields]value
}

func (fv *fieldValues) set(i int, v value) { fv.present[i] = true; fv.v[i] = v }
func (fv *fieldValues) has(i int) bool     { return fv.present[i] }

// packHeader is a pack's header as read.
type packHeader struct {
	title, creator, description string
	isPublic                    bool
	lastMod                     time.Time  // zero if absent
	list                        *yaml.Node // the tags or actors; nil if absent or bad
	fields                      fieldValues
}

// readPack decodes one pack of format pf from r and reads its header.
// Problems go to the collector it returns; an error means there is nothing
// more to read.
func readPack(path string, r io.Reader, pf *format, tax *Taxonomy) (*collector, *packHeader, error) {
	root, err := decodeDocument(path, r)
	if err != nil {
		return nil, nil, err
	}
	c := &collector{path: path}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		c.add(root.Line, "", fmt.Errorf("%w: %s must be a YAML mapping", ErrSchema, pf.aPack))
		return nil, nil, c.err()
	}

	// Header: top-level keys, with those of an optional "header:" mapping
	// merged over them (the tool's load_from_file does the same).
	h := &packHeader{}
	seen := make(map[string]bool)
	for _, f := range headerFields(c, root) {
		seen[f.name] = true
		if i, ok := pf.index[f.name]; ok {
			h.fields.named[i] = true
			if i == pf.lastmod {
				// The tool parses a string-valued header lastmod with
				// strptime("%Y-%m-%d") before validating: quoted dates
				// ("lastmod: '2023-02-17'" in the public ActorPack) pass.
				if n := deref(f.val); n.Kind == yaml.ScalarNode {
					if k, _ := scalarKind(n); k == kStr {
						if t, ok := parseLooseDate(n.Value); ok {
							h.fields.set(i, value{node: n, t: t})
							continue
						}
					}
				}
			}
			v, err := pf.check(c, i, f.val, false, tax)
			if c.bad(v, f.name, err) {
				continue
			}
			h.fields.set(i, v)
			continue
		}
		def, ok := findDef(pf.headerDefs, f.name)
		if !ok {
			c.add(f.key.Line, f.name, fmt.Errorf("%w: field not allowed in the header", ErrSchema))
			continue
		}
		v, err := checkValue(def, f.val, tax)
		if c.bad(v, f.name, err) {
			continue
		}
		switch f.name {
		case "title":
			h.title = v.s
		case "creator":
			h.creator = v.s
		case "description":
			h.description = v.s
		case "is_public":
			h.isPublic = v.b
		case pf.list:
			h.list = v.node
		}
	}
	for _, def := range pf.headerDefs {
		if def.mandatory && !seen[def.name] {
			c.add(root.Line, def.name, fmt.Errorf("%w: mandatory header field missing", ErrSchema))
		}
	}
	if h.fields.has(pf.lastmod) {
		h.lastMod = h.fields.v[pf.lastmod].t
	}
	return c, h, nil
}

// bad reports err, if there is one, at the line of v, and says whether it
// did.
func (c *collector) bad(v value, field string, err error) bool {
	if err == nil {
		return false
	}
	c.add(v.node.Line, field, err)
	return true
}

// headerFields returns the top-level fields of root with those of a
// "header" mapping merged over them.
func headerFields(c *collector, root *yaml.Node) []field {
	fields := mappingFields(c, root)
	for i, f := range fields {
		if f.name != "header" {
			continue
		}
		h := deref(f.val)
		if h.Kind != yaml.MappingNode {
			c.add(h.Line, "header", fmt.Errorf("%w: must be a mapping", ErrSchema))
			return append(fields[:i:i], fields[i+1:]...)
		}
		out := append(fields[:i:i], fields[i+1:]...)
		for _, hf := range mappingFields(c, h) {
			replaced := false
			for j := range out {
				if out[j].name == hf.name {
					out[j] = hf
					replaced = true
				}
			}
			if !replaced {
				out = append(out, hf)
			}
		}
		return out
	}
	return fields
}

// item is one tag or actor as read: the fields it gives itself, over those
// of the header.
type item struct {
	n      *yaml.Node
	own    fieldValues
	header *fieldValues
	before int // problems reported before the item
}

// readItem reads one element of the list of pf, which must be a mapping of
// item fields, each checked. Problems go to c; ok is false if raw is not a
// mapping.
func readItem(c *collector, raw *yaml.Node, pf *format, header *fieldValues, tax *Taxonomy) (it item, ok bool) {
	it.n = deref(raw)
	it.header = header
	if it.n.Kind != yaml.MappingNode {
		c.add(it.n.Line, pf.list, fmt.Errorf("%w: %s must be a mapping, not a %s", ErrSchema, pf.anItem, nodeKindName(it.n)))
		return it, false
	}
	it.before = len(c.errs) + c.dropped
	for _, f := range mappingFields(c, it.n) {
		i, known := pf.index[f.name]
		if !known {
			c.add(f.key.Line, f.name, fmt.Errorf("%w: field not allowed in %s", ErrSchema, pf.anItem))
			continue
		}
		it.own.named[i] = true
		v, err := pf.check(c, i, f.val, true, tax)
		if c.bad(v, f.name, err) {
			continue
		}
		it.own.set(i, v)
	}
	return it, true
}

// get returns field i of the item, or else of the header.
func (it *item) get(i int) (value, bool) {
	if it.own.present[i] {
		return it.own.v[i], true
	}
	if it.header.present[i] {
		return it.header.v[i], true
	}
	return value{}, false
}

// named says whether field i is given in the item or in the header, valid
// or not: a field given with a bad value (already reported) is not also
// called missing.
func (it *item) named(i int) bool { return it.own.named[i] || it.header.named[i] }

// checkMandatory reports the mandatory fields of pf that neither the item
// nor the header gives.
func (it *item) checkMandatory(c *collector, pf *format) {
	for i, def := range pf.fields {
		if def.mandatory && !it.named(i) {
			c.add(it.n.Line, def.name, fmt.Errorf("%w: mandatory field missing (in the %s and in the header)", ErrSchema, pf.item))
		}
	}
}

// failed says whether problems were reported since the item began.
func (it *item) failed(c *collector) bool { return len(c.errs)+c.dropped != it.before }
