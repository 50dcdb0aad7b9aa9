package labelsync

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
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
	// KindRemoveIncident removes incidents (by id, or every one on a
	// transaction). A server older than it records such an entry as
	// ErrInvalidEdit and goes on.
	KindRemoveIncident = "remove_incident"
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
	// RemoveIncident says which incidents a remove_incident edit removes.
	RemoveIncident *IncidentRef `json:"remove_incident,omitempty"`
}

// IncidentRef names incidents to remove: one by its id, or every one on
// a transaction (label.RemoveIncidents).
type IncidentRef struct {
	ID   uint32 `json:"id,omitempty"`
	TxID string `json:"txid,omitempty"`
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

// ErrInvalidEdit: an edit whose form is broken (an unknown kind, a kind
// without its field: a log row written by another program or damaged).
// Applying it fails alike on every server, so the log goes on past it.
var ErrInvalidEdit = errors.New("labelsync: invalid edit")

// DecodeEdit reads an edit from the log's JSON form; a damaged one is an
// edit of kind "invalid" that applies as ErrInvalidEdit (the log goes on).
func DecodeEdit(b []byte) Edit {
	var e Edit
	if err := json.Unmarshal(b, &e); err != nil {
		return Edit{Kind: "invalid", Source: fmt.Sprintf("%.200s", err.Error())}
	}
	return e
}

// wellFormed checks that the edit's kind is known and its field is set.
func (e *Edit) wellFormed() error {
	ok := false
	switch e.Kind {
	case KindAdd:
		ok = e.Add != nil && e.Add.Address != ""
	case KindImport:
		ok = e.Import != nil
	case KindRemove:
		ok = e.Remove != nil
		if ok && e.Remove.Import == 0 && e.Remove.Address == "" && e.Remove.Source == "" {
			return fmt.Errorf("%w: say which labels to remove: a label id (import), an address, a source or several", ErrInvalidEdit)
		}
	case KindRemoveSource:
		ok = e.Source != ""
	case KindRemoveIncident:
		ok = e.RemoveIncident != nil
		if ok && (e.RemoveIncident.ID == 0) == (e.RemoveIncident.TxID == "") {
			return fmt.Errorf("%w: say which incidents to remove: an id or a txid", ErrInvalidEdit)
		}
		if ok && e.RemoveIncident.TxID != "" {
			if _, err := btc.ParseHash(e.RemoveIncident.TxID); err != nil {
				return fmt.Errorf("%w: incident txid %.80q: %w", ErrInvalidEdit, e.RemoveIncident.TxID, err)
			}
		}
	case KindIncident:
		ok = e.Incident != nil
		if ok {
			if err := label.CheckIncident(*e.Incident); err != nil {
				return fmt.Errorf("%w: %w", ErrInvalidEdit, err)
			}
		}
	}
	if !ok {
		return fmt.Errorf("%w: kind %.64q without its field", ErrInvalidEdit, e.Kind)
	}
	return nil
}

// Check refuses, without a store, an edit that could not apply anywhere:
// a kind without its field, a file that does not parse (label.CheckImport,
// an *label.InputError), a removal that names nothing.
func (e *Edit) Check() error {
	if err := e.wellFormed(); err != nil {
		return err
	}
	if e.Kind == KindImport {
		return label.CheckImport(e.Import.Name, e.Import.Body, e.Import.Options)
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
	// RemovedIncidents: what a remove_incident edit removed.
	RemovedIncidents []label.Incident
	Err              error
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
	if err := e.wellFormed(); err != nil {
		return o, err
	}
	var err error
	switch e.Kind {
	case KindAdd:
		l := e.Add.Label
		l.ListedFrom, l.ListedTo = e.Add.ListedFrom, e.Add.ListedTo
		if l, err = label.CheckOwn(db, e.Add.Address, e.Add.Entity, l); err != nil {
			return o, fmt.Errorf("%w: %w", ErrInvalidEdit, err)
		}
		var r label.Result
		r, err = label.AddChecked(ctx, db, l)
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
	case KindRemoveIncident:
		o.RemovedIncidents, err = label.RemoveIncidents(ctx, db, e.RemoveIncident.ID, e.RemoveIncident.TxID)
	}
	return o, err
}

// rejected reports whether err is an edit's own failure, the same on
// every store that applied the same entries before it (and not a store
// or context failure, after which the entry is retried).
func rejected(err error) bool {
	var bad *label.InputError
	return errors.As(err, &bad) || errors.Is(err, ErrInvalidEdit) || errors.Is(err, label.ErrNoLabel) || errors.Is(err, label.ErrNoIncident) ||
		errors.Is(err, label.ErrCategory) || errors.Is(err, address.ErrChecksum) || errors.Is(err, address.ErrWrongNetwork) ||
		errors.Is(err, address.ErrLength) || errors.Is(err, address.ErrFormat)
}
