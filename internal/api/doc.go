// Package api is sleuth's HTTP API (sleuth serve): the routes of
// openapi.json on a standard library ServeMux, answered from the store a
// pipeline.Pipeline owns, with drop-in routes for Chainalysis's sanctions
// API and TRM's sanctions screening, Prometheus metrics, health checks and
// structured access logs. Run serves it, polls a blocks directory through
// the pipeline and shuts down gracefully.
//
// # Owns
//
//   - The routes, their JSON shapes (openapi.json, embedded) and the
//     mapping of errors to application/problem+json answers.
//   - The server's lifetime: the listener, the SERVER file in the store
//     directory (URL and PID, removed on shutdown), the polling ingest.
//   - Its metrics registry (a private prometheus.Registry).
//
// # Does not touch
//
// Any keyspace: every read goes through internal/query, index, cluster,
// label and risk inside pipeline.Read, every write through the pipeline.
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
//   - A4: every registered route is in openapi.json, and the handler tests'
//     responses validate against its schemas (api_test.go).
//   - A5: without API keys (not implemented yet) Run refuses any listen
//     address that is not loopback.
package api
