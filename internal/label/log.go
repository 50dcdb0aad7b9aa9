package label

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sleuth-forensics/sleuth/internal/encoding"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// A store whose labels are shared through a log of edits (package
// labelsync) records in keyLog how far it applied the log. The key's
// presence marks the store as shared: its label writes then come only
// from log entries (WithLogEntry).
//
// 40 "log" -> <uvarint last applied sequence number>
const keyLog = "log"

// ErrShared refuses a label edit on a store whose labels are shared
// through PostgreSQL: the edit must go through a server's routes.
var ErrShared = errors.New("this store's labels are shared through PostgreSQL (sleuth serve --shared): " +
	"change them through a server's routes (POST /v1/labels, DELETE /v1/labels/{id}, POST /v1/labels/import), " +
	"so that every server applies the change")

type logEntryKey struct{}

// logEntry is the log entry a write applies.
type logEntry struct {
	seq uint64
	at  time.Time
}

// WithLogEntry returns a context under which the label writes (Apply,
// ImportBytes, Remove, RemoveSource, AddIncident, RemoveIncidents) apply
// entry seq of the shared log, logged at at: the write records seq as the
// store's log position in its own batch (exactly once), an import's id is
// seq and its source's time at. seq must follow the store's position.
func WithLogEntry(ctx context.Context, seq uint64, at time.Time) context.Context {
	return context.WithValue(ctx, logEntryKey{}, logEntry{seq, at.UTC().Truncate(time.Second)})
}

func entryOf(ctx context.Context) (logEntry, bool) {
	e, ok := ctx.Value(logEntryKey{}).(logEntry)
	return e, ok
}

// LogPosition returns the last log entry the store applied, and whether
// the store follows a log at all.
func LogPosition(db *index.DB) (seq uint64, shared bool, err error) {
	v, err := db.StageGet(append([]byte{pState}, keyLog...))
	if err != nil || v == nil {
		return 0, false, err
	}
	d := encoding.Decbuf{B: v}
	seq = d.Uvarint()
	if d.Err() != nil {
		return 0, true, corrupt("log position", d.Err())
	}
	return seq, true, nil
}

// FollowLog makes the store follow a shared log from its start. A store
// holding labels, sources or incidents of its own is refused: its ids
// would collide with the log's, and the other servers would not have them.
// On a store that already follows a log it does nothing.
func FollowLog(ctx context.Context, db *index.DB) error {
	if _, shared, err := LogPosition(db); err != nil || shared {
		return err
	}
	srcs, err := sources(ctx, db)
	if err != nil {
		return err
	}
	next, err := nextIncident(db)
	if err != nil {
		return err
	}
	if len(srcs) > 0 || next > 1 {
		return fmt.Errorf("label: the store holds %d label sources and %d incidents of its own; a store whose labels are shared "+
			"starts without any: export them (sleuth labels export) and import the file through a server, or use a store without labels", len(srcs), next-1)
	}
	return MarkApplied(ctx, db, 0)
}

// MarkApplied records seq as applied without a label change (an entry
// whose edit failed on its content, or changed nothing). seq must follow
// the store's position, or be 0 on a store that follows no log.
func MarkApplied(ctx context.Context, db *index.DB, seq uint64) error {
	wb := db.NewStageBatch()
	defer wb.Close()
	if seq == 0 {
		var e encoding.Encbuf
		e.PutUvarint(0)
		wb.Set(append([]byte{pState}, keyLog...), e.Get())
		return wb.Commit()
	}
	return commitEdit(WithLogEntry(ctx, seq, time.Time{}), db, wb)
}

// guard refuses a label edit that does not come from the log on a store
// that follows one (ErrShared), and a log entry on a store that does not
// or out of order (S1 of labelsync).
func guard(ctx context.Context, db *index.DB) error {
	pos, shared, err := LogPosition(db)
	if err != nil {
		return err
	}
	e, fromLog := entryOf(ctx)
	switch {
	case shared && !fromLog:
		return ErrShared
	case fromLog && !shared:
		return errors.New("label: a log entry applied to a store that follows no log")
	case fromLog && e.seq != pos+1:
		return fmt.Errorf("label: log entry %d applied at position %d (entries apply in order, once)", e.seq, pos)
	case fromLog && e.seq > math.MaxUint32:
		return fmt.Errorf("label: log entry %d: ids are 32 bits", e.seq)
	}
	return nil
}

// Every label edit counts itself in keyEdits, in its own batch, so that
// what keeps labels in memory between blocks (risk.LabelCache) can tell
// with one read that nothing changed since it loaded them.
//
// 40 "edits" -> <uvarint label edits committed>
const keyEdits = "edits"

// editMu orders the edits' read and write of keyEdits: two edits at once
// must not both write the same count.
var editMu sync.Mutex

// Edits returns how many label edits (imports, own labels, removals,
// incidents, actors) the store has committed: any change to what
// EachAddressLabels or EachIncident returns changes it.
func Edits(db *index.DB) (uint64, error) {
	v, err := db.StageGet(append([]byte{pState}, keyEdits...))
	if err != nil || v == nil {
		return 0, err
	}
	d := encoding.Decbuf{B: v}
	n := d.Uvarint()
	if d.Err() != nil {
		return 0, corrupt("edit count", d.Err())
	}
	return n, nil
}

// commitEdit commits a label edit's batch: under a log entry, with the
// entry's number as the store's position in the same batch, and the
// store's edit count (keyEdits) one up.
func commitEdit(ctx context.Context, db *index.DB, wb *index.StageBatch) error {
	if err := guard(ctx, db); err != nil {
		return err
	}
	if e, ok := entryOf(ctx); ok {
		var enc encoding.Encbuf
		enc.PutUvarint(e.seq)
		wb.Set(append([]byte{pState}, keyLog...), enc.Get())
	}
	editMu.Lock()
	defer editMu.Unlock()
	n, err := Edits(db)
	if err != nil {
		return err
	}
	var enc encoding.Encbuf
	enc.PutUvarint(n + 1)
	wb.Set(append([]byte{pState}, keyEdits...), enc.Get())
	return wb.Commit()
}
