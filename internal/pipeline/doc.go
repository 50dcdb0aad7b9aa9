// Package pipeline owns the stage sequence that keeps a store current:
// index ingest → cluster.Update → label.Refresh → risk.Update → the alert
// stage (watch.Stage: match the new blocks, store alerts and outbox), and the
// shorter sequences that follow an attribution change (labels, incidents:
// label.Refresh → risk.Update) or an entity change (an investigator's
// merge or split: label.Refresh → risk.Update). Every command and the
// server (internal/api) go through it instead of wiring the stages by hand.
//
// # Owns
//
//   - The order of the stages and which of them run after which change.
//   - The writer/reader guard of one process: a [Pipeline] serialises
//     writers (Ingest, UpdateClusters, AttributionChanged, ClustersChanged,
//     Write) against readers ([Pipeline.Read]).
//   - Events to listeners: block connected or disconnected (height, hash,
//     and for a connected block its transaction range), stage done (with
//     its duration), ingest progress and alerts stored (AlertsStored,
//     after the alert stage committed them: a webhook worker wakes on it).
//   - The process's one alert store (AlertStore): the alert stage, the
//     server's routes and the webhook worker share its lock.
//
// # Does not touch
//
// Any keyspace: each stage reads and writes its own through its package.
// It does not lock between processes (the store directory's lock is
// Pebble's); it guards the readers and writers of one process.
//
// # Consistency a reader gets
//
// A writer holds the guard exclusively for the whole of one update,
// from the first stage to the last: an Ingest call holds it from the index
// ingest through risk.Update. A function passed to [Pipeline.Read] runs
// with the guard shared, so it sees the store between two updates: the
// index, the clustering, the labels' entity index and the exposure all at
// the state the last completed update left them in (each stage at the
// same tip, when the last update ran all stages). It never sees a batch
// of an update in progress, nor the index at one tip and exposure at an
// older one because an update was half done. Readers wait while an update
// runs (an initial ingest of a long chain holds them for its length;
// polling ingests of a few new blocks hold them for about a second).
//
// # Invariants
//
//   - P1: at most one writer runs at a time; no reader runs while it does.
//   - P2: tips seen by successive readers never go down except through a
//     reorg, which a BlockDisconnected event announces first.
//   - P3: Generation increases by one after every writer, so a cache of
//     read results (the server's screeners) knows when it is stale.
//   - P4: listeners are called with the guard held exclusively, after the
//     stage they report on has committed; a listener must not call back
//     into the Pipeline.
package pipeline
