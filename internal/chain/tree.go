package chain

import (
	"math/big"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Location says where a block's bytes are: which blk file (by number), the
// offset of the block's first byte and its size.
type Location struct {
	File   uint32
	Offset int64
	Size   uint32
}

// Node is one block header in the tree.
type Node struct {
	Hash     btc.Hash
	Prev     btc.Hash
	Bits     uint32
	Time     uint32
	Loc      Location
	Height   int32 // -1 while not connected
	parent   *Node
	children []*Node
	work     *big.Int // cumulative; nil while not connected
	seq      uint64   // order of arrival, for tie-breaks
	invalid  bool
}

// Invalid reports whether n or an ancestor was marked invalid.
func (n *Node) Invalid() bool { return n.invalid }

// Connected reports whether n links back to the genesis block.
func (n *Node) Connected() bool { return n.work != nil }

// Parent returns n's parent, or nil for the genesis block or an orphan.
func (n *Node) Parent() *Node { return n.parent }

// Work returns the cumulative work up to and including n (nil if n is not
// connected). The caller must not modify it.
func (n *Node) Work() *big.Int { return n.work }

// Tree is the header tree of one network. It is not safe for concurrent use.
type Tree struct {
	genesis btc.Hash
	nodes   map[btc.Hash]*Node
	waiting map[btc.Hash][]*Node // children whose parent has not been seen
	best    *Node
	seq     uint64
}

// NewTree returns an empty tree for the network whose first block is genesis.
func NewTree(genesis btc.Hash) *Tree {
	return &Tree{genesis: genesis, nodes: make(map[btc.Hash]*Node), waiting: make(map[btc.Hash][]*Node)}
}

// Len returns the number of headers in the tree, connected or not.
func (t *Tree) Len() int { return len(t.nodes) }

// Get returns the node for hash, or nil.
func (t *Tree) Get(hash btc.Hash) *Node { return t.nodes[hash] }

// Best returns the tip of the best chain, or nil when no block is connected.
func (t *Tree) Best() *Node { return t.best }

// Orphans returns the number of headers not connected to the genesis block.
func (t *Tree) Orphans() int {
	n := 0
	for _, nd := range t.nodes {
		if !nd.Connected() {
			n++
		}
	}
	return n
}

// Add inserts a header. Adding a hash already present changes nothing and
// returns the existing node. Children that were waiting for this block are
// connected along with it.
func (t *Tree) Add(hash, prev btc.Hash, bits, time uint32, loc Location) *Node {
	if n, ok := t.nodes[hash]; ok {
		return n
	}
	t.seq++
	n := &Node{Hash: hash, Prev: prev, Bits: bits, Time: time, Loc: loc, Height: -1, seq: t.seq}
	t.nodes[hash] = n
	switch {
	case hash == t.genesis:
		t.connect(n, nil)
	default:
		if p := t.nodes[prev]; p != nil && p.Connected() {
			t.connect(n, p)
		} else {
			if p != nil {
				n.parent = p
			}
			t.waiting[prev] = append(t.waiting[prev], n)
		}
	}
	return n
}

// connect links n (and, iteratively, everything waiting on it) into the tree.
func (t *Tree) connect(n, parent *Node) {
	stack := []*Node{n}
	parents := []*Node{parent}
	for len(stack) > 0 {
		n, parent := stack[len(stack)-1], parents[len(parents)-1]
		stack, parents = stack[:len(stack)-1], parents[:len(parents)-1]
		w := BlockWork(n.Bits)
		if parent == nil {
			n.Height = 0
			n.work = w
		} else {
			n.parent = parent
			n.Height = parent.Height + 1
			n.work = w.Add(w, parent.work)
			n.invalid = parent.invalid
			parent.children = append(parent.children, n)
		}
		if !n.invalid && (t.best == nil || better(n, t.best)) {
			t.best = n
		}
		for _, c := range t.waiting[n.Hash] {
			stack = append(stack, c)
			parents = append(parents, n)
		}
		delete(t.waiting, n.Hash)
	}
}

// Invalidate marks the block hash and all its descendants invalid (a corrupt
// or inconsistent block) and chooses the best tip among the rest. It returns
// the number of blocks marked.
func (t *Tree) Invalidate(hash btc.Hash) int {
	n := t.nodes[hash]
	if n == nil {
		return 0
	}
	marked := 0
	stack := []*Node{n}
	for len(stack) > 0 {
		x := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if !x.invalid {
			x.invalid = true
			marked++
		}
		stack = append(stack, x.children...)
		for _, w := range t.waiting[x.Hash] {
			stack = append(stack, w)
		}
	}
	t.best = nil
	for _, x := range t.nodes {
		if x.Connected() && !x.invalid && (t.best == nil || better(x, t.best)) {
			t.best = x
		}
	}
	return marked
}

// better reports whether a should replace b as the best tip (C3).
func better(a, b *Node) bool {
	c := a.work.Cmp(b.work)
	return c > 0 || (c == 0 && a.seq < b.seq)
}

// Ancestor returns n's ancestor at height h (n itself when h == n.Height), or
// nil when h is out of range or n is not connected.
func Ancestor(n *Node, h int32) *Node {
	if n == nil || !n.Connected() || h < 0 || h > n.Height {
		return nil
	}
	for n.Height > h {
		n = n.parent
	}
	return n
}

// Path returns the nodes from height from (inclusive) up to tip, in height
// order. It returns nil if tip is not connected or from > tip.Height.
func Path(tip *Node, from int32) []*Node {
	if tip == nil || !tip.Connected() || from > tip.Height || from < 0 {
		return nil
	}
	out := make([]*Node, tip.Height-from+1)
	for n := tip; n != nil && n.Height >= from; n = n.parent {
		out[n.Height-from] = n
	}
	return out
}

var oneLsh256 = new(big.Int).Lsh(big.NewInt(1), 256)

// BlockWork returns 2^256 / (target+1) for a compact target, as Bitcoin Core's
// GetBlockProof does; a negative, zero or overflowing target has no work.
func BlockWork(bits uint32) *big.Int {
	target := CompactToBig(bits)
	if target.Sign() <= 0 || target.BitLen() > 256 {
		return new(big.Int)
	}
	d := new(big.Int).Add(target, big.NewInt(1))
	return d.Div(oneLsh256, d)
}

// CompactToBig decodes Bitcoin's compact ("nBits") number format.
func CompactToBig(bits uint32) *big.Int {
	mantissa := int64(bits & 0x007fffff)
	neg := bits&0x00800000 != 0
	exp := uint(bits >> 24)
	var v *big.Int
	if exp <= 3 {
		v = big.NewInt(mantissa >> (8 * (3 - exp)))
	} else {
		v = big.NewInt(mantissa)
		v.Lsh(v, 8*(exp-3))
	}
	if neg {
		v.Neg(v)
	}
	return v
}
