// Package risk owns exposure and screening: for an address, entity or
// transaction, how much of what it received (or sent) traces to labelled
// entities of each category — sanction, ransomware, theft, mixer, darknet
// market, scam, gambling, exchange — directly or through intermediaries,
// with the fewest hops, the label behind each figure, and a risk level
// from configurable rules (DefaultRules documents the defaults).
//
// Update walks the best chain's transactions in order (then standalone
// blocks) and gives every output an exposure vector: per category, the
// share of its value that traces back to the category by haircut, the
// fewest hops, and the biggest contributor's labelled address and hop-1
// transaction. An input whose entity (cluster.Load) a label maps to a
// category carries it in full at hop 1 (direct); other inputs carry their
// spent output's vector one hop further (indirect), except that services
// (label.ServiceCategories) pass on only their own categories, exchange
// exposure is never passed on, and indirect exposure beyond MaxHops or
// below Epsilon is dropped. Each recipient address aggregates what it
// received (not counting its own entity's direct contributions, e.g. a
// labelled entity's change); each payer address aggregates what it paid
// directly to labelled entities (stored sent exposure is direct only;
// Screener.SentPaths computes indirect sent exposure on demand).
//
// Labels map to categories through Concepts and, for concepts it does not
// name, the GraphSense taxonomy's broader concepts (data_breach → hacking
// → theft). A label that a later complete publication ended (a delisted
// address) is not a source of exposure. An incident (label.Incident)
// makes its outputs a source of its category: spending one carries the
// category in full at hop 1, as spending from a labelled entity does; the
// Screener explains such exposure by the incident (via "incident"), and
// ExposurePath reads back, from the stored vectors, the transactions by
// which a category reached an address.
//
// # Screening
//
// A Screener answers an address (Screen), an entity (Entity), a
// transaction (Tx), any of them by string (Query) or a batch row
// (ScreenInput; ReadCSV and ReadJSONL read batches row by row, bad rows
// carrying their line). Every Report has a Status: Assessed (Risk set),
// NotSeen (a valid address, txid or entity id the indexed chain does not
// hold: Reason names the tip it was checked against; an address never on
// chain but labelled itself is assessed on those labels) or Invalid
// (Reason says why: bad checksum, wrong network, a bad batch row). Risk is
// null in JSON unless Assessed. Basis gives what answers stand on: the
// chain tip (height, hash, time), the exposure's height, and each label
// source with its latest publication (or import) date.
//
// Each row says how it was reached (Row.Basis): the screened address's
// own label, a label on another member of its entity (EntityPath: the
// entity's id and size, the member, and, for the rows that set the level,
// the merges from cluster.Explain), funds moved between it and labelled
// entities (Explanation cites the biggest contribution; Screener.Paths
// and SentPaths trace a path), or, for a transaction, a labelled input or
// output address (direct: paying a sanctioned address is Severe). The
// rules that set the level are listed (Fired) with their thresholds.
//
// SetAsOf answers as of a date: labels as label.Viewer.ShowAddress sees
// them with that as-of date, and transactions up to the end of the day.
// Stored exposure covers the whole chain under today's labels, so an
// as-of address is traced on demand (backward haircut from what it
// received by then, forward one hop from what it spent by then), an as-of
// transaction backward from the outputs it spent (plus its counterparty
// rows); Report.Method says so.
//
// Update continues from the last processed block when the chain and the
// labelled entities and incidents, as seen by the addresses already
// processed, are unchanged (a fingerprint in the state). When only the
// attribution changed — labels or incidents added or removed, a
// clustering change that moved a seen address into or out of a labelled
// entity — it updates incrementally (incremental.go): the entities and
// incident outputs whose records in 54 and 55 differ from the current
// attribution name the transactions to recompute, changes propagate
// forward along the spends only while vectors change, and the addresses
// those transactions paid get their aggregates updated by the difference
// of the old and new flows (or recomputed when that is not exact), all in
// one batch; after a block's merges the old flows are computed with the
// forest before them (Summary.Aggregation says which path an update
// took; a changed entity's affected members are read from the merges
// since the stored attribution — the old entities they joined whose
// attribution differs, and new addresses — rather than by walking the
// whole entity, an exchange of millions, every block), and with
// Options.ListChanged (a label change's answer, not a
// block's update) Summary.ChangedAddresses lists the addresses whose
// aggregate changed (the first MaxChangedAddresses). A LabelCache (Options.Labels)
// keeps the labels between updates, reloaded when label.Edits changes or
// the index reorgs. A reorg is rolled back (rollback.go): each of the last
// UndoBlocks processed blocks keeps an undo record (56: its hash, first
// transaction, the addresses its transactions paid or spent from, and the
// merges clustering logged for them); the blocks that left the best chain
// lose their outputs' vectors, the aggregates their flows reached are
// recomputed from the transactions that remain, the state steps back to
// the fork in one batch, and the attribution check (with the forest the
// stored attribution was computed with, rebuilt from the log below the
// fork and the records' merges) and run take it to the new tip. A deeper
// reorg, standalone transactions, other options, or a change touching
// more than the bounds of one batch recompute from scratch. Such a rebuild
// wrote every record it could read back itself, so it keeps a bit per
// best-chain transaction it stored a vector for, and answers "none" from
// a clear bit instead of a store read (most of its reads found nothing). Every forward run also
// keeps the vectors and aggregates of its last committed batches in memory
// (keptVectors, keptAggregates), since most inputs spend recent outputs
// and busy addresses are paid again soon; TestRebuildInBatches holds all
// of it to a run in one batch. A run from scratch writes no aggregate
// until its end (aggruns.go): each batch's partial aggregates go to a
// sorted run (5E) ingested into the last level, merged by address into 53
// at the end; while runs are unmerged (51) ReadStatus reports height -1,
// an interrupted run resumes, and a reorg or attribution change
// recomputes from scratch.
//
// # Owns
//
// Keyspaces 0x50–0x56 and 0x5E of the store (index.StageRisk):
//
//	50                 state: height, tip, next tx, standalone txs done, fingerprint bound and hash, options
//	51                 present while a run from scratch defers its aggregates: runs written to 5E
//	52 outref BE64     exposure vector of an output (only outputs with exposure)
//	54 entity BE64     a labelled entity's own categories, service flag, cited address per
//	                   category and members below the state's bound
//	53 addrid BE64     exposure aggregate of an address: per category, direction and kind,
//	                   sats, fewest hops and the biggest contribution's source
//	55 outref BE64     an incident's output as exposure applied it: categories, cited address
//	56 height BE64     undo record of one of the last UndoBlocks blocks processed
//	5E run BE32 addrid a run from scratch's partial aggregates of one batch, until merged into 53
//
// # Does not touch
//
// The index's, cluster's and label's keyspaces (read through their
// queries); tracing (package trace).
//
// # Invariants
//
//	R1. After Update, keyspaces 50–5F equal those of one Update over the
//	    same chain, clustering, labels and incidents on a fresh store
//	    (StageDigest), whether it continued, updated incrementally or
//	    rebuilt.
//	R2. Every stored share is in (0, 1] (parts per billion), every hop
//	    count in 1..MaxHops, and an address's received exposure per
//	    category is at most what it received.
//	R3. A screening Report is Assessed with a level, or NotSeen or Invalid
//	    with a reason and no level; each fired rule names one of its rows
//	    (checked under the invariants tag by Query, ScreenInput and
//	    ScreenMany).
package risk
