// Package api is sleuth's HTTP API (sleuth serve): the routes of
// openapi.json on a standard library ServeMux, answered from the store a
// pipeline.Pipeline owns, with drop-in routes for Chainalysis's sanctions
// API and TRM's sanctions screening, Prometheus metrics, health checks and
// structured access logs. Run serves it, follows a node or a blocks
// directory through the pipeline (follow.PipelineStore), runs the webhook
// worker over the pipeline's alert store, and shuts down gracefully.
//
// # Owns
//
//   - The routes, their JSON shapes (openapi.json, embedded) and the
//     mapping of errors to application/problem+json answers.
//   - The HTTP face of watchlists, alerts and webhooks (issue 13):
//     watchlists.go, alerts.go (with the SSE stream), webhooks.go. The
//     stores are package watch's and alert's; the server only validates,
//     pages and shows. WatchlistsChanged tells the per-block alert stage to
//     recompile its watch.Set after a change.
//   - The case routes (cases.go) and the case report, as HTML
//     (html/template) or as PDF (casereport_pdf.go, laid out with package
//     pdf): the same sections, amounts and txids in both.
//   - The server's lifetime: the listener, the SERVER file in the store
//     directory (URL and PID, removed on shutdown), the follower and the
//     webhook worker (both stopped and waited for before Run returns).
//   - Readiness: /readyz is false until the follower's first round caught
//     up, then whenever a round ends behind the node (lag > 0) or fails
//     because the node is unavailable.
//   - Its metrics registry (a private prometheus.Registry).
//
// # Does not touch
//
// Any keyspace: every read goes through internal/query, index, cluster,
// label and risk inside pipeline.Read, every write through the pipeline;
// label writes through a labelsync.Editor (Options.Labels: the embedded
// store's, or the shared log's with sleuth serve --shared).
//
// # Invariants
//
//   - A1: bad input (path, query, body, header) gets a 4xx problem naming
//     the field; never a 5xx, never a panic. A 5xx means a fault of the
//     server or the store, and is logged with the request id.
//   - A2: every response carries X-Request-Id (the client's, when it sent a
//     sane one; else a fresh one), and every problem body repeats it.
//   - A3: a handler reads the store only inside pipeline.Read, so one
//     answer sees one state between two updates, through a view that never
//     waits for the ingest (pipeline doc.go, P5); a result cached across
//     requests (screeners, status) is keyed on that state (stateKey).
//   - A6: a write (labels added, removed, imported) runs its edit through
//     Options.Labels (labelsync: in pipeline.Write, then
//     pipeline.AttributionChanged even when the edit failed part way; with
//     a shared log, after appending it there); its answer carries the
//     generation after both, so every later answer (screens included)
//     sees it. The shared log unreachable is a 503 with Retry-After.
//   - A7: a trace's work is bounded (TraceLimits): sources, their outputs,
//     hops, transactions, time, traces at once.
//   - A4: every registered route is in openapi.json, and the handler tests'
//     responses validate against its schemas (api_test.go).
//   - A5: without API keys Run refuses any listen address that is not
//     loopback; webhook endpoints may point at loopback only when the
//     server listens on loopback (Options.LoopbackWebhooks).
//   - A8: a change to watchlists, or to alerts or webhook endpoints in the
//     embedded store, runs inside pipeline.Write, so it never races the
//     ingest writer or the alert stage; with a shared alert store
//     (pipeline.Options.Alerts, PostgreSQL) alert and endpoint changes
//     run outside it, so a slow or unreachable PostgreSQL never holds up
//     the chain, and its failures answer 503 with Retry-After
//     (alert.ErrUnavailable). Alert routes read pipeline.AlertStore; the
//     alert stream reads events in batches and writes them between reads,
//     so a slow client never holds a read open.
//   - A9: GET /v1/alerts/stream ends when its client goes, when a write
//     stalls past the heartbeat and 30 s, or when CloseStreams runs (Run
//     registers it with http.Server.RegisterOnShutdown), so Shutdown never
//     waits on an open stream.
package api
