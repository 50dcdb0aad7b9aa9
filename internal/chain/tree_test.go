package chain

import (
	"math/big"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

func h(b byte) btc.Hash { var x btc.Hash; x[0] = b; x[31] = 0xee; return x }

func TestBlockWork(t *testing.T) {
	cases := []struct {
		bits uint32
		want string
	}{
		{0x1d00ffff, "4295032833"}, // difficulty 1: 0x100010001
		{0x207fffff, "2"},          // regtest
		{0x00000000, "0"},
		{0x04923456, "0"}, // negative target
	}
	for _, c := range cases {
		if got := BlockWork(c.bits).String(); got != c.want {
			t.Errorf("BlockWork(%#x) = %s, want %s", c.bits, got, c.want)
		}
	}
}

// TestOutOfOrderAndStale feeds a chain with a child before its parent and a
// stale fork, and checks heights, the best tip and the fork's handling.
func TestOutOfOrderAndStale(t *testing.T) {
	g := h(0)
	const bits = 0x1d00ffff
	cases := []struct {
		name  string
		order []int // indexes into blocks
		best  btc.Hash
	}{
		{"in order", []int{0, 1, 2, 3, 4, 5}, h(4)},
		{"child first", []int{0, 2, 1, 4, 3, 5}, h(4)},
		{"fork first", []int{0, 1, 5, 2, 3, 4}, h(4)},
		{"reverse", []int{5, 4, 3, 2, 1, 0}, h(4)},
	}
	// 0 <- 1 <- 2 <- 3 <- 4 ; 1 <- 5 (stale: shorter)
	blocks := []struct{ hash, prev btc.Hash }{
		{h(0), btc.Hash{}}, {h(1), h(0)}, {h(2), h(1)}, {h(3), h(2)}, {h(4), h(3)}, {h(5), h(1)},
	}
	for _, c := range cases {
		tr := NewTree(g)
		for _, i := range c.order {
			tr.Add(blocks[i].hash, blocks[i].prev, bits, 0, Location{})
		}
		if tr.Best() == nil || tr.Best().Hash != c.best {
			t.Fatalf("%s: best = %v, want %v", c.name, tr.Best(), c.best)
		}
		if got := tr.Best().Height; got != 4 {
			t.Errorf("%s: best height %d, want 4", c.name, got)
		}
		if n := tr.Get(h(5)); n.Height != 2 || Ancestor(tr.Best(), 2).Hash == n.Hash {
			t.Errorf("%s: stale block height %d or on best chain", c.name, n.Height)
		}
		p := Path(tr.Best(), 0)
		for i, n := range p {
			if n.Hash != h(byte(i)) {
				t.Errorf("%s: path[%d] = %v", c.name, i, n.Hash)
			}
		}
		if tr.Orphans() != 0 {
			t.Errorf("%s: %d orphans", c.name, tr.Orphans())
		}
	}
}

func TestTieGoesToFirstSeenAndMoreWorkWins(t *testing.T) {
	g := h(0)
	tr := NewTree(g)
	tr.Add(g, btc.Hash{}, 0x1d00ffff, 0, Location{})
	tr.Add(h(1), g, 0x1d00ffff, 0, Location{})
	tr.Add(h(2), g, 0x1d00ffff, 0, Location{})
	if tr.Best().Hash != h(1) {
		t.Fatalf("tie: best %v, want first seen", tr.Best().Hash)
	}
	// A harder block (smaller target) on the other branch wins with one block.
	tr.Add(h(3), h(2), 0x1c00ffff, 0, Location{})
	if tr.Best().Hash != h(3) {
		t.Fatalf("more work: best %v, want h(3)", tr.Best().Hash)
	}
	want := new(big.Int).Add(BlockWork(0x1d00ffff), BlockWork(0x1d00ffff))
	want.Add(want, BlockWork(0x1c00ffff))
	if tr.Best().Work().Cmp(want) != 0 {
		t.Errorf("work %v, want %v", tr.Best().Work(), want)
	}
}

func TestOrphanNotConnected(t *testing.T) {
	tr := NewTree(h(0))
	tr.Add(h(7), h(6), 0x1d00ffff, 0, Location{})
	if tr.Best() != nil || tr.Orphans() != 1 {
		t.Fatalf("orphan: best %v orphans %d", tr.Best(), tr.Orphans())
	}
}

func TestInvalidateFallsBackToNextBest(t *testing.T) {
	g := h(0)
	tr := NewTree(g)
	tr.Add(g, btc.Hash{}, 0x1d00ffff, 0, Location{})
	tr.Add(h(1), g, 0x1d00ffff, 0, Location{})
	tr.Add(h(2), h(1), 0x1d00ffff, 0, Location{})
	tr.Add(h(3), h(2), 0x1d00ffff, 0, Location{})
	tr.Add(h(9), h(1), 0x1d00ffff, 0, Location{}) // stale sibling of 2
	if got := tr.Invalidate(h(2)); got != 2 {
		t.Fatalf("Invalidate marked %d, want 2", got)
	}
	if tr.Best().Hash != h(9) {
		t.Fatalf("best %v after invalidation, want the stale sibling", tr.Best().Hash)
	}
	// A child of an invalid block arriving later is invalid too.
	tr.Add(h(4), h(3), 0x1d00ffff, 0, Location{})
	if !tr.Get(h(4)).Invalid() || tr.Best().Hash != h(9) {
		t.Fatalf("late child of invalid block became best")
	}
}
