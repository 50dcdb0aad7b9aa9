// Package export writes the chain-derived tables to PostgreSQL for SQL
// analysis (`sleuth export --postgres DSN`): blocks, transactions,
// outputs with their spends, inputs, addresses, entities and their
// members, labels and their sources, and exposure. docs/SQL.md describes
// the tables and holds the tested cookbook of forensic queries.
//
// # Owns
//
//   - The SQL schema of the chain tables, in its own PostgreSQL schema
//     (default "chain", Options via Open), as versioned migrations
//     embedded from migrations/NNN_name.sql and applied by Open under an
//     advisory lock; that schema's schema_migrations records them. Each
//     table's comment names its Citus distribution column: transactions,
//     outputs and inputs by tx; addresses, entity_members and exposure by
//     address_id; entities by entity_id; blocks, labels, label_sources,
//     script_types, export_state and export_merge_sums are reference
//     tables, export_digests is distributed by address_id. Plain
//     PostgreSQL 15 SQL, no extension.
//   - The export: rows in COPY's text format built in buffers reused from
//     batch to batch (no per-row allocation), sent with pgx's CopyFrom.
//
// # Does not touch
//
// The shared-state schema of package pgstore (its own tables and
// migrations); the index and the stages' keyspaces, read only through
// their exported queries (index.DB's ChainBlock, ScanTxs, TxID, SpentBy,
// AddrString; cluster.Load; label.Sources and EachLabelled;
// risk.EachAggregate; cluster.ReadPosition, Merges) on the snapshot the
// caller passes.
//
// # A run
//
// The chain tables are incremental: export_state records the height
// exported (and the next transaction number and address id). A run
// compares the stored block hashes with the index's best chain from the
// exported height down; the first height that differs (a reorg below the
// exported tip), or --from-height H when lower, is where it deletes the
// rows at and above (and the spends those rows recorded on older
// outputs) and writes again; otherwise it writes only the blocks after
// the exported height. Blocks go in batches of whole blocks (BatchTxs
// transactions at most), each batch in one PostgreSQL transaction with
// its export_state, so an interrupted run leaves the export complete
// through the last committed batch and the next run resumes after it. A
// batch that fails because the server or the connection went away (a
// restart, a dropped connection) is tried again on a new connection, up
// to Options.Retries times with waits of 1, 2, 4 s, after checking that
// the failed attempt did not commit; other errors end the run.
// Outputs are written with the spend the snapshot knows; inputs of a run
// that spend outputs an earlier run wrote mark them spent (a temporary
// table and one UPDATE per batch). Standalone blocks (--raw-block) are
// not exported; the addresses they introduced take ids from the same
// sequence, so addresses holds them too (no output row names them), with
// the first_height of the best-chain block they were indexed after.
//
// Entities, labels and exposure change globally (a merge renumbers an
// entity, an import labels old addresses, exposure moves with both), so a
// run writes them after the chain tables, in one transaction, with what
// they were made from: export_state's cluster_next_tx (the merge log was
// read below it), export_merge_sums (the log's checksum below that
// position and below each of the clustered chain's last 100 blocks),
// export_digests (a checksum of each address's labels rows and exposure
// rows) and the sums of those. The next run writes only what changed:
//
//   - entities and entity_members: the addresses of the merges logged at
//     or above the cut (the last position, or the first transaction the
//     chain phase deleted when a reorg or --from-height went below it),
//     plus, after a deletion, the addresses the deleted rows paid or spent
//     from and the members with ids the deleted blocks gave out, are
//     dirty. Their old entities come from entity_members; when no merge
//     left the log an old entity moves whole into its new one (one
//     UPDATE), otherwise each of its members takes its entity under the
//     new forest (or none). The checksum below the cut must equal the
//     recorded one, or the part is rewritten whole (a rebuild or an
//     investigator's decision rewrote the past; a reorg deeper than the
//     recorded blocks);
//   - labels and exposure: the addresses whose checksum differs from
//     export_digests' (or that gained or lost every row) are written
//     again: an exposure row by its key (address, category, direction,
//     indirect; only rows that differ are inserted, updated or deleted),
//     an address's labels rows (no key) deleted and copied whole; their
//     digests likewise. Nothing is read when the sum over all addresses
//     is unchanged; label_sources is rewritten when its checksum changed.
//
// Without that record (an export made before it existed, or a run that
// deleted chain rows and stopped before its derived phase) a part is
// rewritten whole: TRUNCATE and COPY. Summary.Derived says which and why.
// Finding what changed reads the whole merge log, labels and aggregates
// from the snapshot and, when the sums differ, the target's digests; it
// writes only the changed rows. A failed run leaves the previous ones.

// # Invariants
//
//	E1. Migrations are numbered 1..n without gaps, applied in order at
//	    most once, in one transaction holding the schema's advisory lock;
//	    a schema at a version this binary does not know is refused
//	    (ErrNewerSchema) before anything is written.
//	E2. After a run, blocks, transactions, outputs, inputs and addresses
//	    hold exactly the index's best chain up to export_state.height
//	    (every height once, transaction numbers 0..next_tx-1, address ids
//	    0..next_addr-1), whatever runs, reorgs and re-exports came before:
//	    equal to one run on an empty schema.
//	E3. Every batch commits with export_state: a failure between batches
//	    loses only the uncommitted batch, never leaves a partial block.
//	E4. entities, entity_members, label_sources, labels and exposure are
//	    written in one transaction and are what the snapshot held at
//	    export_state.derived_height.
//	E5. One run at a time per schema (a session advisory lock): a second
//	    is ErrBusy.
//	E6. After a run, the secondary indexes of the chain tables (indexes.go)
//	    exist. A run from height 0 drops them first and builds them after
//	    its last batch; a run that fails in between leaves the tables
//	    without them (queries slower, answers the same) until the next
//	    run ends.
//	E7. An incremental run of the derived tables ends equal to a whole
//	    rewrite (and to an export into an empty schema) of the same
//	    snapshot, whatever runs, reorgs, label edits and interruptions came
//	    before; export_digests and export_merge_sums describe the rows
//	    written, or export_state says they do not (cluster_next_tx = -1,
//	    digests = false).
package export
