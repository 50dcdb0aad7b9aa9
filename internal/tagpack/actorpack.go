package tagpack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// ActorPack is a parsed ActorPack: the real-world actors (exchanges,
// services, groups) that the actor field of tags refers to.
type ActorPack struct {
	Path        string
	Title       string
	Creator     string
	Description string
	IsPublic    bool
	LastMod     time.Time // header lastmod; zero if absent
	Actors      []Actor

	resolve map[string]string // id and alias -> id
}

// Actor is one actor, header fields inherited.
type Actor struct {
	Line  int // line of the actor in the file
	ID    string
	Label string // trimmed, as the tool stores it
	// URIs are the uri field followed by the context's uris, blanks
	// dropped (the tool's Actor.uris).
	URIs []string
	// Categories are concept ids (exchange, defi_dex, ransomware, ...).
	Categories []string
	// Jurisdictions are ISO 3166 alpha-2 country codes.
	Jurisdictions []string
	// Aliases are other ids tags may use for this actor: the aliases field
	// and the context's aliases, without repeats.
	Aliases []string
	// Context is a JSON object (refs, images, twitter_handle, notes, ...),
	// as written or converted from a YAML mapping; "" if absent.
	Context string
	LastMod time.Time
}

// Resolve maps an actor id or alias to the actor's id, as the tag store does
// when it inserts a tag's actor.
func (ap *ActorPack) Resolve(id string) (string, bool) {
	got, ok := ap.resolve[id]
	return got, ok
}

// Actor returns the actor with the given id or alias.
func (ap *ActorPack) Actor(id string) (*Actor, bool) {
	id, ok := ap.resolve[id]
	if !ok {
		return nil, false
	}
	for i := range ap.Actors {
		if ap.Actors[i].ID == id {
			return &ap.Actors[i], true
		}
	}
	return nil, false
}

// ParseActorPack reads one ActorPack from r, with the same conventions as
// Parse: header fields are inherited by every actor, every problem fails the
// pack, and errors are *Error or *ErrorList at file and line.
func ParseActorPack(path string, r io.Reader, tax *Taxonomy) (*ActorPack, error) {
	if tax == nil {
		tax = DefaultTaxonomy()
	}
	root, err := decodeDocument(path, r)
	if err != nil {
		return nil, err
	}
	c := &collector{path: path}
	ap := &ActorPack{Path: path}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		c.add(root.Line, "", fmt.Errorf("%w: an ActorPack must be a YAML mapping", ErrSchema))
		return nil, c.err()
	}

	var header actorValues
	var actorsNode *yaml.Node
	seen := make(map[string]bool)
	for _, f := range headerFields(c, root) {
		seen[f.name] = true
		if i, ok := actorFieldIndex[f.name]; ok {
			header.named[i] = true
			if i == aLastmod {
				if n := deref(f.val); n.Kind == yaml.ScalarNode {
					if k, _ := scalarKind(n); k == kStr {
						// Quoted dates ("lastmod: '2023-02-17'" in the
						// public ActorPack) pass strptime("%Y-%m-%d").
						if t, ok := parseLooseDate(n.Value); ok {
							header.set(i, value{node: n, t: t})
							continue
						}
					}
				}
			}
			v, err := checkActorValue(c, i, f.val, false, tax)
			if err != nil {
				c.add(v.node.Line, f.name, err)
				continue
			}
			header.set(i, v)
			continue
		}
		def, ok := findDef(actorpackHeaderDefs, f.name)
		if !ok {
			c.add(f.key.Line, f.name, fmt.Errorf("%w: field not allowed in the header", ErrSchema))
			continue
		}
		v, err := checkValue(def, f.val, tax)
		if err != nil {
			c.add(v.node.Line, f.name, err)
			continue
		}
		switch f.name {
		case "title":
			ap.Title = v.s
		case "creator":
			ap.Creator = v.s
		case "description":
			ap.Description = v.s
		case "is_public":
			ap.IsPublic = v.b
		case "actors":
			actorsNode = v.node
		}
	}
	for _, def := range actorpackHeaderDefs {
		if def.mandatory && !seen[def.name] {
			c.add(root.Line, def.name, fmt.Errorf("%w: mandatory header field missing", ErrSchema))
		}
	}
	if header.present[aLastmod] {
		ap.LastMod = header.v[aLastmod].t
	}

	if actorsNode != nil {
		if len(actorsNode.Content) == 0 {
			c.add(actorsNode.Line, "actors", fmt.Errorf("%w: no actors", ErrSchema))
		}
		ap.Actors = make([]Actor, 0, len(actorsNode.Content))
		byID := make(map[string]int)
		byIDLabel := make(map[[2]string]bool)
		for _, raw := range actorsNode.Content {
			a, ok := parseActor(c, raw, &header, tax)
			if !ok {
				continue
			}
			// The tool rejects a pack with repeated (id, label) pairs
			// (case-insensitive) and with repeated ids.
			k := [2]string{strings.ToLower(a.ID), strings.ToLower(a.Label)}
			if byIDLabel[k] {
				c.add(a.Line, "id", fmt.Errorf("%w: duplicate actor %q", ErrSchema, a.ID))
				continue
			}
			byIDLabel[k] = true
			if prev, dup := byID[a.ID]; dup {
				c.add(a.Line, "id", fmt.Errorf("%w: actor id %q used more than once (first at line %d)", ErrSchema, a.ID, ap.Actors[prev].Line))
				continue
			}
			byID[a.ID] = len(ap.Actors)
			ap.Actors = append(ap.Actors, a)
		}
		ap.resolve = make(map[string]string, len(ap.Actors))
		for _, a := range ap.Actors {
			ap.resolve[a.ID] = a.ID
		}
		for _, a := range ap.Actors {
			for _, alias := range a.Aliases {
				if _, isID := byID[alias]; isID && alias != a.ID {
					c.add(a.Line, "aliases", fmt.Errorf("%w: alias %q of %q is also an actor id", ErrSchema, alias, a.ID))
					continue
				}
				// An alias of two actors resolves to the later one, as in
				// the tool's get_resolve_mapping. The public ActorPack has
				// one: tombfinance, of tombswap and tombswapfantom.
				ap.resolve[alias] = a.ID
			}
		}
	}
	if err := c.err(); err != nil {
		return nil, err
	}
	return ap, nil
}

type actorValues struct {
	present [numActorFields]bool
	named   [numActorFields]bool
	v       [numActorFields]value
}

func (av *actorValues) set(i int, v value) { av.present[i] = true; av.v[i] = v }

// checkActorValue checks actor field i; inActor says whether it stands in
// an actor (where a context may be a YAML mapping) or in the header.
func checkActorValue(c *collector, i int, raw *yaml.Node, inActor bool, tax *Taxonomy) (value, error) {
	def := actorFieldDefs[i]
	if def.typ != tJSONText {
		return checkValue(def, raw, tax)
	}
	n := deref(raw)
	v := value{node: n}
	var js string
	switch n.Kind {
	case yaml.MappingNode:
		if !inActor {
			return v, fmt.Errorf("%w: must be a JSON string, not a mapping (only an actor's own context may be a mapping)", ErrSchema)
		}
		w := &jsonWriter{datesAsStrings: true, nodes: &c.jsonNodes}
		if err := w.value(n, 0); err != nil {
			return v, err
		}
		js = w.b.String()
	case yaml.ScalarNode:
		k, err := scalarKind(n)
		if err != nil {
			return v, err
		}
		if k != kStr {
			return v, typeError(def, n)
		}
		js = n.Value
	default:
		return v, typeError(def, n)
	}
	if err := checkActorContext(js); err != nil {
		return v, err
	}
	v.s = js
	return v, nil
}

// checkActorContext checks a context against the schema's @context type:
// a JSON object whose known keys have the right types.
func checkActorContext(js string) error {
	dec := json.NewDecoder(bytes.NewReader([]byte(js)))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil || m == nil {
		return fmt.Errorf("%w: context must be a JSON object", ErrSchema)
	}
	if dec.More() {
		return fmt.Errorf("%w: context must be one JSON object", ErrSchema)
	}
	for key, typ := range actorContextDefs {
		raw, ok := m[key]
		if !ok {
			continue
		}
		switch typ {
		case tText:
			var s string
			if json.Unmarshal(raw, &s) != nil || strings.TrimSpace(s) == "" {
				return fmt.Errorf("%w: context %s must be non-empty text", ErrSchema, key)
			}
		case tList:
			var l []string
			if json.Unmarshal(raw, &l) != nil || l == nil {
				return fmt.Errorf("%w: context %s must be a list of text", ErrSchema, key)
			}
			for _, s := range l {
				if strings.TrimSpace(s) == "" {
					return fmt.Errorf("%w: context %s has an empty item", ErrSchema, key)
				}
			}
		}
	}
	return nil
}

func parseActor(c *collector, raw *yaml.Node, header *actorValues, tax *Taxonomy) (a Actor, ok bool) {
	n := deref(raw)
	a.Line = n.Line
	if n.Kind != yaml.MappingNode {
		c.add(n.Line, "actors", fmt.Errorf("%w: an actor must be a mapping, not a %s", ErrSchema, nodeKindName(n)))
		return a, false
	}
	before := len(c.errs) + c.dropped
	var own actorValues
	for _, f := range mappingFields(c, n) {
		i, known := actorFieldIndex[f.name]
		if !known {
			c.add(f.key.Line, f.name, fmt.Errorf("%w: field not allowed in an actor", ErrSchema))
			continue
		}
		own.named[i] = true
		v, err := checkActorValue(c, i, f.val, true, tax)
		if err != nil {
			c.add(v.node.Line, f.name, err)
			continue
		}
		own.set(i, v)
	}
	get := func(i int) value {
		if own.present[i] {
			return own.v[i]
		}
		return header.v[i]
	}
	for i, def := range actorFieldDefs {
		if def.mandatory && !own.named[i] && !header.named[i] {
			c.add(n.Line, def.name, fmt.Errorf("%w: mandatory field missing (in the actor and in the header)", ErrSchema))
		}
	}
	if len(c.errs)+c.dropped != before {
		return a, false
	}
	a.ID = get(aID).s
	a.Label = strings.TrimSpace(get(aLabel).s)
	a.Categories = get(aCategories).list
	a.Jurisdictions = get(aJurisdictions).list
	a.Context = strings.TrimSpace(get(aContext).s)
	a.LastMod = get(aLastmod).t
	var ctx struct{ uris, aliases []string }
	if a.Context != "" {
		// The context was checked above: uris is a list of text if
		// present. An aliases that is not a list of text is ignored.
		var m map[string]json.RawMessage
		_ = json.Unmarshal([]byte(a.Context), &m)
		_ = json.Unmarshal(m["uris"], &ctx.uris)
		_ = json.Unmarshal(m["aliases"], &ctx.aliases)
	}
	for _, u := range append([]string{strings.TrimSpace(get(aURI).s)}, ctx.uris...) {
		if u != "" {
			a.URIs = append(a.URIs, u)
		}
	}
	for _, al := range append(append([]string(nil), get(aAliases).list...), ctx.aliases...) {
		if al != "" && !contains(a.Aliases, al) {
			a.Aliases = append(a.Aliases, al)
		}
	}
	// The tool demands that an id is its own normal form (lower case
	// letters and digits only) or lists that form among its aliases, so
	// that tags can name it either way.
	if norm := normalizeID(a.ID); norm != a.ID && !contains(a.Aliases, norm) {
		c.add(n.Line, "id", fmt.Errorf("%w: id %q must be normalized to %q or list it among its aliases", ErrSchema, a.ID, norm))
		return a, false
	}
	return a, true
}

// normalizeID is the tool's normalize_id: lower case, then only ASCII
// letters and digits.
func normalizeID(id string) string {
	s := strings.ToLower(strings.TrimSpace(id))
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ('a' <= ch && ch <= 'z') || ('0' <= ch && ch <= '9') || ('A' <= ch && ch <= 'Z') {
			b.WriteByte(ch)
		}
	}
	return strings.ToLower(b.String())
}
