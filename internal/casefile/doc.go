// Package casefile owns investigation cases: a named case holds its
// sources (the incident's txids and addresses), notes, the labels the
// investigators added for it, the traces they ran with their parameters,
// and an audit log of who did what, when.
//
// # Owns
//
//   - The Store interface (the shared, editable state a PostgreSQL
//     implementation can provide later, issue 16) and its embedded
//     implementation DB in keyspace 0x72–0x73 of the store
//     (index.StageCases): 72 00 → counters; 72 01 <case BE64> → the case;
//     73 <case BE64> <seq BE64> → one audit event. Values are a version
//     byte and JSON: cases are few, edited by people, and read whole.
//   - The edits (Create, AddSources, AddNote, AddLabel, AddTrace, SetStatus),
//     each applied with its audit event in one atomic batch.
//
// # Does not touch
//
// Labels themselves (package label owns them: a case records which labels
// were added for it), traces (package trace computes them: a case keeps
// the parameters and the summary the server computed), HTTP and who the
// caller is (the server names the actor: its API key's name).
//
// # Invariants
//
//	C1. Every change to a case and its audit event commit together: the
//	    audit log never misses an edit, and never holds one that did not
//	    happen.
//	C2. Case ids and audit sequence numbers only grow; nothing is deleted
//	    (a case is closed, not removed), so a report can cite them.
//	C3. Inputs are bounded (name 200 bytes, note 10,000, 1,000 sources,
//	    1,000 notes, 1,000 traces per case) and checked before anything is
//	    written; a refused edit changes nothing.
package casefile
