// Package sim writes simulated Bitcoin chains with a complete answer key.
//
// [Run] generates a chain in Bitcoin Core's block-file format (blk?????.dat,
// optionally obfuscated with xor.dat), the answer key (truth/: the owner of
// every address, the kind of every transaction, every CoinJoin and peel
// chain, the exact provenance of every satoshi of a 2017-style exchange
// theft and a ransomware campaign) and what an investigator knows at the
// start (public/: a GraphSense TagPack and an incident description). The
// economy (miners and pools, retail wallets of several kinds, exchanges,
// a payment processor, a gambling site, a swap service, Wasabi, Whirlpool
// and JoinMarket CoinJoins, the theft and its laundering, the ransomware)
// and the real-world sources of each behaviour are documented in
// docs/SIMULATOR.md; so are the output files and their columns.
//
// Besides the protocol-accurate CoinJoins, each seed draws a collaborative
// world (collab.go): 1-3 coordinators no detector knows, each with its own
// denomination policy, round sizes, inputs and equal outputs per
// participant, fee output, script types and output ordering; BIP78
// PayJoins; and batches pooling the inputs of unrelated payers. They are
// designed from public protocol descriptions and randomisation, never from
// what a detector tests, and truth/coordinators.json records the draw.
//
// The chain is valid in everything sleuth reads: txids, Merkle roots,
// BIP141 witness commitments, BIP34 heights, every input spending an
// existing unspent output once, value conservation with realistic fees,
// coinbases paying exactly subsidy plus fees, coinbase maturity, and real
// secp256k1 public keys in every spend (signatures are random bytes of the
// right shape, and the proof of work is not valid: bits is the network's
// limit and nonces are not ground). For a chain a real node accepts, see
// the small scenario of package internal/sim/regtest.
//
// # Owns
//
//   - The simulated world: its entities, wallets and behaviours.
//   - The writer of blk files as Core lays them out: records framed by
//     magic and length, a new file before MaxFileSize is reached, finished
//     files truncated, the last one pre-allocated in chunks, small windows
//     of blocks written out of order, stale blocks off the best chain.
//   - The answer-key and public file formats (docs/SIMULATOR.md).
//
// # Does not touch
//
// The index, the ingest stages or any other sleuth package at run time: sim
// depends only on internal/btc and btcd's reference libraries (wire,
// address, chaincfg, secp256k1), so a bug elsewhere cannot leak into the
// data used to find it. Only tests, benchmarks and tools import sim.
//
// # Invariants
//
//	S1. Equal Options (Seed included) give byte-identical output files.
//	S2. Every output created on the best chain pays an address listed in
//	    truth/addresses.csv with its owner (OP_RETURN outputs excepted).
//	S3. For each case (theft, ransomware), the sats where taint starts
//	    equal the tainted sats received by other entities, plus those paid
//	    as fees, plus those the perpetrator still holds unspent; Run fails
//	    rather than write a key that does not balance.
//	S4. The best chain is the longest chain in the files; stale blocks hold
//	    a prefix of their best-chain rival's transactions and a coinbase of
//	    their own, so nothing they create is spent on the best chain.
//	S5. Every best-chain transaction whose inputs belong to two or more
//	    entities is listed in truth/coinjoins.csv.
//
// # Concurrency
//
// One goroutine builds blocks; a second derives keys ahead of it, a third
// writes blk files and a fourth the answer key. Each output file is written
// by one goroutine in the order the generator produced its rows, so the
// output does not depend on scheduling.
package sim
