package tagpack

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Write writes p as a TagPack that the tagpack tool accepts and that Parse
// reads back to the same Pack (Tag.Line and Pack.Path aside). The header
// holds title, creator, description, is_public (only when true) and lastmod
// (only when set); every tag spells out all of its fields rather than
// relying on inheritance: address or tx_hash, label, source, currency,
// network, confidence, then those that are set of category, abuse,
// concepts, actor, is_cluster_definer (only when true), lastmod, context,
// and tag_type.
//
// The header lastmod is also the default lastmod of every tag (header
// inheritance): a tag without LastMod in a pack with one reads back with the
// pack's. Write checks that the mandatory fields are there and that strings
// are valid UTF-8, not that values come from the taxonomy; a Pack from Parse
// always passes.
func Write(w io.Writer, p *Pack) error {
	if p.Title == "" || p.Creator == "" {
		return fmt.Errorf("tagpack: write: %w: title and creator are mandatory", ErrSchema)
	}
	ew := &yamlWriter{w: bufio.NewWriter(w)}
	ew.str("", "title", p.Title)
	ew.str("", "creator", p.Creator)
	if p.Description != "" {
		ew.str("", "description", p.Description)
	}
	if p.IsPublic {
		ew.field("", "is_public", "true")
	}
	if !p.LastMod.IsZero() {
		ew.field("", "lastmod", formatTime(p.LastMod))
	}
	if len(p.Tags) == 0 {
		ew.field("", "tags", "[]")
	} else {
		ew.field("", "tags", "")
	}
	for i := range p.Tags {
		t := &p.Tags[i]
		if (t.Address == "") == (t.TxHash == "") {
			return fmt.Errorf("tagpack: write: tag %d: %w: exactly one of address and tx_hash must be set", i, ErrSchema)
		}
		if t.Label == "" || t.Source == "" || t.Currency == "" || t.Confidence == "" {
			return fmt.Errorf("tagpack: write: tag %d: %w: label, source, currency and confidence are mandatory", i, ErrSchema)
		}
		if t.Address != "" {
			ew.str("- ", "address", t.Address)
		} else {
			ew.str("- ", "tx_hash", t.TxHash)
		}
		ew.str("  ", "label", t.Label)
		ew.str("  ", "source", t.Source)
		ew.str("  ", "currency", t.Currency)
		network := t.Network
		if network == "" {
			network = t.Currency
		}
		ew.str("  ", "network", network)
		ew.str("  ", "confidence", t.Confidence)
		if t.Category != "" {
			ew.str("  ", "category", t.Category)
		}
		if t.Abuse != "" {
			ew.str("  ", "abuse", t.Abuse)
		}
		if len(t.Concepts) > 0 {
			items := make([]string, len(t.Concepts))
			for j, c := range t.Concepts {
				items[j] = ew.quote(c, true)
			}
			ew.field("  ", "concepts", "["+strings.Join(items, ", ")+"]")
		}
		if t.Actor != "" {
			ew.str("  ", "actor", t.Actor)
		}
		if t.IsClusterDefiner {
			ew.field("  ", "is_cluster_definer", "true")
		}
		if !t.LastMod.IsZero() {
			ew.field("  ", "lastmod", formatTime(t.LastMod))
		}
		if t.Context != "" {
			ew.str("  ", "context", t.Context)
		}
		if t.TagType != "" {
			ew.str("  ", "tag_type", t.TagType)
		}
	}
	if ew.err != nil {
		return fmt.Errorf("tagpack: write: %w", ew.err)
	}
	if err := ew.w.Flush(); err != nil {
		return fmt.Errorf("tagpack: write: %w", err)
	}
	return nil
}

// yamlWriter writes "prefix key: value" lines with a sticky error. The
// layout of a TagPack is fixed and flat, so it is written directly rather
// than through yaml.v3's encoder, whose emitter keeps every event of the
// document in memory (about 240 MB for ransomwhere.yaml).
type yamlWriter struct {
	w   *bufio.Writer
	err error
}

func (ew *yamlWriter) field(prefix, key, value string) {
	if ew.err != nil {
		return
	}
	ew.w.WriteString(prefix)
	ew.w.WriteString(key)
	ew.w.WriteByte(':')
	if value != "" {
		ew.w.WriteByte(' ')
		ew.w.WriteString(value)
	}
	_, ew.err = ew.w.WriteString("\n")
}

// str writes a string field.
func (ew *yamlWriter) str(prefix, key, s string) {
	ew.field(prefix, key, ew.quote(s, false))
}

// quote renders s as a YAML scalar that PyYAML and yaml.v3 both read back
// as the string s: plain when that is unambiguous, else double-quoted with
// escapes. Items of a flow list (inFlow) are plain only if they are simple
// words. Invalid UTF-8 cannot be written and sets the error.
func (ew *yamlWriter) quote(s string, inFlow bool) string {
	if !utf8.ValidString(s) {
		if ew.err == nil {
			ew.err = fmt.Errorf("%w: %q is not valid UTF-8", ErrSchema, s)
		}
		return `""`
	}
	if plainSafe(s) && (!inFlow || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == "") {
		return s
	}
	if !needsEscape(s) {
		// Single quotes need no escapes but '' for ', and read like the
		// public packs ('{"description": "..."}').
		return "'" + strings.ReplaceAll(s, "'", "''") + "'"
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\t':
			b.WriteString(`\t`)
		case '\r':
			b.WriteString(`\r`)
		case 0x85:
			b.WriteString(`\N`)
		case 0xA0:
			b.WriteString(`\_`)
		case 0x2028:
			b.WriteString(`\L`)
		case 0x2029:
			b.WriteString(`\P`)
		default:
			switch {
			case r < 0x20 || r == 0x7F || (r >= 0x80 && r < 0xA0) || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF:
				if r <= 0xFF {
					fmt.Fprintf(&b, `\x%02X`, r)
				} else {
					fmt.Fprintf(&b, `\u%04X`, r)
				}
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
	return b.String()
}

// needsEscape reports whether s holds a character that only a
// double-quoted scalar can carry: a line break, a tab, a control or
// non-printable character, a byte order mark.
func needsEscape(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7F || (r >= 0x80 && r <= 0xA0) || r == 0x2028 || r == 0x2029 || r == 0xFEFF || r == 0xFFFE || r == 0xFFFF {
			return true
		}
	}
	return false
}

// plainSafe reports whether s can be written as a plain scalar: a string for
// PyYAML's resolvers, starting with a letter or digit, made of characters
// that never start a YAML construct inside a plain scalar, without ": " or
// " #", and without blanks at either end.
func plainSafe(s string) bool {
	if s == "" {
		return false
	}
	if k, ok := resolvePlain(s); !ok || k != kStr {
		return false
	}
	c0 := s[0]
	if !('a' <= c0 && c0 <= 'z' || 'A' <= c0 && c0 <= 'Z' || '0' <= c0 && c0 <= '9') {
		return false
	}
	last := s[len(s)-1]
	if last == ' ' || last == ':' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_-./:@?=&%+;()#~$!*' ", c) >= 0:
			if c == ' ' && i+1 < len(s) && s[i+1] == '#' {
				return false
			}
			if c == ':' && i+1 < len(s) && s[i+1] == ' ' {
				return false
			}
		default:
			// Non-ASCII, control characters, quotes, brackets, commas,
			// backslashes, tabs: quote.
			return false
		}
	}
	return true
}

// formatTime writes t as a YAML date when it is midnight UTC, otherwise as
// a timestamp to the microsecond (PyYAML's precision) with its zone.
func formatTime(t time.Time) string {
	_, off := t.Zone()
	if off == 0 && t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 && t.Nanosecond() == 0 {
		return t.Format("2006-01-02")
	}
	return t.Format("2006-01-02T15:04:05.999999Z07:00")
}
