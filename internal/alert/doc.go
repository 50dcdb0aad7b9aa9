// Package alert owns alerts, their review, and their delivery: the alert
// records, the webhook endpoints, the event log and the persistent outbox,
// Standard Webhooks 1.0 signing and verification, the delivery worker and
// the server-sent-events encoder.
//
// # Owns
//
//   - Prefixes 0x60–0x67 of index.StageAlert (package watch owns 0x68–0x6F):
//     docs/format/index.md draws them. Store is the interface; DB keeps it in
//     the index's Pebble store, pgstore.Alerts in PostgreSQL for several
//     servers (sleuth serve --shared). alerttest.RunStore is the
//     conformance suite both pass; the server, the worker and the pipeline
//     use only the interface (pipeline.AlertStore).
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
//   - BlockWriter: the alert stage's write (A5–A7), through a BlockStore: DB
//     alone, or Split, which keeps the stage's progress in the server's own
//     index store and sends the alerts, events and outbox to a shared store
//     (SharedBlocks, whose BlockTx is one PostgreSQL transaction).
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
//	A7. With a shared store (Split), what is atomic is split in two:
//	    (a) the alerts of the blocks since the last commit, their events
//	    and their outbox entries, in one PostgreSQL transaction; (b) the
//	    stage's progress, in a Pebble batch of the server's own store,
//	    written only after (a) committed. A crash between (a) and (b)
//	    leaves the progress behind; the next run matches those blocks
//	    again, finds their alerts stored (BlockTx.BlockHasAlerts) and
//	    revalidates them, which changes nothing and emits nothing. Several
//	    servers match every block: an alert has a natural key (block hash,
//	    rule, txid, address), a second server's insert of it does nothing,
//	    and events and outbox entries are written only for alerts newly
//	    inserted, so each alert is stored once with one alert.created
//	    event (pgstore G6–G7). Invalidate and Revalidate from two servers
//	    change each alert's flag once (A4, under row locks).
//	A8. With a shared store, Due claims what it returns for a lease, and
//	    Record releases the claim (only its holder may), so workers on
//	    several servers never attempt one delivery at once: each event is
//	    delivered exactly once unless a server dies between a POST and its
//	    Record; then another server sends it again after the lease, with
//	    the same webhook-id (A2, A3: at least once).
//
// # Not yet
//
// The embedded DB's Due scans the whole outbox; asymmetric v1a
// signatures and the Stripe-compatible header are not implemented. Two
// servers whose best chains differ for a while (one saw a reorg first)
// may invalidate and revalidate a block's alerts in turn until they
// agree; the last event of each alert is then the one of the common
// chain. The CLI's alert and webhook commands read the embedded store
// only (against a shared store, use the server's routes).
package alert
