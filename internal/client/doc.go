// Package client talks to a running sleuth serve over its HTTP API
// (internal/api, docs/API.md) and answers with the view types the API
// encodes (internal/query, index, cluster, label, risk), so that the CLI
// prints a server's answer with the printers it uses for its own. The few
// envelopes internal/api defines (a page, a problem, the exposure answer)
// are mirrored here: only cmd/sleuth imports the server package.
//
// # Owns
//
//   - Connecting to the server a store's SERVER file names (the caller reads
//     it with internal/api's ReadServerInfo: only cmd/sleuth imports the
//     server): its PID must be alive and /healthz must answer (Connect,
//     ErrStale).
//   - The requests: one context and one timeout per call (Options.Timeout),
//     the API key (X-API-Key), responses read up to Options.MaxResponse.
//   - Screening as the CLI does it (screen.go): the basis from GET
//     /v1/status, batch rows with bad rows answered as risk.InvalidRow,
//     txids through GET /v1/exposure and addresses through POST
//     /v1/screen, and a malformed query's Invalid report rebuilt from the
//     server's 400.
//   - Errors: an application/problem+json answer becomes an *Error with its
//     status, title, detail, field and request id; Unwrap maps 404 to
//     index.ErrNotFound, 422 (two addresses apart) to cluster.ErrNotJoined,
//     400 to ErrBadRequest and 401/403 to ErrUnauthorized.
//
// # Does not touch
//
// The store: a client never opens it. It does not add routes or views; it
// decodes what internal/api encodes, so a view's JSON must round-trip
// (every field a printer uses is in the JSON).
//
// # Invariants
//
//   - C1: no call outlives its context or Options.Timeout, and none reads
//     more than Options.MaxResponse bytes of a response.
//   - C2: any answer that is not a 2xx with JSON is an error naming the
//     method, the route and the status, never a zero value.
//   - C3: Screen sends at most MaxBatch addresses per request (the
//     server's bound) and returns one report per address, in order.
package client
