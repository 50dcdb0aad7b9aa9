package labelsync

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
	"github.com/sleuth-forensics/sleuth/internal/risk"
)

// Kinds of Edit.
const (
	KindAdd          = "add"
	KindImport       = "import"
	KindRemove       = "remove"
	KindRemoveSource = "remove_source"
	KindIncident     = "incident"
)

// Edit is one label edit, as the log stores it: Kind says which of the
// other fields is set.
type Edit struct {
	Kind     string            `json:"kind"`
	Add      *Own              `json:"add,omitempty"`
	Import   *Import           `json:"import,omitempty"`
	Remove   *label.RemoveSpec `json:"remove,omitempty"`
	Source   string            `json:"source,omitempty"` // remove_source
	Incident *label.Incident   `json:"incident,omitempty"`
}

// Own is an investigator's label on Address (or, Entity, on the entity
// that holds it), checked by label.CheckOwn with its defaults filled in.
type Own struct {
	Address string      `json:"address"`
	Entity  bool        `json:"entity,omitempty"`
	Label   label.Label `json:"label"`
	// ListedFrom and ListedTo are Label's (which JSON leaves out).
	ListedFrom time.Time `json:"listed_from"`
	ListedTo   time.Time `json:"listed_to"`
}

// AddEdit returns the edit that adds l (as label.CheckOwn returned it) on
// address addr, or on the entity that holds it.
func AddEdit(addr string, entity bool, l label.Label) Edit {
	return Edit{Kind: KindAdd, Add: &Own{Address: addr, Entity: entity, Label: l, ListedFrom: l.ListedFrom, ListedTo: l.ListedTo}}
}

// Import is a file to import: its bytes (not gzipped), the name it is
// read as, and the options.
type Import struct {
	Name    string              `json:"name"`
	Body    []byte              `json:"-"` // the log stores the bytes beside the edit
	Options label.ImportOptions `json:"options"`
}

// Check refuses, without a store, an edit that could not apply anywhere:
// a kind without its field, a file that does not parse (label.CheckImport,
// an *label.InputError), a removal that names nothing.
func (e *Edit) Check() error {
	switch e.Kind {
	case KindAdd:
		if e.Add == nil || e.Add.Address == "" {
			return errors.New("labelsync: an add without its label")
		}
	case KindImport:
		if e.Import == nil {
			return errors.New("labelsync: an import without its file")
		}
		return label.CheckImport(e.Import.Name, e.Import.Body, e.Import.Options)
	case KindRemove:
		if e.Remove == nil || (e.Remove.Import == 0 && e.Remove.Address == "" && e.Remove.Source == "") {
			return errors.New("say which labels to remove: a label id (import), an address, a source or several")
		}
	case KindRemoveSource:
		if e.Source == "" {
			return errors.New("labelsync: remove_source without a source name")
		}
	case KindIncident:
		if e.Incident == nil {
			return errors.New("labelsync: an incident edit without its incident")
		}
	default:
		return fmt.Errorf("labelsync: unknown edit kind %q", e.Kind)
	}
	return nil
}

// Outcome is what applying one edit did; Err is the edit's own failure
// (a label that no longer exists…), which every store meets alike.
type Outcome struct {
	Seq      uint64 // its log entry (0: applied without a log)
	Added    *label.Result
	Imported *label.FileResult
	Removed  *label.Removed
	Incident *label.Incident
	Err      error
}

// Result is what an Editor's Do did: one Outcome per edit, and the
// attribution update after them (Exposure nil when it did not run).
type Result struct {
	Outcomes []Outcome
	Exposure *risk.Summary
}

// Err returns the first edit's failure, if any.
func (r *Result) Err() error {
	for i, o := range r.Outcomes {
		if o.Err != nil {
			if len(r.Outcomes) == 1 {
				return o.Err
			}
			return fmt.Errorf("edit %d of %d: %w", i+1, len(r.Outcomes), o.Err)
		}
	}
	return nil
}

// Editor applies label edits: Local on the embedded store, Shared through
// a shared log. Do checks the edits, applies them in order and brings
// attribution and exposure up to date; the error is the first edit's
// failure, or a failure to apply (ErrUnavailable: the log cannot be
// reached).
type Editor interface {
	Do(ctx context.Context, by string, edits ...Edit) (Result, error)
}

// apply applies one edit to db through label's write paths (under a log
// entry when ctx carries one: label.WithLogEntry).
func apply(ctx context.Context, db *index.DB, e *Edit) (Outcome, error) {
	var o Outcome
	var err error
	switch e.Kind {
	case KindAdd:
		l := e.Add.Label
		l.ListedFrom, l.ListedTo = e.Add.ListedFrom, e.Add.ListedTo
		var r label.Result
		r, err = label.AddOwn(ctx, db, e.Add.Address, e.Add.Entity, l)
		o.Added = &r
	case KindImport:
		o.Imported, err = label.ImportBytes(ctx, db, e.Import.Name, e.Import.Body, e.Import.Options)
	case KindRemove:
		var r label.Removed
		r, err = label.Remove(ctx, db, *e.Remove)
		o.Removed = &r
	case KindRemoveSource:
		var r label.Removed
		r, err = label.RemoveSource(ctx, db, e.Source)
		o.Removed = &r
	case KindIncident:
		var in label.Incident
		in, err = label.AddIncident(ctx, db, *e.Incident)
		o.Incident = &in
	default:
		err = e.Check()
	}
	return o, err
}

// rejected reports whether err is an edit's own failure, the same on
// every store that applied the same entries before it (and not a store
// or context failure, after which the entry is retried).
func rejected(err error) bool {
	var bad *label.InputError
	return errors.As(err, &bad) || errors.Is(err, label.ErrNoLabel) || errors.Is(err, label.ErrNoIncident) ||
		errors.Is(err, label.ErrCategory) || errors.Is(err, address.ErrChecksum) || errors.Is(err, address.ErrWrongNetwork) ||
		errors.Is(err, address.ErrLength) || errors.Is(err, address.ErrFormat)
}
