package cluster

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// naive is a reference partition: a label per id, relabelled on union.
type naive []int

func (n naive) union(a, b int) {
	la, lb := n[a], n[b]
	for i := range n {
		if n[i] == lb {
			n[i] = la
		}
	}
}

func TestForestAgainstNaive(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 4, 5} {
		r := rand.New(rand.NewPCG(seed, 0))
		const n = 300
		f := NewForest(n)
		ref := make(naive, n)
		for i := range ref {
			ref[i] = i
		}
		for step := 0; step < 400; step++ {
			a, b := r.IntN(n), r.IntN(n)
			wasTogether := ref[a] == ref[b]
			_, _, ok := f.Union(uint32(a), uint32(b))
			if ok == wasTogether {
				t.Fatalf("seed %d step %d: Union(%d,%d) ok=%v, together before=%v", seed, step, a, b, ok, wasTogether)
			}
			ref.union(a, b)
		}
		for x := 0; x < n; x++ {
			// F2: the root is the smallest member.
			minID := x
			var members []int
			for y := 0; y < n; y++ {
				if ref[y] == ref[x] {
					members = append(members, y)
					minID = min(minID, y)
				}
			}
			root := f.Find(uint32(x))
			if int(root) != minID {
				t.Fatalf("seed %d: Find(%d)=%d, smallest member %d", seed, x, root, minID)
			}
			if int(f.Size(root)) != len(members) {
				t.Fatalf("seed %d: Size(%d)=%d, want %d", seed, root, f.Size(root), len(members))
			}
			var got []int
			f.Members(uint32(x), func(y uint32) bool { got = append(got, int(y)); return true })
			slices.Sort(got)
			if !slices.Equal(got, members) {
				t.Fatalf("seed %d: Members(%d)=%v, want %v", seed, x, got, members)
			}
		}
	}
}

// TestForestOrderIndependent: the same unions in any order give the same
// root for every id (the stable-id property the store relies on).
func TestForestOrderIndependent(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	const n = 2000
	pairs := make([][2]uint32, 3000)
	for i := range pairs {
		pairs[i] = [2]uint32{uint32(r.IntN(n)), uint32(r.IntN(n))}
	}
	a := NewForest(n)
	for _, p := range pairs {
		a.Union(p[0], p[1])
	}
	r.Shuffle(len(pairs), func(i, j int) { pairs[i], pairs[j] = pairs[j], pairs[i] })
	b := NewForest(n)
	for _, p := range pairs {
		b.Union(p[1], p[0])
	}
	for x := uint32(0); x < n; x++ {
		if a.Find(x) != b.Find(x) {
			t.Fatalf("id %d: root %d in one order, %d in another", x, a.Find(x), b.Find(x))
		}
	}
}

func TestForestBytes(t *testing.T) {
	f := NewForest(1 << 16)
	if got := f.Bytes(); got > 8*(1<<16)*17/16 {
		t.Fatalf("%d bytes for %d ids", got, 1<<16)
	}
	g := &Forest{parent: make([]uint32, 0, 1000), next: make([]uint32, 0, 1000)}
	g.Grow(1000)
	if g.Bytes() != 8000 {
		t.Fatalf("exactly-sized forest: %d bytes for 1000 ids, want 8000", g.Bytes())
	}
}
