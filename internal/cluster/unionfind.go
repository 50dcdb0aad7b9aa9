package cluster

import (
	"errors"
	"fmt"
	"runtime"

	"github.com/sleuth-forensics/sleuth/internal/mmap"
)

// Forest is a union-find over dense address ids with two uint32 words per
// address (8 bytes, F1):
//
//   - parent(x) < x: x is not a root and parent(x) is an ancestor of x;
//   - parent(x) >= x: x is the root of its set, and the set has
//     parent(x)-x+1 members.
//
// The root of every set is its smallest id (F2). Linking the larger root
// under the smaller keeps F2 and makes a set's id independent of the order
// of the unions that built it, so ids are stable across runs, increments
// and replays; members are never below the root, so root+size-1 never
// overflows. Finding uses path halving.
//
// next threads the members of each set into a cycle, so a set's members are
// listed in O(size) and two sets are spliced in O(1).
//
// Both words are stored XORed with x (F3), so a singleton (parent(x) = x,
// next(x) = x) is a zero word: a new forest, or new ids after Grow, cost
// no writes, and the pages of ids no union has touched are never brought
// into memory. The arrays live on the heap for small forests and in
// memory-mapped scratch files beside the store (package mmap) for large
// ones (NewScratchForest), outside the Go heap: the kernel keeps the
// working set resident and writes cold pages back to the file.
type Forest struct {
	parent []uint32 // parent(x)^x
	next   []uint32 // next(x)^x
	m      *forestMaps
}

// forestMaps holds a mapped forest's arrays; nil for a heap forest.
type forestMaps struct {
	dir          string
	parent, next *mmap.Uint32s
	cleanup      runtime.Cleanup
}

func (m *forestMaps) close() error {
	return errors.Join(m.parent.Close(), m.next.Close())
}

// MaxIDs is the number of address ids a Forest can hold.
const MaxIDs = 1<<32 - 1

// mapMinIDs is the size from which NewScratchForest maps its arrays: below
// it (8 MiB) a scratch file saves nothing. A variable so tests can map
// every forest.
var mapMinIDs = 1 << 20

// NewForest returns a forest of n singleton sets 0..n-1 on the heap.
func NewForest(n int) *Forest {
	f := &Forest{}
	if err := f.Grow(n); err != nil {
		panic(err) // a heap forest only fails past MaxIDs, which callers check
	}
	return f
}

// NewScratchForest returns a forest of n singleton sets 0..n-1 whose
// arrays, from a million ids on, are memory-mapped files in dir (where the
// operating system supports it; otherwise on the heap). Close frees them.
func NewScratchForest(dir string, n int) (*Forest, error) {
	if n > MaxIDs {
		return nil, fmt.Errorf("cluster: %d address ids exceed the forest's %d", n, uint64(MaxIDs))
	}
	if n < mapMinIDs || n == 0 {
		return NewForest(n), nil
	}
	// The kernel's default access hint fits best: a forest being built
	// touches fresh zero pages, which readahead and fault-around map many
	// at a time; MADV_RANDOM made every first touch of a page a major
	// fault and halved unions/s (docs/BENCHMARKS.md).
	c := n + n/16 // spare for the next increments
	m := &forestMaps{dir: dir}
	var err error
	if m.parent, err = mmap.New(dir, c); err != nil {
		if errors.Is(err, mmap.ErrUnsupported) {
			return NewForest(n), nil
		}
		return nil, fmt.Errorf("cluster: forest of %d ids: %w", n, err)
	}
	if m.next, err = mmap.New(dir, c); err != nil {
		m.parent.Close()
		return nil, fmt.Errorf("cluster: forest of %d ids: %w", n, err)
	}
	f := &Forest{m: m}
	f.remapped(n)
	// A forest nobody closes (a caller that only reads it) is unmapped
	// when it is collected; the methods keep f alive while they use the
	// mapping.
	m.cleanup = runtime.AddCleanup(f, func(m *forestMaps) { m.close() }, m)
	return f, nil
}

// remapped points the slices at the mappings after they changed, with n
// ids in use.
func (f *Forest) remapped(n int) {
	p, x := f.m.parent.Words(), f.m.next.Words()
	f.parent, f.next = p[:n:len(p)], x[:n:len(x)]
}

// Mapped reports whether the forest's arrays are memory-mapped files.
func (f *Forest) Mapped() bool { return f.m != nil }

// Advise tells the kernel how the forest is about to be read (a no-op on
// a heap forest).
func (f *Forest) Advise(h mmap.Hint) error {
	if f.m == nil {
		return nil
	}
	return errors.Join(f.m.parent.Advise(h), f.m.next.Advise(h))
}

// Close frees a mapped forest's arrays; the forest is empty afterwards. It
// is safe to call twice, and does nothing but empty a heap forest.
func (f *Forest) Close() error {
	f.parent, f.next = nil, nil
	if f.m == nil {
		return nil
	}
	f.m.cleanup.Stop()
	err := f.m.close()
	f.m = nil
	if err != nil {
		return fmt.Errorf("cluster: close forest: %w", err)
	}
	return nil
}

// Len returns the number of ids in the forest.
func (f *Forest) Len() int { return len(f.parent) }

// Grow adds singletons up to id n-1. It fails only past MaxIDs or when a
// mapped forest's scratch file cannot grow.
func (f *Forest) Grow(n int) error {
	if n > MaxIDs {
		return fmt.Errorf("cluster: %d address ids exceed the forest's %d", n, uint64(MaxIDs))
	}
	if n <= len(f.parent) {
		return nil
	}
	// Words beyond the length were never written (ids are never removed),
	// so they are zero: singletons (F3). New memory is zero too.
	if cap(f.parent) >= n {
		f.parent, f.next = f.parent[:n], f.next[:n]
		return nil
	}
	// A new forest is exact; a growing one gets 1/16 spare for the next
	// increments, not append's doubling: at mainnet scale every spare id
	// costs 8 bytes.
	c := n
	if len(f.parent) > 0 {
		c += n / 16
	}
	if f.m == nil {
		f.parent = append(make([]uint32, 0, c), f.parent...)[:n]
		f.next = append(make([]uint32, 0, c), f.next...)[:n]
		return nil
	}
	defer runtime.KeepAlive(f)
	if err := errors.Join(f.m.parent.Resize(c), f.m.next.Resize(c)); err != nil {
		f.remapped(len(f.parent))
		return fmt.Errorf("cluster: grow forest to %d ids: %w", n, err)
	}
	f.remapped(n)
	return nil
}

// Find returns the root (the smallest id) of x's set.
func (f *Forest) Find(x uint32) uint32 {
	p := f.parent
	for {
		px := p[x] ^ x
		if px >= x {
			break
		}
		gp := p[px] ^ px
		if gp >= px { // px is the root
			x = px
			break
		}
		p[x] = gp ^ x // halve the path
		x = gp
	}
	runtime.KeepAlive(f) // the mapping stays while p is used
	return x
}

// Size returns the size of the set whose root is r.
func (f *Forest) Size(r uint32) uint32 {
	s := (f.parent[r] ^ r) - r + 1
	runtime.KeepAlive(f)
	return s
}

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
	p, nx := f.parent, f.next
	size := (p[ra] ^ ra) - ra + 1 + (p[rb] ^ rb) - rb + 1
	p[rb] = ra ^ rb
	p[ra] = (ra + size - 1) ^ ra
	na, nb := nx[ra]^ra, nx[rb]^rb
	nx[ra], nx[rb] = nb^ra, na^rb // splice the two cycles
	runtime.KeepAlive(f)
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
		y = f.next[y] ^ y
		if y == x {
			return
		}
	}
}

// Bytes returns the memory the forest's arrays hold (heap or mapped).
func (f *Forest) Bytes() int { return 4*cap(f.parent) + 4*cap(f.next) }
