// Package chain owns the block-header tree and the choice of the best chain.
//
// Block files hold blocks in download order: a child may be written before
// its parent, and stale blocks (valid blocks that lost a race) sit beside the
// winners. Tree links every header it is given to its parent, computes each
// block's height and cumulative proof of work, and names the best tip: the
// connected block with the most cumulative work, the first one seen on a tie
// (as Bitcoin Core does).
//
// # Owns
//
// The in-memory header tree: parent links, heights, cumulative work, the
// location of each block in the block files, and fork-point queries.
//
// # Does not touch
//
// Files and the store: callers feed headers in (from blockfile.Scan or from the
// index's saved headers) and persist what they need. It does not check proof of
// work or any consensus rule beyond linkage: sleuth reads blocks that a node
// already validated.
//
// # Invariants
//
//	C1. A node is connected iff its parent is connected or it is the genesis
//	    block; only connected nodes have a height and work.
//	C2. Work(n) = Work(parent) + 2^256 / (target(n.Bits) + 1).
//	C3. Best() is connected and no connected node has more work; among equal
//	    work, Best() was added first.
package chain
