// Package simtest holds helpers for tests that need a simulated chain:
// writing one into a test's temporary directory, splitting it into its
// block records in the order the simulator wrote them, appending records
// to a blk file, reading the answer key's CSV files as rows and the
// public incident report's theft transactions.
//
// # Owns
//
//   - [Chain]: a simulated chain written by [sim.Run] into t.TempDir().
//   - [Blocks]: the chain's block records (magic, length and block) with
//     their heights and staleness, from truth/blocks.csv, in write order.
//   - [AppendRecords]: block records appended to dir/blk00000.dat.
//   - [ReadCSV]: the rows of an answer-key CSV as maps keyed by column.
//   - [TheftTxIDs]: the theft's txids from the public incident report.
//
// # Rules
//
// Only _test.go files may import simtest; the pipeline, the command and
// the simulator itself must not (internal/lint checks every non-test
// import). It depends on the simulator and the standard library only, so
// that the tests of any package, the index's included, can use it.
//
// # Does not touch
//
// The store: opening, ingesting and checking an index stay with each
// package's own test helpers.
package simtest
