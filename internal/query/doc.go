// Package query holds the composed views that both the CLI (cmd/sleuth)
// and the HTTP API (internal/api) answer with: an address with its entity,
// a transaction with its CoinJoin verdict, an entity's members page by
// page, the merges that explain why two addresses are one entity, the
// labels of an address or entity, and the store's status (each stage's
// height, the label sources, and what screening answers stand on). It
// also composes a trace (TraceRequest, Trace): checking its parameters,
// resolving its sources (outputs, txids, addresses, entities, incidents by
// id or name) and the height window, and tracing from the store's
// labelled services, for `sleuth trace` and POST /v1/trace alike.
//
// Reader is the set of those views a read command needs; Local answers it
// from an open store, and internal/client's Client from the sleuth serve
// that owns the store, so the CLI prints either with the same printers.
//
// # Owns
//
// The shape of those views (their JSON is the API's and `--json`'s). A
// view's JSON must carry every field its printers use: a client decodes
// it to print it.
//
// # Does not touch
//
// Any keyspace directly: it reads through index, cluster, label and risk's
// exported query functions, and writes nothing.
//
// # Invariants
//
//   - Q1: a view of an unclustered store still answers (entity null, no
//     CoinJoin verdict), as the CLI always has.
//   - Q2: the callers hold what consistency they need (the server reads
//     inside pipeline.Read); query itself takes no lock.
package query
