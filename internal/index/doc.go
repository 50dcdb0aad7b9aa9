// Package index owns sleuth's chain index: every block, transaction, output,
// spend and address of the best chain (and of standalone blocks) in one
// embedded Pebble store, keyed on dense numeric ids.
//
// Ingest reads Bitcoin Core's blk*.dat files through package blockfile, picks
// the best chain with package chain, and writes batches; the lookups (Stats,
// Block, Tx, Address, AddressTxs) serve the CLI and the API.
//
// # Reading beside a writer
//
// Lookups on a DB read the live store and the ingest state Ingest updates,
// so they must not run while it does. View returns a read-only DB of the
// store as it is at that moment (a Pebble snapshot and a copy of the
// ingest state): every lookup, stage read (StageGet, StageScan, ScanTxs,
// Tip, …), Check and Digest on it answers from that one state while
// writers go on; writes on it fail with ErrView. package pipeline takes
// one after each update and hands it to readers.
//
// # Owns
//
// The Pebble store and every key in it; the ingest pipeline (parallel parse
// and classify, and on a short path each output address the address
// filter may hold and each spent output looked up in the committed store
// by the parse workers; one ordered
// writer with its UTXO and address-id caches, open-addressed tables of
// 64-byte slots in two generations sized in bytes, and batches that end at a transaction count, a byte count or a
// full cache generation, whichever comes first); undo of
// blocks that leave the best chain; the consistency checker (Check) and the
// content digest (Digest); Reference, the in-memory indexer that the
// ingest's speed is measured against (it writes nothing); Pebble's
// compaction scheduler (compactsched.go: Pebble's concurrency limits, with
// grants that rest for a server's pacer, PaceCompactions). A context
// carrying a pace.Pacer makes the ingest's loops rest for it too. The
// caches' tables and the address filter ask for transparent huge pages
// (hugepage_linux.go): each lookup is a random probe of hundreds of MB.
//
// # Does not touch
//
// Clustering, labels, tracing: later stages read through this package's
// exported queries and keep their own keyspaces, written through
// StageBatch (a large batch without a range deletion commits as sstables
// ingested at once, as the bulk path's batches do: Options.StageTableBytes),
// or, for keys that arrive in random order, through StageSort (sorted runs
// spilled beside the store, merged and ingested as tables at its end).
// Partial results that must survive a crash go into the store as sorted
// runs (IngestStage: tables that land in the last level where their range
// is empty), read back merged by key with StageRuns and ingested whole.
// A stage that rewrites a range whole clears it with a DeleteRange and then
// CompactStage, so that the tables it ingests next land in the last level
// instead of above the range deletion.
// Address strings appear only in the query views; the write path keys on
// address.Key bytes and AddrIDs.
//
// # On disk
//
// docs/format/index.md draws every keyspace. In short (BE = big-endian, so
// byte order is id order):
//
//	01 name                 meta: format, network, state (ingest progress)
//	02 file# BE32           end offset of the scanned part of blkNNNNN.dat
//	03 hash                 every scanned header + location + arrival seq
//	04 height BE32          best-chain block record
//	05 hash                 best-chain height of a block hash
//	06 hash / 07 height hash   standalone blocks and their height index
//	0E nexttx BE64          a bulk path's first txnum whose outputs may be held
//	0F nexttx BE64          a bulk path's commit state (only while it runs)
//	10 txnum BE64           transaction record (inputs with value and address
//	                        id inline, outputs with value, type, address id)
//	11 txid[:8] txnum BE64  txid prefix index (collisions resolved by reading 10)
//	12 txid vout BE32       unspent output (best chain)
//	13 outref BE64          the input that spends an output
//	20 address key          address id
//	21 addrid BE64          address key
//	22 addrid BE64          address totals (a merge operand: no read on write)
//	23 addrid txnum         what one transaction did to one address
//
// A bulk ingest defers 11, 13, 22 and 23 (functions of 10 alone, and the
// keyspaces whose random key order made compactions grow with the store)
// and builds them at its end by an external sort ingested as sstables; the
// meta key "derive" marks a store whose derive is unfinished (derive.go).
// It also holds the unspent outputs it creates in the writer's cache
// until their cache generation is evicted (held.go): most are spent
// first, and then 12 never sees them. A writable open after a crash
// writes the held ones back from 10, from the txnum in 0E.
//
// Beside the store: ADDRFILTER (X7) and SLEUTH-OWNER, the PID and command
// line of the process holding the store's lock, so that Open can say who
// holds it (ErrLocked); a file left by a process that is gone is ignored.
// Open creates a store only when allowed (not ReadOnly, not MustExist):
// otherwise a directory without one is ErrNoIndex, and nothing is written.
//
// # Invariants
//
//	X1. After Ingest returns, the store equals one built by a single
//	    uninterrupted ingest of the same best chain and standalone blocks
//	    (Digest is equal), whatever batches, crashes, reruns or reorgs came
//	    before.
//	X2. Every batch commits atomically with the ingest state; a crash loses at
//	    most the uncommitted batch, and the next run resumes after the last
//	    committed block. A bulk path's held outputs are not lost: they are
//	    functions of the committed transaction records from 0E's txnum,
//	    and a writable open writes them before anything reads the store.
//	X3. Best-chain transaction numbers are 0..NextTx-1 in chain order, block
//	    heights 0..Height, address ids 0..NextAddr-1 in first-seen order.
//	X4. Each spend key names an existing input that records that output as
//	    its prevout, and each resolved input has exactly one spend key, except
//	    that a standalone block's spend of a best-chain output writes none.
//	X5. The UTXO keyspace holds exactly the unspent, spendable best-chain
//	    outputs (not OP_RETURN, script ≤ 10,000 bytes, not the genesis
//	    coinbase); the state's count and value match it. While a bulk path
//	    runs (and after a crash in one, until a writable open) it lacks
//	    the outputs held from 0E's txnum; the derive marker is then set,
//	    so no reader sees that state.
//	X6. An address's totals equal the sum of its history rows.
//	X7. The address filter (file ADDRFILTER) never answers "absent" for a
//	    stored address key; a reorg deletes the saved file before it commits.
//	B4. A value that cannot be known (a standalone block's input whose
//	    output is not indexed) is stored as unknown and never summed: fee,
//	    sent and balance are then reported as null.
//	B5. An output of a standalone block that no indexed input spends may be
//	    spent in a block that was never ingested: its SpendStatus is
//	    unknown, never unspent, and the balance of an address holding one
//	    is reported as null (Spend, Tx, Address).
//	X8. A view answers every lookup from the state at View: neither a
//	    later commit nor a later change of the ingest state shows through,
//	    and it holds no writable handle. Each view's snapshot is closed
//	    exactly once (its Close, or the store's Close); OpenViews counts
//	    those still open.
package index
