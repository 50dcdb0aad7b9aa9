// Package cluster owns entities: the grouping of addresses by common
// ownership, kept current block by block and explained merge by merge.
//
// Update reads the index's transactions in chain order and merges
// addresses by the co-spend (multi-input) heuristic, skipping CoinJoins
// (package coinjoin: the protocol detectors and the general tests of value
// structure), and, when enabled, by change heuristics whose combined
// confidence passes a threshold. A co-spend is also judged by what the
// clustering knows before it (coinjoin.InputRules: inputs from more than a
// few established entities, from all script families, fanning in from
// many entities to as many partly equal outputs, or joining two entities of
// guard size); a refused co-spend, like a change link that would join two
// large entities (the supercluster guard), is recorded with its evidence
// for review. Every detector family can be switched off (Config.Off), so
// evaluation can measure the others on shapes they do not know
// (FamilySweep). Investigators' decisions (overrides.go: reject or accept
// a transaction, merge or split two addresses) are part of the input, with
// who and why.
// Every merge is logged with its transaction, heuristic, evidence and
// confidence; Explain walks the log to show why two addresses are one
// entity.
//
// The union-find (Forest) holds two uint32 per address: 8 bytes, 12 GB at
// mainnet's 1.5 billion addresses. An entity's id is its smallest address
// id, so it does not depend on the order of merges.
//
// # Where the forest lives
//
// Update, Load and LoadSplit build their forests with NewScratchForest:
// from a million ids on, the two arrays are memory-mapped scratch files in
// the store's directory (package mmap), outside the Go heap, so the
// kernel keeps resident only the pages being used and writes cold ones
// back to the file when memory is short; smaller forests, and NewForest,
// stay on the heap. Words are stored XORed with their id (F3), so a new
// forest is all zeros: nothing is written, and an id no union touched is
// never paged in. Growing remaps the files (1/16 spare); they are reserved
// with fallocate, so a full disk is an error, not a crash.
//
// Scratch files are unlinked the moment they are created: Update closes
// its forest before it returns (or hands it to Options.Forest, a
// ForestCache that a long-lived pipeline keeps between blocks and that
// serves the next Update only while the merge log is as it left it), Load's and LoadSplit's callers call Close
// (a forest nobody closes is unmapped when it is collected), and a crash
// frees them with the process. A file of a process that died in the
// instant between creating and unlinking it is removed by the next
// NewScratchForest in that directory. The snapshot file (CLUSTER-FOREST)
// is unaffected: it holds parent and next, not the XORed words.
//
// # Writing in bulk
//
// A run that rewrites the entity keyspaces whole (a new, rebuilt, reorged
// or interrupted clustering) writes its merges' adjacency keys (33), two
// random keys a merge, at its end instead of merge by merge: read back
// from the merge log, sorted by address and ingested as tables
// (index.StageSort), so they skip the memtable and the compactions. The
// state's AdjFrom marks the merges still without them; Explain refuses
// while it is set, and the next run finishes them.
//
// # Owns
//
// Keyspaces 0x30–0x3A of the store (index.StageCluster): the merge log and
// its per-address adjacency, the entity of each address and the members of
// each entity, CoinJoin verdicts per transaction and CoinJoin inputs per
// address, refused merges, change candidates and the clustering state; and
// 0x3E, the investigators' decisions, which a rebuild keeps.
// docs/format/index.md draws them.
//
// # Does not touch
//
// The index's keyspaces (read through index's queries only); labels and
// tracing. Address strings appear only in views (Explain, EntityView).
//
// # Invariants
//
//	C1. After Update, the cluster keyspaces equal those of one Update over
//	    the same blocks on a fresh store (StageDigest is equal), whatever
//	    increments, reorgs and interruptions came before.
//	C2. The entity of every address is the smallest address id reachable
//	    through logged merges; keyspace 34 holds it for every address of a
//	    multi-address entity and 35/36 list each such entity's members and
//	    size.
//	C3. Logged merges form a forest: each joined two different entities.
//	C4. Merges at or after the first stale transaction are undone before
//	    any new block is clustered.
//	C5. A change link never joins two entities both at least GuardSize
//	    large; with the guard family on, a co-spend never joins two
//	    entities that were both at least GuardSize large before it. Each
//	    is logged as refused instead.
//	C6. C1 holds with investigators' decisions: a decision about the past
//	    reclusters from the block it concerns, so the keyspaces 30–3A
//	    equal those of a fresh Update that had the decision from the
//	    start.
//	C7. When the state's AdjFrom is 0, every logged merge has its two
//	    adjacency keys (33) and every adjacency key names a logged merge.
//
// Entity ids, merge order and candidate decisions depend only on the
// chain: a change candidate is decided when its output is spent (the
// spend's fingerprint and peel shape are evidence), which happens at the
// same point of the chain in every run.
//
// Standalone blocks (--raw-block) get multi-input merges only: their place
// in time is unknown, so freshness and spends are too.
package cluster
