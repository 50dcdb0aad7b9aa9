// Package eval measures sleuth's heuristics against a simulator answer key:
// address clustering, change detection and CoinJoin detection.
//
// # Owns
//
//   - LoadTruth: reading the answer key a simulation writes to DIR/truth/
//     (entities.csv, addresses.csv, txs.csv, coinjoins.csv; docs/SIMULATOR.md
//     lists their columns). Columns are found by header name, rows are
//     streamed, and every error is a *LoadError naming file, line and column.
//   - Clusters, Change, CoinJoins: the metrics below, and their reports,
//     which render as Markdown tables (for docs/ACCURACY.md) and marshal to
//     JSON with snake_case names.
//
// # Does not touch
//
// The store and the clustering itself. Callers read the index and the
// cluster forest, map address ids to the key's entities (Truth.EntityOf)
// and hand plain slices and maps in. eval imports neither Pebble nor
// internal/sim (internal/lint enforces both): it reads the key's CSV files,
// so it judges any run that left an answer key behind.
//
// # Clustering metrics
//
// Only addresses the key knows (Clustering.Truth >= 0) count; the others are
// members of clusters but are invisible to every count except
// FalseMerge.Size. Let the truth-known addresses form the set K, let C(a)
// be the predicted cluster of a and E(a) its truth entity. Over unordered
// pairs {a, b} of distinct addresses of K:
//
//   - predicted pairs: C(a) = C(b); per cluster with k known members,
//     k(k−1)/2;
//   - truth pairs: E(a) = E(b); per entity with t known addresses, t(t−1)/2;
//   - true pairs: both; per (cluster, entity) with c shared members,
//     c(c−1)/2;
//   - precision = true pairs / predicted pairs; recall = true pairs / truth
//     pairs; F1 = 2PR/(P+R). A ratio with nothing below the line is 1
//     (nothing claimed, nothing wrong; nothing to find, nothing missed), and
//     F1 is 0 when P+R is 0;
//   - entities: entities with at least one address in K; clusters:
//     predicted clusters with at least one member in K (singletons count);
//   - an entity is split when its addresses in K lie in more than one
//     cluster; split pieces sums, over split entities, the clusters each
//     lies in;
//   - a cluster is falsely merged when its members in K belong to more than
//     one entity; its false pairs are its predicted pairs minus its true
//     pairs. The largest false merge is the one with the most false pairs
//     (ties: more known members, then the smaller label), with its
//     TopEntities largest entities.
//
// # Heuristic contribution
//
// Clusters replays Clustering.Merges in order from singletons with its own
// union-find, which keeps for each set the count of its known members per
// entity. A merge of ids a and b whose sets S1 and S2 differ adds, over
// known members,
//
//	pairs       = |S1|·|S2|
//	false pairs = |S1|·|S2| − Σ_e |S1 ∩ e|·|S2 ∩ e|
//
// and is wrong when it adds at least one false pair. A merge of ids already
// together is redundant and adds nothing. Each pair of the final partition
// is added by exactly one merge, so over all heuristics the pairs sum to the
// predicted pairs and the false pairs to predicted − true pairs. The credit
// depends on the order: the heuristic that joins two sets first gets every
// pair between them.
//
// Replaying is also a check of the caller: the replayed partition must be
// exactly the partition in Pred (every set one label, no label on two sets),
// or Clusters returns an error wrapping ErrInconsistent. The pairwise counts
// are computed on the replayed sets, which the check proves equal to Pred's.
//
// # Change and CoinJoin metrics
//
// Change scores a map txid → predicted change vout. A prediction is correct
// when the key's change_vout is that vout, wrong_vout when the key has
// change at another vout, no_change when the key says the transaction has
// no change; transactions not in the key (unknown_tx) are not scored.
// Precision = correct / scored predictions; coverage = correct /
// transactions with change in the key. Both are also given per transaction
// kind.
//
// CoinJoins scores a map txid → detector kind. A detection is found when the
// txid is in coinjoins.csv (whatever kind the detector named; the report
// lists which), else a false positive, counted by the detector's kind and by
// the key's kind of the transaction. Precision = found / detected; recall =
// found / CoinJoins in the key, also per key kind.
package eval
