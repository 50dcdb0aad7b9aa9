// Package growth fits how a per-item cost (seconds per transaction, bytes
// per address) grows with the size of a store, from samples measured along
// one run or from whole runs on stores of several sizes, and projects the
// fitted curve to a larger size (mainnet).
//
// Two models are fitted, cost = a + b·ln n (an LSM whose levels grow
// logarithmically) and cost = a·n^b (anything polynomial); a projection
// reports both and takes the more pessimistic, so that a curve that only
// looks flat over the measured range is not extrapolated as flat.
//
// # Owns
//
// The fits and their integrals. # Does not touch: measuring (callers pass
// samples).
//
// # Invariants
//
//	G1. A fit of samples drawn from either model recovers it (tests).
//	G2. Total(n0, n1) is the integral of Cost over [n0, n1]: the time (or
//	    bytes) to grow the store from n0 to n1 items.
//	G3. ProjectAverage's totals are n times each model's average at n (the
//	    samples are whole-run averages, not marginal costs); At is each
//	    model's value at n. Both report the larger model (tests).
package growth
