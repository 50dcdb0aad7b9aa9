// Package regtest builds a small, validly signed regtest chain that tells
// a theft, for tests against a real node (btcd accepts every block with
// submitblock) and for sleuth's follower and alerts.
//
// [Build] is deterministic in its seed. It mines ActivationHeight-1
// blocks whose coinbases pay keys it holds, with version bits that make
// btcd's regtest activate CSV, segwit and taproot by vote (btcd, unlike
// Bitcoin Core, does not activate them from genesis), and one legacy
// P2PKH spend before activation. Then the story: an exchange funds its
// hot wallet (P2WPKH and P2TR) from its cold wallet and a coinbase, a
// theft sweeps the hot wallet to the thief, the coins are split and
// peeled, one part joins a three-party equal-output CoinJoin, and a
// CoinJoin output plus a peel's change arrive at the exchange's deposit
// address; a last block moves the sweep's taproot output. [Scenario.Branch]
// is a longer competing chain from the block before the deposit, so a node
// given it reorganises the deposit away; [Scenario.Rejoin] extends the
// original chain past the branch, so the deposit is mined again.
//
// Everything a node checks is real: ECDSA signatures (RFC 6979) for P2PKH
// (legacy sighash) and P2WPKH (BIP143), Schnorr signatures for P2TR key
// path spends (BIP341 sighash, BIP86 tweak), each input verified with
// btcd's script engine before the block is mined; Merkle roots; BIP141
// witness commitments in blocks with witness transactions; BIP34 heights
// in coinbases; coinbases paying exactly subsidy plus fees and spent only
// after 100 blocks; timestamps 600 s apart from 2024-01-01 (after BIP16's
// switch-over time, which btcd enforces by block time); proof of work at
// regtest's limit (bits 0x207fffff) found by a nonce search.
//
// [Truth] is the answer key: every transaction's role, inputs and outputs
// with addresses and values, the hot wallet, the thief's addresses, and
// the deposit (txid, address, value, block). [Scenario.WriteBlocksDir]
// writes the same blocks as a Bitcoin Core blocks directory (blk00000.dat,
// genesis first) for the offline ingest. [Tamper] forges one signature of
// a block and makes the rest of it valid again (witness commitment, Merkle
// root, proof of work), so a test can show that a node checks signatures.
//
// # Owns
//
// The scenario and its keys. Keys are SHA-256 of a label, the seed and a
// counter: test keys, never for real coins.
//
// # Does not touch
//
// Any sleuth stage: like internal/sim it depends only on internal/btc and
// btcd's libraries (wire, txscript, btcec, chaincfg, address), so a bug in
// sleuth cannot shape the data that tests it. Only tests import it.
//
// # Invariants
//
//	R1. Equal seeds give byte-identical blocks.
//	R2. Every non-coinbase input verifies under txscript.StandardVerifyFlags
//	    (Build fails rather than return a block that does not).
//	R3. Best[i] has height i+1 and links to Best[i-1] (to regtest's genesis
//	    for i = 0); Branch[0] links to Best[Fork-1], and Branch is one block
//	    longer than Best's part after Fork; Rejoin[0] links to Best's last
//	    block, and Best+Rejoin is one block longer than Best[:Fork]+Branch.
//	R4. Truth.Deposit is in block Fork+1, and every input of the deposit
//	    descends from Truth.Theft.
package regtest
