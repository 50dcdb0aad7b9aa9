// Package btc holds the vocabulary every sleuth stage shares: hashes, network
// parameters, dense numeric ids (transaction numbers, output and input
// references, address ids) and amounts.
//
// It plays the role of Pebble's internal/base: small, dependency-free types
// with no I/O. It is not a grab-bag: a type belongs here only when two or more
// stages must agree on its meaning and encoding.
//
// # Owns
//
//   - Hash: a 32-byte double-SHA256 in internal (little-endian) byte order,
//     printed and parsed in the reversed hex form block explorers show.
//   - Network: magic bytes, genesis hash, address prefixes and bech32 HRP for
//     mainnet, testnet3, testnet4, signet and regtest.
//   - TxNum, OutRef, InRef, AddrID: dense ids assigned in chain order.
//
// # Does not touch
//
// Files, the store, scripts or address strings (see package address).
//
// # Invariants
//
//	B1. TxNum n is the n-th transaction of the best chain, counting from the
//	    genesis coinbase as 0. Ids are never reused while the transaction is on
//	    the best chain.
//	B2. OutRef and InRef pack (TxNum, index) as TxNum<<24 | index, so they sort
//	    in chain order and decode without a lookup. A transaction cannot have
//	    2^24 inputs or outputs under the 4 MWU block weight limit.
//	B3. AddrID n is the n-th distinct address (script key) first seen on the
//	    best chain, counting from 0.
package btc
