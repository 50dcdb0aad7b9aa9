// Package pgstore keeps sleuth's shared, editable state in PostgreSQL, so
// that several sleuth servers (each with its own chain index) share one
// truth (issue 16). It implements the stores' interfaces (casefile.Store,
// apikey.Store, watch.Store, alert.Store with the alert stage's
// alert.SharedBlocks, and labelsync.Log: the ordered log of label edits
// every server applies to its own label store) and passes the same
// conformance suites as the embedded stores (casefiletest, apikeytest,
// watchtest, alerttest.RunStore, labelsynctest).
//
// # Owns
//
//   - The schema, as versioned migrations embedded from migrations/*.sql
//     (NNN_name.sql), applied in order on Open inside one transaction that
//     holds an advisory lock, so servers starting together migrate once;
//     schema_migrations records each version with its name and time.
//   - The PostgreSQL forms of the stores (Cases, LabelLog, APIKeys,
//     Watch; Alerts: alerts, review status and notes, webhook endpoints,
//     the event log and the outbox with its claims).
//   - label_log: the label edits (labelsync.Entry) by seq, an import's
//     file bytes beside its edit; appended under an advisory lock, with
//     NOTIFY sleuth_label_log, which LabelLog.Wait LISTENs for.
//   - APIKeys (api_keys, ids
//     from a sequence, a version row bumped with every create and revoke,
//     which each server's apikey.Set polls); Watch (watch_lists with a
//     version per list, watch_addresses keyed (list, address key bytea),
//     added or removed 64 Ki keys a statement, each batch one transaction
//     with the version bumps; watch_version for all).
//   - Telling an unreachable server from an answer: Watch and Cases wrap
//     connection failures (refused, reset, server shutting down: SQLSTATE
//     08xxx, 57Pxx) in watch.ErrUnavailable and casefile.ErrUnavailable,
//     which the API answers with 503 and Retry-After.
//   - Failure tests: PostgreSQL cut away through a TCP proxy
//     (pgtest.Proxy) and restarted for real mid-run (pgtest.Restart,
//     restart_test.go): writes answer 503 with Retry-After, screening
//     keeps answering, nothing acknowledged is lost.
//   - Running a statement again after a lost connection, when it cannot
//     have taken effect (G10, retry.go): the first statement after
//     PostgreSQL came back meets a pooled connection the outage closed.
//
// # Does not touch
//
// The chain index and everything derived from it (each server keeps its
// own, from the same blocks); exporting chain tables for SQL analysis is
// a separate command.
//
// # Invariants
//
//	G1. A migration is applied at most once and never edited after it
//	    shipped: a store whose schema_migrations holds a version this
//	    binary does not know (a newer sleuth migrated it) is refused.
//	G2. Each store edit runs in one transaction with its audit record
//	    (casefile C1), with the row locked (SELECT … FOR UPDATE), so two
//	    servers editing one case serialise instead of losing an edit.
//	G4. label_log is append-only and its seq has no gaps, and entries
//	    commit in seq order: an append takes max(seq)+1 under an advisory
//	    lock held to its commit, so a reader that saw n never later finds
//	    a new entry below n.
//	G3. Plain PostgreSQL 15 SQL (no extensions), so that Citus can
//	    distribute the tables later.
//	G5. Every change of keys or watchlists bumps its version row in the
//	    same transaction (and a watchlist's own version), so a server that
//	    saw a version has loaded every change up to it.
//	G6. An alert's natural key (block hash, rule, txid, address) is
//	    UNIQUE; the alert stage inserts with ON CONFLICT DO NOTHING and
//	    writes an event and outbox rows only for the rows it inserted, in
//	    the same transaction, so servers matching one block store its
//	    alerts once (alert A7). Alert ids come from PostgreSQL (the same
//	    on every server) and may have gaps: an insert that meets a stored
//	    alert has used up its sequence number.
//	G7. Every transaction that writes alert events takes the advisory
//	    lock eventLock before its first write and holds it to its commit:
//	    event sequence numbers and alert ids become visible in the order
//	    they were assigned, so a reader resuming after seq n (the SSE
//	    stream's Last-Event-ID, a List cursor) never misses one committed
//	    later with a smaller number. The alert stage's transaction begins
//	    only at its first write, and a block whose flags need no change
//	    takes no lock.
//	G8. Due claims due, unclaimed (or lease-expired) deliveries with
//	    UPDATE … FROM (SELECT … FOR UPDATE SKIP LOCKED), setting
//	    claimed_by and lease_until from PostgreSQL's clock; Record
//	    changes a delivery only while this server holds its claim
//	    (ErrLeaseLost), so a server whose lease ended never overwrites the
//	    result of the one that took over (alert A8).
//	G9. A failure to reach PostgreSQL is wrapped in alert.ErrUnavailable:
//	    the alert routes answer 503 with Retry-After, the alert stage
//	    keeps its progress and runs again at the next ingest, the worker
//	    tries again at its next poll, and screening, which reads only the
//	    server's own index, keeps answering.
//	G10. A statement is run a second time, on a fresh connection (the
//	    pool emptied first: an outage closes every pooled connection),
//	    only when its first run failed because the connection was lost
//	    and could not have taken effect: a read; a transaction that had
//	    not sent its COMMIT (PostgreSQL rolls back a transaction whose
//	    connection ends); a COMMIT that was never sent
//	    (pgconn.SafeToRetry). A COMMIT lost after it was sent may have
//	    committed and is never run again (LabelLog.Append says so:
//	    labelsync.ErrOutcomeUnknown); single writing statements run
//	    in a transaction of their own (DB.exec) so that they fall under
//	    the second case. A refused connect is not retried at once (the
//	    server is down), and a read that handed rows to its caller
//	    (Watch.Addresses) is not run again from the start.
package pgstore
