package tagpack

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// samePack reports how a and b differ, ignoring Path, Tag.Line and the
// counts of dropped tags, and comparing times as instants.
func samePack(a, b *Pack) string {
	if a.Title != b.Title || a.Creator != b.Creator || a.Description != b.Description ||
		a.IsPublic != b.IsPublic || !a.LastMod.Equal(b.LastMod) {
		return fmt.Sprintf("header %q %q %q %v %v != %q %q %q %v %v",
			a.Title, a.Creator, a.Description, a.IsPublic, a.LastMod, b.Title, b.Creator, b.Description, b.IsPublic, b.LastMod)
	}
	if len(a.Tags) != len(b.Tags) {
		return fmt.Sprintf("%d tags != %d", len(a.Tags), len(b.Tags))
	}
	for i := range a.Tags {
		x, y := a.Tags[i], b.Tags[i]
		if !x.LastMod.Equal(y.LastMod) {
			return fmt.Sprintf("tag %d: lastmod %v != %v", i, x.LastMod, y.LastMod)
		}
		x.Line, y.Line = 0, 0
		x.LastMod, y.LastMod = time.Time{}, time.Time{}
		if len(x.Concepts) == 0 && len(y.Concepts) == 0 {
			x.Concepts, y.Concepts = nil, nil
		}
		if !reflect.DeepEqual(x, y) {
			return fmt.Sprintf("tag %d:\n%+v\n!=\n%+v", i, x, y)
		}
	}
	return ""
}

func roundTrip(t *testing.T, p *Pack) *Pack {
	t.Helper()
	var buf bytes.Buffer
	if err := Write(&buf, p); err != nil {
		t.Fatalf("Write: %v", err)
	}
	q, err := Parse("written.yaml", bytes.NewReader(buf.Bytes()), nil)
	if err != nil {
		t.Fatalf("Parse(Write(p)): %v\n%s", err, buf.Bytes())
	}
	if d := samePack(p, q); d != "" {
		t.Fatalf("Parse(Write(p)) != p: %s\n%s", d, buf.Bytes())
	}
	return q
}

func TestWriteRoundTripReal(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(realData(t), "packs", "*.yaml"))
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			p, err := parseFile(t, f)
			if p == nil {
				t.Fatal(err)
			}
			q := roundTrip(t, p)
			// Written tags are explicit and in order: the line of tag i
			// grows with i.
			for i := 1; i < len(q.Tags); i++ {
				if q.Tags[i].Line <= q.Tags[i-1].Line {
					t.Fatalf("tag lines not increasing: %d then %d", q.Tags[i-1].Line, q.Tags[i].Line)
				}
			}
		})
	}
}

func TestWriteRoundTrip(t *testing.T) {
	p := mustParse(t, "testdata/inherit.yaml")
	roundTrip(t, p)

	// Strings PyYAML would read as something else must come back as
	// strings; so must odd characters and blanks.
	odd := []string{"yes", "No", "off", "~", "null", "123", "0x1F", "1.5", "1:20", "2021-11-14", "=", "<<",
		"- a", "a: b", "#x", "'q'", "\"dq\"", "multi\nline", " lead", "trail ", "tab\there", "ünï©ødé 😀",
		"[x]", "{x}", "&a", "*a", "!tag", "%p", "@at", "`bt", "x #y", "\u0085nel", "\ufeffbom"}
	base := Tag{
		Address: "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", Currency: "BTC", Network: "BTC", Label: "l", Source: "s",
		Confidence: "forensic", ConfidenceLevel: 50, TagType: "actor",
	}
	q := &Pack{Title: "odd strings", Creator: "sleuth tests", IsPublic: true, LastMod: time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)}
	// The header lastmod is also every tag's default (inheritance), so a
	// tag of a pack with a lastmod cannot be without one.
	base.LastMod = q.LastMod
	for _, s := range odd {
		tag := base
		tag.Label = strings.TrimSpace(s)
		if tag.Label == "" {
			tag.Label = "x"
		}
		tag.Source = s
		tag.Actor = s
		tag.Context = s
		q.Tags = append(q.Tags, tag)
	}
	tx := base
	tx.Address, tx.TxHash = "", "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4"
	tx.Category, tx.Abuse, tx.Concepts = "exchange", "scam", []string{"hot_wallet", "scam", "exchange"}
	tx.IsClusterDefiner = true
	tx.LastMod = time.Date(2022, 2, 3, 4, 5, 6, 123456000, time.FixedZone("", -(7*3600+30*60)))
	tx.TagType = "event"
	q.Tags = append(q.Tags, tx)
	roundTrip(t, q)
}

func TestWriteInvalid(t *testing.T) {
	ok := Tag{Address: "115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn", Currency: "BTC", Label: "l", Source: "s", Confidence: "forensic"}
	cases := []*Pack{
		{Creator: "c", Tags: []Tag{ok}},
		{Title: "t", Creator: "c", Tags: []Tag{{Currency: "BTC", Label: "l", Source: "s", Confidence: "forensic"}}},
		{Title: "t", Creator: "c", Tags: []Tag{{Address: "a", TxHash: "b", Currency: "BTC", Label: "l", Source: "s", Confidence: "forensic"}}},
		{Title: "t", Creator: "c", Tags: []Tag{{Address: "a", Currency: "BTC", Source: "s", Confidence: "forensic"}}},
	}
	cases = append(cases, &Pack{Title: "t", Creator: "c", Tags: []Tag{{Address: "a", Currency: "BTC", Label: "l", Source: "s\xff", Confidence: "forensic"}}})
	for i, p := range cases {
		if err := Write(&bytes.Buffer{}, p); !errors.Is(err, ErrSchema) {
			t.Errorf("case %d: Write error %v, want ErrSchema", i, err)
		}
	}
	// Network defaults to currency when empty.
	var buf bytes.Buffer
	if err := Write(&buf, &Pack{Title: "t", Creator: "c", Tags: []Tag{ok}}); err != nil {
		t.Fatal(err)
	}
	p, err := Parse("w.yaml", &buf, nil)
	if err != nil || p.Tags[0].Network != "BTC" || p.Tags[0].TagType != "actor" {
		t.Fatalf("%v %+v", err, p)
	}
}
