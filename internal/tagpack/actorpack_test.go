package tagpack

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func parseActorFile(tb testing.TB, path string) (*ActorPack, error) {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	return ParseActorPack(path, f, nil)
}

func TestRealActorPack(t *testing.T) {
	path := filepath.Join(realData(t), "actors", "graphsense.actorpack.yaml")
	ap, err := parseActorFile(t, path)
	if err != nil {
		t.Fatalf("ParseActorPack: %v", err)
	}
	if len(ap.Actors) != 3813 {
		t.Errorf("%d actors, want 3813", len(ap.Actors))
	}
	if ap.Title != "Graphsense Actors" || !ap.LastMod.Equal(time.Date(2023, 2, 17, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("header: %q %v", ap.Title, ap.LastMod)
	}
	withJur, withCtx, withAliases, noCategories := 0, 0, 0, 0
	for _, a := range ap.Actors {
		if len(a.Jurisdictions) > 0 {
			withJur++
		}
		if a.Context != "" {
			withCtx++
		}
		if len(a.Aliases) > 0 {
			withAliases++
		}
		if len(a.Categories) == 0 {
			// categories is mandatory, but an empty list passes the
			// tool's check (swell has one).
			noCategories++
		}
		// lastmod is mandatory and inherited from the header.
		if !a.LastMod.Equal(ap.LastMod) || len(a.URIs) == 0 {
			t.Fatalf("actor %s (line %d): %+v", a.ID, a.Line, a)
		}
	}
	t.Logf("%d actors: %d with jurisdictions, %d with context, %d with aliases, %d with no category",
		len(ap.Actors), withJur, withCtx, withAliases, noCategories)

	la, ok := ap.Actor("lazarusgroup")
	if !ok {
		t.Fatal("lazarusgroup not found")
	}
	if la.Label != "Lazarus Group" || la.Line != 28782 ||
		!reflect.DeepEqual(la.Categories, []string{"phishing", "ransomware", "sanction", "service_hack"}) ||
		!strings.Contains(la.Context, "BlueNorOff") || !strings.Contains(la.Context, "AndAriel") ||
		la.URIs[0] != "https://home.treasury.gov/news/press-releases/sm774" {
		t.Errorf("lazarusgroup: %+v", *la)
	}

	// Every actor a real pack names should exist (through an alias if
	// need be); the tool does not check this, so only log the misses.
	packs, _ := filepath.Glob(filepath.Join(realData(t), "packs", "*.yaml"))
	missing := map[string]int{}
	for _, f := range packs {
		p, _ := parseFile(t, f)
		if p == nil {
			continue
		}
		for _, tag := range p.Tags {
			if tag.Actor != "" {
				if _, ok := ap.Resolve(tag.Actor); !ok {
					missing[tag.Actor]++
				}
			}
		}
	}
	t.Logf("actor ids used by tags but not in the ActorPack: %v", missing)

	// An alias of two actors resolves to the later one, as in the tool.
	if id, _ := ap.Resolve("tombfinance"); id != "tombswapfantom" {
		t.Errorf("Resolve(tombfinance) = %q, want tombswapfantom", id)
	}
}

func TestActorPack(t *testing.T) {
	ap, err := parseActorFile(t, "testdata/actorpack.yaml")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2023, 2, 17, 0, 0, 0, 0, time.UTC)
	want := []Actor{{
		Line:          9,
		ID:            "lazarusgroup",
		Label:         "Lazarus Group",
		URIs:          []string{"https://en.wikipedia.org/wiki/Lazarus_Group", "https://attack.mitre.org/groups/G0032/"},
		Categories:    []string{"user", "sanction", "ransomware"},
		Jurisdictions: []string{"KP"},
		Aliases:       []string{"hiddencobra"},
		Context:       `{"uris": ["https://attack.mitre.org/groups/G0032/"], "notes": ["BlueNorOff", "AndAriel"], "year_established": 2009, "active": true, "aliases": ["hiddencobra"]}`,
		LastMod:       day,
	}, {
		Line:       20,
		ID:         "internet_archive",
		Label:      "Internet Archive",
		URIs:       []string{"archive.org"},
		Categories: []string{"organization"}, // from the header
		Aliases:    []string{"internetarchive"},
		Context:    `{"refs": ["https://archive.org/donate"]}`,
		LastMod:    time.Date(2021, 11, 12, 0, 0, 0, 0, time.UTC),
	}}
	if !reflect.DeepEqual(ap.Actors, want) {
		t.Errorf("actors:\n got %+v\nwant %+v", ap.Actors, want)
	}
	for alias, id := range map[string]string{"hiddencobra": "lazarusgroup", "internetarchive": "internet_archive", "lazarusgroup": "lazarusgroup"} {
		if got, ok := ap.Resolve(alias); !ok || got != id {
			t.Errorf("Resolve(%q) = %q, %v; want %q", alias, got, ok, id)
		}
	}
	if _, ok := ap.Resolve("nobody"); ok {
		t.Error("Resolve(nobody) succeeded")
	}
}

func TestBadActorPack(t *testing.T) {
	path := "testdata/bad_actorpack.yaml"
	ap, err := parseActorFile(t, path)
	if err == nil || ap != nil {
		t.Fatalf("ParseActorPack: %v, %v", ap, err)
	}
	t.Logf("%v", err)
	want := []string{
		"10 id schema",
		"18 jurisdictions taxonomy",
		"19 id schema",
		"26 categories taxonomy",
		"27 uri schema",
		"35 context schema",
	}
	got := allErrors(err)
	if len(got) != len(want) {
		t.Fatalf("got %d errors, want %d: %v", len(got), len(want), err)
	}
	for i, w := range want {
		parts := strings.SplitN(w, " ", 3)
		e := got[i]
		if e.Path != path || itoa(e.Line) != parts[0] || e.Field != parts[1] || !errors.Is(e, sentinels[parts[2]]) {
			t.Errorf("error %d = %q; want %s:%s: %s: %v", i, e, path, parts[0], parts[1], sentinels[parts[2]])
		}
	}
}

func TestActorPackCases(t *testing.T) {
	const head = "title: t\ncreator: c\nlastmod: 2023-01-01\n"
	cases := []struct {
		name, yaml string
		err        error
		line       int
	}{
		{"no actors", head + "actors: []\n", ErrSchema, 4},
		{"missing lastmod", "title: t\ncreator: c\nactors:\n- {id: a, label: A, uri: a.example, categories: [exchange]}\n", ErrSchema, 4},
		{"context not JSON", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange], context: 'not json'}\n", ErrSchema, 5},
		{"context JSON list", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange], context: '[1]'}\n", ErrSchema, 5},
		{"context twitter not text", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange], context: {twitter_handle: [x]}}\n", ErrSchema, 5},
		{"alias is an id", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange], aliases: [b]}\n- {id: b, label: B, uri: b.example, categories: [exchange]}\n", ErrSchema, 5},
		{"same id and label", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange]}\n- {id: a, label: a, uri: b.example, categories: [exchange]}\n", ErrSchema, 6},
		{"categories not a list", head + "actors:\n- {id: a, label: A, uri: a.example, categories: exchange}\n", ErrSchema, 5},
		{"unknown field", head + "actors:\n- {id: a, label: A, uri: a.example, categories: [exchange], colour: red}\n", ErrSchema, 5},
		{"normalized id via alias", head + "actors:\n- {id: a_b, label: A, uri: a.example, categories: [exchange], aliases: [ab]}\n", nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ap, err := ParseActorPack("case.yaml", strings.NewReader(tc.yaml), nil)
			if tc.err == nil {
				if err != nil {
					t.Fatalf("ParseActorPack: %v", err)
				}
				if len(ap.Actors) != 1 {
					t.Fatalf("%d actors", len(ap.Actors))
				}
				return
			}
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if got := allErrors(err); got[0].Line != tc.line {
				t.Errorf("error %v: want line %d", err, tc.line)
			}
		})
	}
}
