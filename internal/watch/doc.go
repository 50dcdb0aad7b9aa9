// Package watch owns watchlists: named lists of addresses, entities and
// rules, compiled into a Set that matches a block's transactions by dense
// address id and turns hits into alerts.
//
// # Owns
//
//   - Prefixes 0x68–0x6B of index.StageAlert (docs/format/index.md): list
//     records, one empty key per watched (list, address key), and a
//     version every change increments. Store is the interface (its
//     conformance suite is watchtest.Run); DB keeps it in the index's
//     store, pgstore.Watch in PostgreSQL for several servers (issue 16).
//   - Snapshot: an in-memory copy of any Store (keys of a list in one
//     sorted byte slice, 25 bytes per P2WPKH address) that the alert
//     stage matches against under sleuth serve --shared (Stage.UseStore).
//     Follow polls the Store's Version every 250 ms and reloads the lists
//     whose version changed (all of them unless the Store is a
//     ListVersioner); while the Store cannot be reached, the Snapshot
//     keeps the last copy, so matching goes on and a list changed during
//     the outage is picked up once it is back.
//   - Set: 8 bytes per watched address in two sorted []uint64 (address id
//     or, for an address not yet on chain, a 48-bit key fingerprint, with
//     the list in the low 16 bits). 10 million addresses take 80 MB
//     (docs/BENCHMARKS.md). MatchTx reads coinjoin.Tx views (dense ids) and
//     allocates nothing.
//   - Rules: any activity, value ≥ threshold, exposure to a category ≥ a
//     share or value, any sanctioned counterparty; each in, out or both.
//     Exposure and sanction rules ask an Assessor (RiskAssessor reads the
//     risk stage) for hits only.
//   - The API's view of the store (internal/api/watchlists.go): List.Validate
//     (what Create and Update accept), AddressPage and CountAddresses. A
//     Set is compiled once and does not see later changes: the server calls
//     its WatchlistsChanged hook after each change it commits, and whoever
//     holds the Set (the per-block alert stage) compiles a new one before
//     the next block.
//
// # Does not touch
//
// Index keys, the alert store's records (Scan calls alert.Store.Create,
// Stage goes through alert.BlockWriter), the risk stage's records (read
// through risk.Screener).
//
// # Invariants
//
//	W1. seen and unseen are sorted; an entry's list index is < len(Lists).
//	W2. Every address with an id below the watermark was resolved against
//	    the unseen fingerprints (at Compile through the store, after it by
//	    MatchTx); a fingerprint match is confirmed with Store.Has, so a
//	    collision never raises an alert.
//	W3. Blocks must be matched in chain order past the watermark (the
//	    follower's order); older blocks can be matched in any order.
//
// # Not yet
//
// Entities are expanded to their members at Compile: an entity that grows
// later is picked up at the next Compile (in the alert stage: when a list
// changes or a reorg happens, not when clustering grows the entity). The lookup is a binary search
// (about 1.5 µs for a 4-address transaction against 10M addresses); a
// bucketed index would cut the cache misses.
package watch
