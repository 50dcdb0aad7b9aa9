// Package labelsync makes labels one truth for several sleuth servers
// (issue 16): every label edit goes through one ordered log, and every
// server applies that log, in order, to its own label store (package
// label, in its own Pebble store beside its own chain index).
//
// Labels feed attribution and exposure, which each server derives from
// its own chain index, so the label store cannot simply move to
// PostgreSQL: screening reads it locally, on its hot path, and a label
// change must run the pipeline's attribution update
// (pipeline.AttributionChanged: the labels' entity index, then risk's
// incremental exposure) on every server. What is shared is therefore the
// log of edits, not the labels.
//
// # The log
//
// An Entry is one edit with its sequence number (1, 2, …, no gaps), when
// it was logged and by whom. The kinds of Edit:
//
//   - add: one investigator's label (address, entity scope, label,
//     category, abuse, actor, source, confidence, description, listed
//     from/to), checked and with its defaults filled in by the server that
//     took the request, so that applying it needs no chain index (an
//     entity's label names the address the writer resolved it to);
//   - import: a TagPack, ActorPack or OFAC file's bytes (not gzipped), the
//     name it is read as, and its options (format, date, strict);
//   - remove: a label.RemoveSpec (label id, address, source);
//   - remove_source: a source's name;
//   - incident: an incident to add;
//   - remove_incident: incidents to remove (an id, or a txid's).
//
// The Log interface is the log's store: Append writes edits (several
// edits of one request in one transaction) and answers their sequence
// numbers; After reads the entries after a sequence number; Wait blocks
// until the log may have grown (a notification) or a timeout. pgstore's
// LabelLog is the PostgreSQL form: a table written under an advisory
// lock, so sequence numbers are assigned and committed in order (a reader
// that saw seq n never later finds a committed n-1), and NOTIFY on each
// append; its readers LISTEN and poll every 500 ms as a fallback, so a
// lost notification delays an edit by at most that.
//
// # Writing and applying
//
// Editor is what the API's label routes call (Do). Local is the embedded
// store's: it applies the edit under the pipeline's writer guard, then
// runs the attribution update, as the routes always did. Shared is the
// one of `sleuth serve --shared DSN`:
//
//  1. The edit is checked without the store where it can be (a file is
//     parsed, an address decoded), so bad input is refused before it
//     reaches the log.
//  2. It is appended to the log (Submit): that is the commit the user
//     waits for. PostgreSQL unreachable: ErrUnavailable (the API answers
//     503 with Retry-After), nothing stored anywhere. The connection
//     lost while the COMMIT was under way: ErrUnavailable and
//     ErrOutcomeUnknown, the edit may or may not be in the log, and the
//     error says to read it back before sending it again (the API
//     answers a 503 of type outcome-unknown, without Retry-After).
//  3. The writer then catches up (CatchUp) like every other server, and
//     answers with what applying its own entries did (ids, counts, the
//     exposure update). Every other server's Run loop catches up when
//     woken or polled.
//
// CatchUp applies each entry after the store's applied sequence number
// in order, under the pipeline's writer guard, through the label
// package's own write paths (label.Apply, Remove, RemoveSource,
// AddIncident, ImportBytes); the entry's sequence number is written in
// the same Pebble batch as the label change (label.WithLogEntry), so an
// entry is applied exactly once even across a crash. An entry whose edit
// fails on its content (a label id that no longer exists, a file that no
// longer parses) fails the same way on every server: its number is
// recorded alone and the writer's user gets the error. After the entries,
// one attribution update covers them all.
//
// The CLI's label commands with --shared DSN (sleuth label, labels,
// incident) log edits through Submit without a server and without an
// index: OwnEdit checks an own label as label.CheckOwn does, for a
// network, and fills in its default date.
//
// Ids users see are derived from the log, not from local counters: an
// added or imported label's id (label.Result.Import, what DELETE
// /v1/labels/{id} takes) and an incident's id are the entry's sequence
// number; sources are created in log order from a store without labels,
// so their ids agree too. Source and import times are the entry's time.
//
// # Owns
//
// The Edit and Entry forms (JSON, as the log stores them), the Log
// interface, Local and Shared, and the apply of one entry.
//
// # Does not touch
//
// The label store's format (package label; its log position is a key of
// label's own keyspace), the pipeline's stage order, PostgreSQL itself
// (pgstore).
//
// # Invariants
//
//	S1. A store applies entries in sequence order, each exactly once: its
//	    applied number is written in the batch that applies the entry.
//	S2. A store shared through a log holds only labels from the log: a
//	    store with labels of its own is refused by NewShared, and label's
//	    write paths refuse edits that do not come from the log
//	    (label.ErrShared), so the CLI's label commands point at the routes.
//	S3. Two stores that applied the same entries hold the same labels,
//	    sources, incidents and ids (the conformance suite, labelsynctest,
//	    checks it for Local and Shared alike).
//	S5. Applying never stalls on an entry: a damaged row (DecodeEdit) or
//	    an edit that fails on its content is recorded as applied with its
//	    error (ErrInvalidEdit, label.ErrNoLabel, *label.InputError, …);
//	    only a failure of the store or context leaves it to be retried
//	    (FuzzApplyEdit).
//	S4. The log is append-only and gap-free; a store whose applied number
//	    is past the log's end belongs to another log and is refused.
package labelsync
