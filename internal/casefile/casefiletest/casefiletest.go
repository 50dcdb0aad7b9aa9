// Package casefiletest is the conformance suite every casefile.Store
// implementation passes (the embedded one now, PostgreSQL in issue 16).
package casefiletest

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/casefile"
)

// Run checks the Store that open returns (a new, empty one per call).
func Run(t *testing.T, open func(t *testing.T) casefile.Store) {
	ctx := context.Background()
	t.Run("create get list", func(t *testing.T) {
		s := open(t)
		var ids []uint64
		for _, n := range []string{"Hanbit theft", "ransomware 2017", "peel chain"} {
			c, err := s.Create(ctx, "alice", n, "from the incident report", []string{strings.Repeat("ab", 32)})
			if err != nil {
				t.Fatal(err)
			}
			if c.Status != casefile.Open || c.CreatedBy != "alice" || len(c.Sources) != 1 {
				t.Errorf("created %+v", c)
			}
			ids = append(ids, c.ID)
		}
		for i := 1; i < len(ids); i++ {
			if ids[i] <= ids[i-1] {
				t.Errorf("ids %v do not grow (C2)", ids)
			}
		}
		got, err := s.Get(ctx, ids[1])
		if err != nil || got.Name != "ransomware 2017" {
			t.Fatalf("get %d: %+v %v", ids[1], got, err)
		}
		if _, err := s.Get(ctx, ids[2]+100); !errors.Is(err, casefile.ErrNotFound) {
			t.Errorf("get of a missing case: %v", err)
		}
		var seen []uint64
		cursor := ""
		for range 10 {
			p, err := s.List(ctx, cursor, 2)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range p.Items {
				seen = append(seen, c.ID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
		}
		if len(seen) != 3 {
			t.Errorf("paged %v, want the 3 cases once each", seen)
		}
		if _, err := s.List(ctx, "not-a-cursor", 2); !errors.Is(err, casefile.ErrInvalid) {
			t.Errorf("bad cursor: %v", err)
		}
	})
	t.Run("edits and audit", func(t *testing.T) {
		s := open(t)
		c, err := s.Create(ctx, "alice", "case", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		steps := []struct {
			what string
			do   func() (casefile.Case, error)
		}{
			{"add_sources", func() (casefile.Case, error) {
				return casefile.AddSources(ctx, s, c.ID, "bob", []string{"1BoatSLRHtKNngkdXEeobR76b53LETtpyT", "1BoatSLRHtKNngkdXEeobR76b53LETtpyT"})
			}},
			{"add_note", func() (casefile.Case, error) { return casefile.AddNote(ctx, s, c.ID, "bob", "funds reached ShiftSwap") }},
			{"add_label", func() (casefile.Case, error) {
				return casefile.AddLabel(ctx, s, c.ID, "carol", casefile.LabelRef{Ref: "17", Label: "thief", Category: "theft"})
			}},
			{"add_trace", func() (casefile.Case, error) {
				return casefile.AddTrace(ctx, s, c.ID, "carol", json.RawMessage(`{"policy":"fifo"}`), json.RawMessage(`{"cashed_out":5}`), 120)
			}},
			{"set_status", func() (casefile.Case, error) { return casefile.SetStatus(ctx, s, c.ID, "alice", casefile.Closed) }},
		}
		for _, st := range steps {
			if _, err := st.do(); err != nil {
				t.Fatalf("%s: %v", st.what, err)
			}
		}
		got, err := s.Get(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Sources) != 1 || len(got.Notes) != 1 || got.Notes[0].By != "bob" || len(got.Labels) != 1 || len(got.Traces) != 1 ||
			got.Traces[0].Height != 120 || got.Status != casefile.Closed {
			t.Errorf("after the edits: %+v", got)
		}
		p, err := s.Audit(ctx, c.ID, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"create", "add_sources", "add_note", "add_label", "add_trace", "set_status"}
		if len(p.Items) != len(want) {
			t.Fatalf("audit %+v, want %v", p.Items, want)
		}
		for i, ev := range p.Items {
			if ev.Action != want[i] || ev.Case != c.ID || (i > 0 && ev.Seq <= p.Items[i-1].Seq) || ev.At.IsZero() {
				t.Errorf("audit[%d] %+v, want %s in order (C1, C2)", i, ev, want[i])
			}
		}
		p2, err := s.Audit(ctx, c.ID, p.Items[2].Seq, 2)
		if err != nil || len(p2.Items) != 2 || p2.Items[0].Action != "add_label" || p2.NextCursor == "" {
			t.Errorf("audit after seq %d: %+v %v", p.Items[2].Seq, p2, err)
		}
	})
	t.Run("refused edits change nothing", func(t *testing.T) {
		s := open(t)
		c, err := s.Create(ctx, "alice", "case", "", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			field string
			do    func() error
		}{
			{"name", func() error { _, err := s.Create(ctx, "a", " ", "", nil); return err }},
			{"name", func() error {
				_, err := s.Create(ctx, "a", strings.Repeat("x", casefile.MaxName+1), "", nil)
				return err
			}},
			{"sources[1]", func() error { _, err := s.Create(ctx, "a", "n", "", []string{"ok", "has space"}); return err }},
			{"text", func() error { _, err := casefile.AddNote(ctx, s, c.ID, "a", ""); return err }},
			{"text", func() error { _, err := casefile.AddNote(ctx, s, c.ID, "a", "bell\x07"); return err }},
			{"text", func() error { _, err := casefile.AddNote(ctx, s, c.ID, "a", "\xff"); return err }},
			{"params", func() error { _, err := casefile.AddTrace(ctx, s, c.ID, "a", json.RawMessage(`{`), nil, 1); return err }},
			{"status", func() error { _, err := casefile.SetStatus(ctx, s, c.ID, "a", "archived"); return err }},
			{"label", func() error {
				_, err := casefile.AddLabel(ctx, s, c.ID, "a", casefile.LabelRef{Ref: "1"})
				return err
			}},
		} {
			err := tc.do()
			var ie *casefile.InvalidError
			if !errors.As(err, &ie) || ie.Field != tc.field || !errors.Is(err, casefile.ErrInvalid) {
				t.Errorf("want an invalid %s, got %v", tc.field, err)
			}
		}
		if _, err := casefile.AddNote(ctx, s, c.ID+1000, "a", "x"); !errors.Is(err, casefile.ErrNotFound) {
			t.Errorf("note on a missing case: %v", err)
		}
		p, err := s.Audit(ctx, c.ID, 0, 100)
		if err != nil || len(p.Items) != 1 {
			t.Errorf("refused edits reached the audit log: %+v %v", p.Items, err)
		}
		l, err := s.List(ctx, "", 100)
		if err != nil || len(l.Items) != 1 {
			t.Errorf("refused creates made cases: %+v %v", l.Items, err)
		}
	})
}
