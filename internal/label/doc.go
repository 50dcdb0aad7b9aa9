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
// Rescreen lists the indexed transactions that paid or spent from
// addresses that imports newly listed, including those made before the
// listing.
//
// # Owns
//
// Keyspaces 0x40–0x45 of the store (index.StageLabel): sources,
// publications, labels by address key, the import that first added each
// address, and the labelled members of each entity (a cache rebuilt by
// Refresh when labels or entities change).
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
package label
