// Package alert owns alerts, their review, and their delivery: the alert
// records, the webhook endpoints, the event log and the persistent outbox,
// Standard Webhooks 1.0 signing and verification, the delivery worker and
// the server-sent-events encoder.
//
// # Owns
//
//   - Prefixes 0x60–0x67 of index.StageAlert (package watch owns 0x68–0x6F):
//     docs/format/index.md draws them. Store is the interface; DB keeps it in
//     the index's Pebble store, and a PostgreSQL store can implement it later.
//   - Events (alert.created, alert.updated, alert.invalidated,
//     alert.revalidated): each change to an alert writes the alert, its event
//     and one outbox entry per enabled endpoint in one StageBatch, so an
//     alert is never stored without its deliveries nor delivered without
//     being stored.
//   - Worker: signs (webhook-id = "evt_<seq>", the same on every retry;
//     webhook-timestamp = the attempt's time), POSTs with bounded
//     concurrency, retries on DefaultSchedule (about 75 hours), disables an
//     endpoint that answers 410 Gone, refuses private and link-local
//     destinations at dial time and loopback unless AllowLoopback; polls
//     the outbox every second and is woken at once by Wake (sleuth serve
//     calls it on the pipeline's AlertsStored event).
//   - BlockWriter: the alert stage's atomic write (A5, A6).
//   - Review notes with their author (ReviewBy: the API passes its key's
//     name), and StreamWith: the SSE loop with heartbeats and a done
//     channel that the server closes on shutdown.
//
// # Does not touch
//
// Index keys, other stages' keyspaces, the HTTP server (the server mounts
// Stream; the pipeline's alert stage writes through BlockWriter).
//
// # Invariants
//
//	A1. Every event has one outbox entry per endpoint enabled when it was
//	    written, committed in the same batch as the event and its alert.
//	A2. A delivery becomes Delivered only after a 2xx answer; a worker
//	    stopped mid-request leaves it Pending (at least once).
//	A3. webhook-id depends only on the event, so every retry and every
//	    restart sends the same id.
//	A4. Invalidate and Revalidate emit an event only for alerts whose flag
//	    changes, so calling them twice sends nothing more.
//	A5. The alert stage (watch.Stage through BlockWriter) writes its
//	    progress (the last block matched, and the hashes of the last
//	    KeepBlocks blocks matched) in the same batch as the alerts, events
//	    and outbox entries of the blocks up to it. The index's own block
//	    commit is a separate, earlier batch: "the outbox is committed
//	    atomically with the block" means with the alert stage's record of
//	    that block, so a crash between the index commit and the alert
//	    stage leaves the progress behind and the next run matches exactly
//	    the missing blocks (no alert lost, none stored twice, one event and
//	    so one webhook-id each).
//	A6. A block connected again after a reorg gets its stored alerts
//	    revalidated; it is not matched a second time.
//
// # Not yet
//
// Due scans the whole outbox; asymmetric v1a signatures and the
// Stripe-compatible header are not implemented.
package alert
