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
	c, h, err := readPack(path, r, &actorpackFormat, tax)
	if err != nil {
		return nil, err
	}
	ap := &ActorPack{Path: path, Title: h.title, Creator: h.creator, Description: h.description, IsPublic: h.isPublic, LastMod: h.lastMod}

	if actorsNode := h.list; actorsNode != nil {
		if len(actorsNode.Content) == 0 {
			c.add(actorsNode.Line, "actors", fmt.Errorf("%w: no actors", ErrSchema))
		}
		ap.Actors = make([]Actor, 0, len(actorsNode.Content))
		byID := make(map[string]int)
		byIDLabel := make(map[[2]string]bool)
		for _, raw := range actorsNode.Content {
			a, ok := parseActor(c, raw, &h.fields, tax)
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

// checkActorValue checks actor field i; own says whether it stands in an
// actor (where a context may be a YAML mapping) or in the header.
func checkActorValue(c *collector, i int, raw *yaml.Node, own bool, tax *Taxonomy) (value, error) {
	def := actorFieldDefs[i]
	if def.typ != tJSONText {
		return checkValue(def, raw, tax)
	}
	n := deref(raw)
	v := value{node: n}
	var js string
	switch n.Kind {
	case yaml.MappingNode:
		if !own {
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

func parseActor(c *collector, raw *yaml.Node, header *fieldValues, tax *Taxonomy) (a Actor, ok bool) {
	it, ok := readItem(c, raw, &actorpackFormat, header, tax)
	a.Line = it.n.Line
	if !ok {
		return a, false
	}
	it.checkMandatory(c, &actorpackFormat)
	if it.failed(c) {
		return a, false
	}
	get := func(i int) value { v, _ := it.get(i); return v }
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
		c.add(it.n.Line, "id", fmt.Errorf("%w: id %q must be normalized to %q or list it among its aliases", ErrSchema, a.ID, norm))
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
