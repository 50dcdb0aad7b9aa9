// Package coinjoin recognises CoinJoin transactions: the generic
// equal-output rule of BlockSci and GraphSense, and the protocols of
// Wasabi 1.x, Wasabi 2.0, Samourai Whirlpool and JoinMarket.
//
// It also defines Tx, the id-and-value view of a transaction that every
// heuristic (clustering, tracing) reads.
//
// # Owns
//
// The detection rules and their documentation (each rule cites its source).
//
// # Rules
//
// Detect (detect.go) applies, most specific first:
//
//   - Whirlpool: 5 to 8 inputs and as many P2WPKH outputs, all at one pool
//     denomination (0.001, 0.01, 0.05 or 0.5 BTC); inputs are premix
//     (denomination plus at most 0.0011 BTC) or postmix (exactly it).
//   - Wasabi 2.0: at least 20 P2WPKH/P2TR inputs, inputs and outputs
//     ordered largest first, more than 80% of outputs at WalletWasabi's
//     standard denominations.
//   - Wasabi 1.x: at least 10 P2WPKH outputs at a base denomination within
//     0.1 ± 0.02 BTC, native segwit only, coordinator fee and change.
//   - JoinMarket: n >= 3 equal outputs (the only repeated value) and 2n or
//     2n-1 outputs in all, n inputs and n input addresses at least.
//   - Generic: BlockSci's isCoinjoin as GraphSense ports it.
//
// DetectWith adds the general tests of value structure (collaborative.go),
// which tie themselves to no coordinator and no participant-count formula:
//
//   - EqualOutputs: a value of at least 5,000 sats paid to two or more
//     distinct addresses, repeated-value outputs at least a third of all,
//     inputs from two or more addresses;
//   - Denominations: three or more outputs at binary or ternary
//     denominations (WabiSabi's schedule without its decimal series), at
//     least a third of all.
//
// InputRules.Judge holds the tests of input structure, which need what
// the clustering knows before the transaction: inputs from more than a
// few established entities (InputEntities), from more than two script
// families (ScriptMix), or a merge of two large entities (Guard). Every
// family (Family) can be switched off, so that evaluation can treat each
// as a shape nobody catalogued.
//
// Each rule's comment cites its sources (BlockSci, GraphSense, Dumplings,
// WalletWasabi, Samourai and JoinMarket descriptions, Stockinger et al.
// 2021). An unknown input value or script type neither confirms nor
// refutes a rule; an input of unknown address counts as an address of its
// own.
//
// # Invariants
//
//	C1. A verdict other than NotCoinJoin has Participants >= 2 outputs of
//	    exactly Denomination (Denominations: Participants >= 3 outputs on
//	    the schedule, Denomination among them); NotCoinJoin is the zero
//	    Verdict.
//	C2. Detect and DetectWith allocate nothing, does not modify its argument and keeps
//	    no reference to it.
//
// # Does not touch
//
// The store, address strings, clustering decisions: callers decide what a
// verdict means (cluster excludes a CoinJoin's inputs from multi-input
// merges; trace follows it by haircut).
package coinjoin
