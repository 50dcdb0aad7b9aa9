// Package alert owns alerts, their review, and their delivery: the alert
// records, the webhook endpoints, the event log and the persistent outbox,
// Standard Webhooks 1.0 signing and verification, the delivery worker and
// the server-sent-events encoder.
//
// # Owns
//
//   - Prefixes 0x60–0x65 of index.StageAlert (package watch owns 0x68–0x6F):
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
//     destinations at dial time and loopback unless AllowLoopback.
//   - Review notes with their author (ReviewBy: the API passes its key's
//     name), and StreamWith: the SSE loop with heartbeats and a done
//     channel that the server closes on shutdown.
//
// # Does not touch
//
// Index keys, other stages' keyspaces, the HTTP server (the server mounts
// Stream; the follower calls Create, Invalidate and Revalidate).
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
//
// # Not yet
//
// The outbox is written in the alert store's own batch, not the index's
// ingest batch: the follower must call Create after the block commits (and
// a crash between the two loses the block's alerts until a rescan with
// `sleuth alerts scan`). Due scans the whole outbox; asymmetric v1a
// signatures and the Stripe-compatible header are not implemented.
package alert
