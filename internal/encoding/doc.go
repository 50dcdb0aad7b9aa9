// Package encoding holds the append-style writers and sticky-error readers
// that every stored key and value in sleuth is built with, after Prometheus
// TSDB's tsdb/encoding.
//
// Key parts are big-endian so that byte order is numeric order; values use
// uvarints. A Decbuf checks every read against the remaining bytes and keeps
// the first error, so a decoder reads a whole record and checks Err() once.
//
// # Owns
//
// Encbuf, Decbuf and the sentinels ErrInvalidSize and ErrNonCanonical.
//
// # Does not touch
//
// What the bytes mean: each stage documents its own layouts (docs/format/).
package encoding
