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
//   - The writer guard of one process and the readers' views: a
//     [Pipeline] serialises writers (Ingest, UpdateClusters,
//     AttributionChanged, ClustersChanged, Write) and, after each, publishes
//     a read-only view of the store ([index.DB.View]) that
//     [Pipeline.Read] hands to readers; it closes a view when it is no
//     longer current and its last reader has left.
//   - Events to listeners: block connected or disconnected (height, hash,
//     and for a connected block its transaction range), stage done (with
//     its duration), ingest progress and alerts stored (AlertsStored,
//     after the alert stage committed them: a webhook worker wakes on it).
//   - What the stages keep in memory between blocks: the clustering's
//     forest (cluster.ForestCache), exposure's forests
//     (cluster.SplitCache) and labels (risk.LabelCache).
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
// A writer holds the guard exclusively for the whole of one update, from
// the first stage to the last: an Ingest call holds it from the index
// ingest through risk.Update. When it finishes (successfully or not) the
// pipeline takes a view of the store as the writer left it and makes it
// current. A function passed to [Pipeline.Read] runs on the current view:
// a Pebble snapshot plus a copy of the index's state, so it sees the store
// between two updates: the index, the clustering, the labels' entity index
// and the exposure all at the state the last completed update left them
// in (each stage at the same tip, when the last update ran all stages),
// however long it reads and whatever writers do meanwhile. It never sees a
// batch of an update in progress, nor the index at one tip and exposure at
// an older one because an update was half done. Readers never wait for a
// writer: while an update runs they read the state before it (one update
// old); the next Read after the update sees the new one. The only wait is
// the first Read of a Pipeline, which takes the first view between two
// writers (a command that never reads never holds a snapshot).
//
// A view pins the store's old versions until it is closed, so a reader
// must not keep one: the view is closed when it is no longer current and
// its last reader has returned (a reference count), or at the latest when
// the store is closed. Views refuse writes (index.ErrView).
//
// Options.LockedReads restores the old guard (readers share the writers'
// lock and wait for them); it exists to measure what views gain.
//
// # Invariants
//
//   - P1: at most one writer runs at a time; a reader never sees its
//     work until it has finished (and, under LockedReads, no reader runs
//     while it does).
//   - P2: tips seen by successive readers never go down except through a
//     reorg, which a BlockDisconnected event announces first.
//   - P3: Generation increases by one after every writer, so a cache of
//     read results (the server's screeners) knows when it is stale.
//   - P4: listeners are called with the guard held exclusively, after the
//     stage they report on has committed (before readers can see it); a
//     listener must not call back into the Pipeline.
//   - P5: once the first Read has run, every writer publishes a view when
//     it ends, after counting its generation; inside one Read every stage
//     reads that one view; and every view is closed exactly once, when it
//     is no longer current and no reader holds it (or when the store
//     closes), so none is leaked: once every reader has returned,
//     index.DB.OpenViews is at most 1 (the current view).
package pipeline
