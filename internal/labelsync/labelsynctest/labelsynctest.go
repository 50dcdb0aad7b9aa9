// Package labelsynctest is the conformance suite of labelsync's Editors:
// the label edit paths (add on an address and on an entity, remove by id,
// address and source, import, a refused file, an incident) must answer
// alike on the embedded store (labelsync.Local) and through the shared
// log (labelsync.Shared), and leave the same labels behind (S3).
//
// # Owns
//
// Test support only: Run, and Dump (a store's labels in one comparable
// value).
//
// # Does not touch
//
// Stores: the caller builds each (a clustered test chain without labels).
package labelsynctest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/labelsync"
	"github.com/sleuth-forensics/sleuth/internal/pipeline"
)

// Store is one editor over one pipeline whose store is a clustered chain
// without labels.
type Store struct {
	Editor   labelsync.Editor
	Pipeline *pipeline.Pipeline
}

// Labels is a store's labels as Dump reads them.
type Labels struct {
	Stats     *label.Stats
	Incidents []label.Incident
	// Addresses maps every labelled indexed address to its labels.
	Addresses map[string][]label.View
}

// Dump reads every label, source and incident of pl's store.
func Dump(t testing.TB, pl *pipeline.Pipeline) Labels {
	t.Helper()
	ctx := context.Background()
	out := Labels{Addresses: map[string][]label.View{}}
	err := pl.Read(func(db *index.DB) error {
		var err error
		if out.Stats, err = label.ReadStats(ctx, db); err != nil {
			return err
		}
		if out.Incidents, err = label.Incidents(ctx, db); err != nil {
			return err
		}
		return label.EachLabelled(ctx, db, func(a btc.AddrID, _ uint64, vs []label.View) error {
			s, _, err := db.AddrString(a)
			out.Addresses[s] = vs
			return err
		})
	})
	if err != nil {
		t.Fatalf("dump labels: %v", err)
	}
	return out
}

// Equal fails t unless a and b hold the same labels.
func Equal(t testing.TB, what string, a, b Labels) {
	t.Helper()
	if !reflect.DeepEqual(a, b) {
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		t.Errorf("%s differ:\n%s\n%s", what, ja, jb)
	}
}

// Addr returns the address of id in pl's store.
func Addr(t testing.TB, pl *pipeline.Pipeline, id btc.AddrID) string {
	t.Helper()
	var s string
	if err := pl.Read(func(db *index.DB) (err error) { s, _, err = db.AddrString(id); return err }); err != nil {
		t.Fatal(err)
	}
	return s
}

func own(t *testing.T, pl *pipeline.Pipeline, a string, entity bool, name string) labelsync.Edit {
	t.Helper()
	l := label.Label{Label: name, Category: "exchange", Abuse: "sanction", Source: "case 16", Confidence: 80,
		ListedFrom: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}
	err := pl.Read(func(db *index.DB) (err error) { l, err = label.CheckOwn(db, a, entity, l); return err })
	if err != nil {
		t.Fatal(err)
	}
	return labelsync.AddEdit(a, entity, l)
}

// Run runs the suite; open returns a fresh Store for each subtest.
func Run(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()
	list := func(addrs ...string) labelsync.Edit {
		b := []byte{}
		for _, a := range addrs {
			b = append(b, a+"\n"...)
		}
		return labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: "sanctioned.txt", Body: b,
			Options: label.ImportOptions{Format: "address_list", Date: time.Date(2024, 5, 3, 0, 0, 0, 0, time.UTC)}}}
	}
	views := func(t *testing.T, pl *pipeline.Pipeline, a string) []label.View {
		t.Helper()
		var vs []label.View
		if err := pl.Read(func(db *index.DB) (err error) { vs, err = label.ShowAddress(ctx, db, a, time.Time{}); return err }); err != nil {
			t.Fatal(err)
		}
		return vs
	}

	t.Run("add and remove by id", func(t *testing.T) {
		s := open(t)
		a := Addr(t, s.Pipeline, 1)
		res, err := s.Editor.Do(ctx, "alice", own(t, s.Pipeline, a, false, "one"), own(t, s.Pipeline, a, false, "two"))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Outcomes) != 2 || res.Outcomes[0].Added == nil || res.Outcomes[1].Added == nil {
			t.Fatalf("outcomes %+v", res.Outcomes)
		}
		id1, id2 := res.Outcomes[0].Added.Import, res.Outcomes[1].Added.Import
		if id1 == 0 || id2 == 0 || id1 == id2 {
			t.Fatalf("label ids %d, %d: want two distinct ids", id1, id2)
		}
		if res.Exposure == nil {
			t.Error("no exposure update on a clustered store")
		}
		if vs := views(t, s.Pipeline, a); len(vs) != 2 {
			t.Fatalf("%d labels on %s after adding two", len(vs), a)
		}
		res, err = s.Editor.Do(ctx, "bob", labelsync.Edit{Kind: labelsync.KindRemove, Remove: &label.RemoveSpec{Import: id1}})
		if err != nil || res.Outcomes[0].Removed == nil || res.Outcomes[0].Removed.Labels != 1 {
			t.Fatalf("remove %d: %+v %v", id1, res.Outcomes, err)
		}
		if vs := views(t, s.Pipeline, a); len(vs) != 1 || vs[0].Label != "two" {
			t.Fatalf("labels after removing %d: %+v", id1, vs)
		}
		_, err = s.Editor.Do(ctx, "bob", labelsync.Edit{Kind: labelsync.KindRemove, Remove: &label.RemoveSpec{Import: id1}})
		if !errors.Is(err, label.ErrNoLabel) {
			t.Fatalf("removing %d again: %v, want ErrNoLabel", id1, err)
		}
		// The failed edit changed nothing, and the store goes on.
		if _, err := s.Editor.Do(ctx, "bob", labelsync.Edit{Kind: labelsync.KindRemove, Remove: &label.RemoveSpec{Import: id2}}); err != nil {
			t.Fatalf("remove %d after a failed edit: %v", id2, err)
		}
		if vs := views(t, s.Pipeline, a); len(vs) != 0 {
			t.Fatalf("labels left: %+v", vs)
		}
	})

	t.Run("entity label", func(t *testing.T) {
		s := open(t)
		a := Addr(t, s.Pipeline, 1)
		if _, err := s.Editor.Do(ctx, "alice", own(t, s.Pipeline, a, true, "the whole entity")); err != nil {
			t.Fatal(err)
		}
		vs := views(t, s.Pipeline, a)
		if len(vs) != 1 || vs[0].Label != "the whole entity" {
			t.Fatalf("entity label: %+v", vs)
		}
	})

	t.Run("import, remove by address and source", func(t *testing.T) {
		s := open(t)
		a, b := Addr(t, s.Pipeline, 2), Addr(t, s.Pipeline, 3)
		res, err := s.Editor.Do(ctx, "carol", list(a, b))
		if err != nil {
			t.Fatal(err)
		}
		im := res.Outcomes[0].Imported
		if im == nil || im.Labels != 2 || im.Added != 2 || im.Import == 0 || im.Source != label.OFACSource {
			t.Fatalf("import: %+v", im)
		}
		if vs := views(t, s.Pipeline, a); len(vs) != 1 || vs[0].Abuse != "sanction" {
			t.Fatalf("listed address: %+v", vs)
		}
		res, err = s.Editor.Do(ctx, "carol", labelsync.Edit{Kind: labelsync.KindRemove, Remove: &label.RemoveSpec{Address: a}})
		if err != nil || res.Outcomes[0].Removed.Labels != 1 {
			t.Fatalf("remove by address: %+v %v", res.Outcomes, err)
		}
		res, err = s.Editor.Do(ctx, "carol", labelsync.Edit{Kind: labelsync.KindRemoveSource, Source: label.OFACSource})
		if err != nil || res.Outcomes[0].Removed.Labels != 1 {
			t.Fatalf("remove source: %+v %v", res.Outcomes, err)
		}
		if d := Dump(t, s.Pipeline); len(d.Stats.Sources) != 0 || d.Stats.Labels != 0 {
			t.Fatalf("labels after removing the source: %+v", d.Stats)
		}
	})

	t.Run("bad file refused, nothing stored", func(t *testing.T) {
		s := open(t)
		before := Dump(t, s.Pipeline)
		bad := labelsync.Edit{Kind: labelsync.KindImport, Import: &labelsync.Import{Name: "pack.yaml", Body: []byte("title: [unclosed\n")}}
		_, err := s.Editor.Do(ctx, "carol", bad)
		var in *label.InputError
		if !errors.As(err, &in) {
			t.Fatalf("bad TagPack: %v, want *label.InputError", err)
		}
		undated := list(Addr(t, s.Pipeline, 2))
		undated.Import.Options.Date = time.Time{}
		if _, err := s.Editor.Do(ctx, "carol", undated); !errors.As(err, &in) {
			t.Fatalf("undated list: %v, want *label.InputError", err)
		}
		Equal(t, "labels before and after refused files", before, Dump(t, s.Pipeline))
	})

	t.Run("incident", func(t *testing.T) {
		s := open(t)
		var txid string
		if err := s.Pipeline.Read(func(db *index.DB) error {
			h, err := db.TxID(1)
			txid = h.String()
			return err
		}); err != nil {
			t.Fatal(err)
		}
		in := label.Incident{TxID: txid, Vout: label.AllOutputs, Category: "theft", Name: "hack", Source: "case 16",
			Added: time.Date(2026, 12, 6, 0, 0, 0, 0, time.UTC)}
		res, err := s.Editor.Do(ctx, "dave", labelsync.Edit{Kind: labelsync.KindIncident, Incident: &in})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Outcomes[0].Incident
		if got == nil || got.ID == 0 || got.TxID != txid {
			t.Fatalf("incident: %+v", got)
		}
		if d := Dump(t, s.Pipeline); len(d.Incidents) != 1 || d.Incidents[0].ID != got.ID {
			t.Fatalf("incidents stored: %+v, want id %d", d.Incidents, got.ID)
		}
		// Removed by its transaction; a second removal finds none.
		rm := labelsync.Edit{Kind: labelsync.KindRemoveIncident, RemoveIncident: &labelsync.IncidentRef{TxID: txid}}
		res, err = s.Editor.Do(ctx, "dave", rm)
		if err != nil || len(res.Outcomes[0].RemovedIncidents) != 1 || res.Outcomes[0].RemovedIncidents[0].ID != got.ID {
			t.Fatalf("remove incident: %+v %v", res.Outcomes, err)
		}
		if d := Dump(t, s.Pipeline); len(d.Incidents) != 0 {
			t.Fatalf("incidents after the removal: %+v", d.Incidents)
		}
		if _, err := s.Editor.Do(ctx, "dave", rm); !errors.Is(err, label.ErrNoIncident) {
			t.Fatalf("second removal: %v, want label.ErrNoIncident", err)
		}
		bad := labelsync.Edit{Kind: labelsync.KindRemoveIncident, RemoveIncident: &labelsync.IncidentRef{TxID: "zz"}}
		if _, err := s.Editor.Do(ctx, "dave", bad); !errors.Is(err, labelsync.ErrInvalidEdit) {
			t.Fatalf("removal by a malformed txid: %v, want ErrInvalidEdit before anything is stored", err)
		}
	})

	t.Run("same edits, same labels", func(t *testing.T) {
		// Two stores given the same edits hold the same labels, sources,
		// ids and incidents (S3), whichever Editor applied them.
		s1, s2 := open(t), open(t)
		var dumps []Labels
		for _, s := range []Store{s1, s2} {
			a, b := Addr(t, s.Pipeline, 2), Addr(t, s.Pipeline, 4)
			for i, e := range []labelsync.Edit{own(t, s.Pipeline, a, false, "x"), list(a, b), own(t, s.Pipeline, b, true, "y"),
				{Kind: labelsync.KindRemove, Remove: &label.RemoveSpec{Address: b, Source: label.OFACSource}}} {
				if _, err := s.Editor.Do(ctx, "erin", e); err != nil {
					t.Fatalf("edit %d: %v", i, err)
				}
			}
			d := Dump(t, s.Pipeline)
			for i := range d.Stats.Sources {
				d.Stats.Sources[i].Imported = time.Time{} // when the edit was made: each store's own moment
			}
			dumps = append(dumps, d)
		}
		Equal(t, fmt.Sprintf("labels of two stores after the same edits (%d addresses)", len(dumps[0].Addresses)), dumps[0], dumps[1])
	})
}

// Ingest returns a pipeline over db with the blocks of blocksDir
// ingested and clustered, and exposure computed, without labels.
func Ingest(t testing.TB, db *index.DB, blocksDir string) *pipeline.Pipeline {
	t.Helper()
	pl := pipeline.New(db, pipeline.Options{})
	if _, err := pl.Ingest(context.Background(), pipeline.IngestOptions{IngestOptions: index.IngestOptions{BlocksDir: blocksDir}}); err != nil {
		t.Fatal(err)
	}
	return pl
}

// Last returns the number of log's last entry, failing the test when the
// log cannot be read.
func Last(t testing.TB, log labelsync.Log) uint64 {
	t.Helper()
	n, err := log.Last(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return n
}
