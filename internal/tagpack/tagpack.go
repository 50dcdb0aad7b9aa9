package tagpack

import (
	"fmt"
	"io"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Pack is a parsed TagPack: its header and its tags, every tag complete
// (header fields inherited, defaults applied, duplicates removed).
type Pack struct {
	Path        string // as given to Parse; used in errors
	Title       string
	Creator     string
	Description string    // "" if absent
	IsPublic    bool      // the deprecated is_public header field
	LastMod     time.Time // header lastmod; zero if absent
	Tags        []Tag
	// Duplicates counts the tags dropped because an earlier tag had the
	// same address (or tx_hash), currency, network, label and source,
	// compared case-insensitively: the tool inserts only the first.
	Duplicates int
	// Rejected counts the Bitcoin tags dropped because their address does
	// not decode for mainnet; Parse reports each in its error.
	Rejected int
}

// Tag is one attribution tag with every field resolved: a field missing in
// the tag is taken from the pack header.
type Tag struct {
	Line int // line of the tag in the file (its first key)
	// Address is the tagged address; for Bitcoin tags (Network "BTC") it has
	// been decoded for mainnet and is in canonical form (bech32 in lower
	// case). Empty for a transaction tag.
	Address string
	// TxHash is set instead of Address for a tag on a transaction.
	TxHash string
	// Currency is the currency field in upper case (BTC, ETH, USDT, ...).
	Currency string
	// Network is the network field in upper case; when a pack gives only a
	// currency (all packs before 2024 do), the network is the currency.
	Network string
	Label   string // trimmed of surrounding blanks, as the tool stores it
	Source  string
	// Context is free-form JSON, as written or converted from a YAML
	// mapping; "" if absent.
	Context  string
	Category string // concept id or ""
	Abuse    string // concept id or ""
	// Concepts are the tag's concept ids: the concepts field, then abuse and
	// category if not listed, then those derived from the context's "tags".
	Concepts []string
	Actor    string // actor id or ""
	// Confidence is a confidence id; a pack that gives none gets the
	// taxonomy's DefaultConfidence ("unknown").
	Confidence       string
	ConfidenceLevel  int // 0..100, from the taxonomy
	IsClusterDefiner bool
	LastMod          time.Time // zero if absent
	// TagType is actor, event or mention; "actor" if absent (the tag
	// store's default).
	TagType string
}

// DefaultTagType is the tag type of tags that give none.
const DefaultTagType = "actor"

// Parse reads one TagPack from r. path names the file in errors and in
// Pack.Path. A nil tax means DefaultTaxonomy().
//
// Problems are reported as an *Error, or an *ErrorList when there are
// several (up to MaxErrors), each at its file and line; see the package
// documentation for the rules. Any problem fails the whole pack (nil *Pack),
// except one kind: when every problem is a Bitcoin address that does not
// decode (ErrAddress), Parse returns the error together with the pack minus
// those tags (Pack.Rejected counts them). The tagpack tool only warns about
// such addresses and inserts the tags anyway; sleuth never keeps them, and
// leaves it to the caller to refuse the pack (check err) or to import the
// rest (check the *Pack), as the public plustoken.yaml with its two mistyped
// addresses needs.
func Parse(path string, r io.Reader, tax *Taxonomy) (*Pack, error) {
	if tax == nil {
		tax = DefaultTaxonomy()
	}
	c, h, err := readPack(path, r, &tagpackFormat, tax)
	if err != nil {
		return nil, err
	}
	p := &Pack{Path: path, Title: h.title, Creator: h.creator, Description: h.description, IsPublic: h.isPublic, LastMod: h.lastMod}
	header := &h.fields
	// A header currency without a network sets the network too.
	if header.has(fCurrency) && !header.named[fNetwork] {
		header.set(fNetwork, header.v[fCurrency])
		header.named[fNetwork] = true
	}

	if tagsNode := h.list; tagsNode != nil {
		p.Tags = make([]Tag, 0, len(tagsNode.Content))
		keys := make(map[tagKey]bool, len(tagsNode.Content))
		for _, raw := range tagsNode.Content {
			t, ok := parseTag(c, raw, header, tax)
			if !ok {
				continue
			}
			k := keyOf(&t)
			if keys[k] {
				p.Duplicates++
				continue
			}
			keys[k] = true
			p.Tags = append(p.Tags, t)
		}
	}
	if err := c.err(); err != nil {
		if c.nOther == 0 {
			// Only Bitcoin addresses that do not decode: see Parse.
			p.Rejected = c.nAddr
			return p, err
		}
		return nil, err
	}
	return p, nil
}

// parseTag checks one element of tags and resolves it against the header.
// Problems go to c; ok is false if there were any.
func parseTag(c *collector, raw *yaml.Node, header *fieldValues, tax *Taxonomy) (t Tag, ok bool) {
	it, ok := readItem(c, raw, &tagpackFormat, header, tax)
	t.Line = it.n.Line
	if !ok {
		return t, false
	}
	own := &it.own
	// A tag's own currency without its own network sets the network, even
	// over a network inherited from the header.
	if own.has(fCurrency) && !own.named[fNetwork] {
		own.set(fNetwork, own.v[fCurrency])
		own.named[fNetwork] = true
	}
	// The tool gives a pack whose tags do not all have a confidence the
	// lowest confidence at header level; old packs (ofac.yaml) have none.
	if !own.named[fConfidence] && !header.named[fConfidence] {
		own.set(fConfidence, value{node: it.n, s: tax.DefaultConfidence().ID})
		own.named[fConfidence] = true
	}
	it.checkMandatory(c, &tagpackFormat)
	addr, hasAddr := it.get(fAddress)
	txh, hasTx := it.get(fTxHash)
	switch {
	case hasAddr && hasTx:
		c.add(it.n.Line, "address", fmt.Errorf("%w: address and tx_hash are mutually exclusive but both are set", ErrSchema))
	case !it.named(fAddress) && !it.named(fTxHash):
		c.add(it.n.Line, "address", fmt.Errorf("%w: mandatory field missing: a tag needs an address or a tx_hash", ErrSchema))
	}
	if it.failed(c) {
		return t, false
	}

	s := func(i int) string { v, _ := it.get(i); return v.s }
	t.Address = addr.s
	t.TxHash = txh.s
	// Trimmed too (the tool only upper-cases), so that a quoted "BTC " is
	// still checked as Bitcoin.
	t.Currency = strings.ToUpper(strings.TrimSpace(s(fCurrency)))
	t.Network = strings.ToUpper(strings.TrimSpace(s(fNetwork)))
	t.Label = strings.TrimSpace(s(fLabel))
	t.Source = s(fSource)
	t.Context = s(fContext)
	t.Category = s(fCategory)
	t.Abuse = s(fAbuse)
	t.Actor = s(fActor)
	t.Confidence = s(fConfidence)
	conf, _ := tax.Confidence(t.Confidence)
	t.ConfidenceLevel = conf.Level
	if v, ok := it.get(fIsClusterDefiner); ok {
		t.IsClusterDefiner = v.b
	}
	if v, ok := it.get(fLastmod); ok {
		t.LastMod = v.t
	}
	t.TagType = s(fTagType)
	if t.TagType == "" {
		t.TagType = DefaultTagType
	}

	// Concepts: the list, then abuse and category, then what the context
	// implies (Tag.__init__ in the tool). The tool then validates the whole
	// list against the concept taxonomy.
	cv, _ := it.get(fConcepts)
	t.Concepts = append([]string(nil), cv.list...)
	extra := []string{t.Abuse, t.Category}
	if t.Context != "" {
		extra = append(extra, contextConcepts(t.Context)...)
	}
	for _, x := range extra {
		if x != "" && !contains(t.Concepts, x) {
			if _, ok := tax.Concept(x); !ok {
				cn, _ := it.get(fContext)
				c.add(cn.node.Line, "context", fmt.Errorf("%w: its tags map to concept %q, which is not in the concept taxonomy", ErrTaxonomy, x))
				return t, false
			}
			t.Concepts = append(t.Concepts, x)
		}
	}

	// Bitcoin addresses must decode. The tool only warns ("Possible invalid
	// BTC address"); sleuth refuses them, because a wrong address would
	// silently attach a label to nothing or to the wrong key.
	if t.Network == "BTC" && hasAddr {
		k, err := address.Decode(t.Address, btc.Mainnet)
		if err != nil {
			c.add(addr.node.Line, "address", fmt.Errorf("%w: %w", ErrAddress, err))
			return t, false
		}
		canon, ok := address.Encode(k, btc.Mainnet)
		if !ok {
			c.add(addr.node.Line, "address", fmt.Errorf("%w: %q has no address form", ErrAddress, t.Address))
			return t, false
		}
		t.Address = canon
	}
	return t, true
}

// checkTagValue checks tag field i; own says whether it stands in a tag or
// in the header.
func checkTagValue(c *collector, i int, raw *yaml.Node, own bool, tax *Taxonomy) (value, error) {
	if m := deref(raw); i == fContext && m.Kind == yaml.MappingNode {
		if !own {
			// Only a tag's own context may be a mapping: the tool
			// converts it to JSON in the Tag, never in the header.
			return value{node: raw}, fmt.Errorf("%w: must be text, not mapping (only a tag's own context may be a mapping)", ErrSchema)
		}
		// A tag's context may be written as a YAML mapping; the tool
		// stores it as json.dumps of it.
		w := &jsonWriter{nodes: &c.jsonNodes}
		if err := w.value(m, 0); err != nil {
			return value{node: m}, err
		}
		return value{node: m, s: w.b.String()}, nil
	}
	return checkValue(tagFieldDefs[i], raw, tax)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// tagKey identifies a tag for duplicate removal.
type tagKey struct{ subject, currency, network, label, source string }

func keyOf(t *Tag) tagKey {
	subject := t.Address
	if subject == "" {
		subject = "tx:" + t.TxHash
	}
	return tagKey{
		subject:  strings.ToLower(subject),
		currency: strings.ToLower(t.Currency),
		network:  strings.ToLower(t.Network),
		label:    strings.ToLower(t.Label),
		source:   strings.ToLower(t.Source),
	}
}
