package cluster

import "fmt"

// Forest is a union-find over dense address ids with two uint32 words per
// address (8 bytes, F1):
//
//   - parent[x] < x: x is not a root and parent[x] is an ancestor of x;
//   - parent[x] >= x: x is the root of its set, and the set has
//     parent[x]-x+1 members.
//
// The root of every set is its smallest id (F2). Linking the larger root
// under the smaller keeps F2 and makes a set's id independent of the order
// of the unions that built it, so ids are stable across runs, increments
// and replays; members are never below the root, so root+size-1 never
// overflows. Finding uses path halving.
//
// next threads the members of each set into a cycle, so a set's members are
// listed in O(size) and two sets are spliced in O(1).
type Forest struct {
	parent []uint32
	next   []uint32
}

// MaxIDs is the number of address ids a Forest can hold.
const MaxIDs = 1<<32 - 1

// NewForest returns a forest of n singleton sets 0..n-1.
func NewForest(n int) *Forest {
	f := &Forest{}
	f.Grow(n)
	return f
}

// Len returns the number of ids in the forest.
func (f *Forest) Len() int { return len(f.parent) }

// Grow adds singletons up to id n-1.
func (f *Forest) Grow(n int) {
	if n > MaxIDs {
		panic(fmt.Sprintf("cluster: %d address ids exceed the forest's %d", n, MaxIDs))
	}
	if cap(f.parent) < n {
		// A new forest is exact; a growing one gets 1/16 spare for the next
		// increments, not append's doubling: at mainnet scale every spare
		// id costs 8 bytes.
		c := n
		if len(f.parent) > 0 {
			c += n / 16
		}
		f.parent = append(make([]uint32, 0, c), f.parent...)
		f.next = append(make([]uint32, 0, c), f.next...)
	}
	for i := len(f.parent); i < n; i++ {
		f.parent = append(f.parent, uint32(i))
		f.next = append(f.next, uint32(i))
	}
}

// Find returns the root (the smallest id) of x's set.
func (f *Forest) Find(x uint32) uint32 {
	p := f.parent
	for {
		px := p[x]
		if px >= x {
			return x
		}
		gp := p[px]
		if gp >= px { // px is the root
			return px
		}
		p[x] = gp // halve the path
		x = gp
	}
}

// Size returns the size of the set whose root is r.
func (f *Forest) Size(r uint32) uint32 { return f.parent[r] - r + 1 }

// Union joins the sets of a and b. It returns the new root and the root
// that stopped being one, or ok=false when a and b were already together.
func (f *Forest) Union(a, b uint32) (root, absorbed uint32, ok bool) {
	ra, rb := f.Find(a), f.Find(b)
	if ra == rb {
		return ra, ra, false
	}
	if rb < ra {
		ra, rb = rb, ra
	}
	size := f.parent[ra] - ra + 1 + f.parent[rb] - rb + 1
	f.parent[rb] = ra
	f.parent[ra] = ra + size - 1
	f.next[ra], f.next[rb] = f.next[rb], f.next[ra]
	return ra, rb, true
}

// Members calls fn for every member of the set that holds x, in no
// particular order, stopping early when fn returns false.
func (f *Forest) Members(x uint32, fn func(uint32) bool) {
	y := x
	for {
		if !fn(y) {
			return
		}
		y = f.next[y]
		if y == x {
			return
		}
	}
}

// Bytes returns the memory the forest's arrays hold.
func (f *Forest) Bytes() int { return 4*cap(f.parent) + 4*cap(f.next) }
