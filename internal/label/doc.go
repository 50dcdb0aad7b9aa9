// Package label owns attribution: who an address or entity is, according
// to whom, how sure, and since when.
//
// Labels come from sanctions lists (package ofac: SDN.CSV, plain address
// lists, sdn_advanced.xml), GraphSense TagPacks (package tagpack) and the
// investigator's own findings. Each file is one atomic import into a
// source; a list's dated publications share one source, so the store knows
// when each address was first listed and when a later complete publication
// dropped it. Labels are keyed by address key, so they apply to addresses
// the chain has not shown yet.
//
// A label reaches an entity (package cluster) when it defines it: a
// cluster-definer tag, a sanctions listing, or an investigator's entity
// label. Conflicting labels are all shown, each with source, confidence and
// via ("address" or "entity"); nothing is silently chosen.
//
// A sanctions list is one whatever category its pack declares: a TagPack
// tag whose source is OFAC's (SanctionsSource) gets abuse "sanction" and
// defines its entity, as an OFAC list import does. A file whose structure
// is sound is imported without its invalid entries (a TagPack tag whose
// address does not decode, an OFAC entry of another chain or cut off),
// each reported at path:line; ImportOptions.Strict refuses it instead. A
// structurally broken file is refused whole.
//
// Remove and RemoveSource take labels back (by import id, address, source);
// a label a later complete publication dropped stays, with both dates.
//
// Incidents mark the outputs of a transaction (a theft, a ransom payment)
// as the source of a category before anyone has labelled the
// perpetrator's addresses: `sleuth incident add`, and TagPack tags on a
// tx_hash (which belong to their pack's source). Package risk reads them
// with EachIncident.
//
// A store can follow a shared log of label edits (package labelsync,
// sleuth serve --shared): FollowLog marks it, and from then on its label
// writes come only from log entries (WithLogEntry), each recording the
// entry's number in its own batch (LogPosition); an import's id and an
// incident's are then derived from the entry, not local counters. Any
// other write is refused with ErrShared, which names the server's routes.
//
// Rescreen lists the indexed transactions that paid or spent from
// addresses that imports newly listed, including those made before the
// listing, leaving out those an earlier rescreen reported; its result
// counts as done only when the caller commits it (after writing it out).
//
// # Owns
//
// Keyspaces 0x40–0x48 of the store (index.StageLabel): sources,
// publications, labels by address key, the import that first added each
// address, the labelled members of each entity (a cache rebuilt by
// Refresh when labels change or the clustering is rewritten, and kept up
// by RefreshAfter in proportion to a block's merges otherwise), actors,
// incidents (47) and how
// far rescreen reported each address (48), the shared log's applied
// entry (40 "log") and the count of label edits committed (40 "edits",
// Edits: every edit's batch raises it, so that a reader keeping labels
// in memory, risk.LabelCache, knows with one read whether they changed).
//
// # Does not touch
//
// The index's and cluster's keyspaces (read through their queries); file
// parsing (ofac, tagpack); exposure and tracing.
//
// # Invariants
//
//	L1. An import applies whole or not at all: one batch per file.
//	L2. Every label key names a stored source; every 44 key names an import
//	    below the state's next import.
//	L3. A list address's ListedFrom is the earliest publication that listed
//	    it and LastSeen the latest; ListedTo is derived, never stored, from
//	    the complete publications after LastSeen.
//	L4. Keyspace 45 is either marked stale in the state or equals the
//	    entity of every indexed labelled address under the current
//	    clustering.
//	L5. Every incident with a TagPack source id names a stored source;
//	    incident ids only grow (a removed id is never reused while a
//	    later one exists).
//	L6. On a store that follows a shared log (40 "log" present), every
//	    change to sources, labels, incidents and actors is written in the
//	    batch that records the log entry it applies, and entries apply in
//	    order (the next is always position+1).
package label
