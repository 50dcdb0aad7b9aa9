package cluster

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/index/indextest"
	"github.com/sleuth-forensics/sleuth/internal/sim/simtest"
)

// mapAll makes every NewScratchForest of the test map its arrays.
func mapAll(t *testing.T) {
	t.Helper()
	old := mapMinIDs
	mapMinIDs = 0
	t.Cleanup(func() { mapMinIDs = old })
}

// noScratchLeft fails when dir holds a scratch file (mmap M2).
func noScratchLeft(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".sleuth-scratch-") {
			t.Fatalf("scratch file %s left in %s", e.Name(), dir)
		}
	}
}

// sameForest fails unless a and b hold the same partition with the same
// roots, sizes and member lists.
func sameForest(t *testing.T, what string, a, b *Forest) {
	t.Helper()
	if a.Len() != b.Len() {
		t.Fatalf("%s: %d ids, want %d", what, a.Len(), b.Len())
	}
	for x := uint32(0); x < uint32(a.Len()); x++ {
		ra, rb := a.Find(x), b.Find(x)
		if ra != rb || a.Size(ra) != b.Size(rb) {
			t.Fatalf("%s: id %d in set %d of %d, want %d of %d", what, x, ra, a.Size(ra), rb, b.Size(rb))
		}
		if x == ra {
			var n uint32
			a.Members(x, func(y uint32) bool {
				if b.Find(y) != rb {
					t.Fatalf("%s: member %d of %d is in %d", what, y, x, b.Find(y))
				}
				n++
				return true
			})
			if n != a.Size(ra) {
				t.Fatalf("%s: %d members listed for a set of %d", what, n, a.Size(ra))
			}
		}
	}
}

// TestScratchForest: a mapped forest answers as a heap forest through
// unions, growth past its spare (a remap), clone, snapshot save and load,
// and leaves no file behind.
func TestScratchForest(t *testing.T) {
	mapAll(t)
	for _, tc := range []struct {
		name         string
		n, grow, ops int
	}{
		{"small", 50, 3000, 4000},
		{"grow within spare", 10_000, 10_300, 20_000},
		{"pages", 300_000, 700_000, 500_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			m, err := NewScratchForest(dir, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			if !m.Mapped() {
				t.Fatal("forest not mapped")
			}
			h := NewForest(tc.n)
			r := rand.New(rand.NewPCG(uint64(tc.n), 7))
			union := func(n int) {
				for range tc.ops / 2 {
					a, b := r.Uint32N(uint32(n)), r.Uint32N(uint32(n))
					r1, a1, ok1 := m.Union(a, b)
					r2, a2, ok2 := h.Union(a, b)
					if r1 != r2 || a1 != a2 || ok1 != ok2 {
						t.Fatalf("Union(%d, %d): mapped %d %d %v, heap %d %d %v", a, b, r1, a1, ok1, r2, a2, ok2)
					}
				}
			}
			union(tc.n)
			if err := m.Grow(tc.grow); err != nil {
				t.Fatal(err)
			}
			h.Grow(tc.grow)
			union(tc.grow)
			sameForest(t, "mapped vs heap", m, h)
			c, err := m.Clone()
			if err != nil {
				t.Fatal(err)
			}
			if !c.Mapped() {
				t.Fatal("clone of a mapped forest is on the heap")
			}
			m.Union(0, uint32(tc.grow-1)) // the clone must not see it
			h2 := NewForest(tc.grow)
			for x := range uint32(tc.grow) {
				h2.Union(x, h.Find(x))
			}
			sameForest(t, "clone", c, h2)
			c.Close()
			if err := saveSnapshot(dir, m, 1, []byte("k")); err != nil {
				t.Fatal(err)
			}
			s, _, _, err := loadSnapshot(dir, tc.grow+5)
			if err != nil {
				t.Fatal(err)
			}
			h.Union(0, uint32(tc.grow-1))
			h.Grow(tc.grow + 5)
			sameForest(t, "snapshot", s, h)
			s.Close()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := m.Close(); err != nil || m.Len() != 0 {
				t.Fatalf("second Close: %v, %d ids left", err, m.Len())
			}
			os.Remove(snapshotPath(dir))
			noScratchLeft(t, dir)
		})
	}
}

func TestScratchForestErrors(t *testing.T) {
	mapAll(t)
	dir := t.TempDir()
	if _, err := NewScratchForest(filepath.Join(dir, "absent"), 100); err == nil || !strings.Contains(err.Error(), "absent") {
		t.Fatalf("forest in a missing directory: %v", err)
	}
	if _, err := NewScratchForest(dir, MaxIDs+1); err == nil {
		t.Fatal("a forest past MaxIDs did not fail")
	}
	f, err := NewScratchForest(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.Grow(MaxIDs + 1); err == nil || f.Len() != 10 {
		t.Fatalf("Grow past MaxIDs: %v, %d ids", err, f.Len())
	}
}

// TestMappedEngine runs the engine's tests with every forest mapped (the
// default maps only from a million ids), checks that a mapped clustering
// equals a heap one, and that no scratch file outlives an Update.
func TestMappedEngine(t *testing.T) {
	out := simtest.Chain(t, 5, 0.2)
	blocks := filepath.Join(out, "blocks")
	heap := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, heap, index.IngestOptions{BlocksDir: blocks})
	c := Config{Change: allChange}
	if sum := update(t, heap, Options{Config: &c}); sum.ForestMapped {
		t.Fatal("a small forest was mapped by default")
	}
	g, err := Load(context.Background(), heap)
	if err != nil {
		t.Fatal(err)
	}
	if g.Mapped() {
		t.Fatal("a small forest was mapped by default")
	}
	mapAll(t)
	mapped := indextest.Open(t, t.TempDir())
	indextest.Ingest(t, mapped, index.IngestOptions{BlocksDir: blocks})
	sum := update(t, mapped, Options{Config: &c})
	if !sum.ForestMapped || sum.TotalMerges == 0 {
		t.Fatalf("mapped run: %+v", sum)
	}
	if clusterDigest(t, mapped) != clusterDigest(t, heap) {
		t.Fatal("a mapped clustering differs from a heap one")
	}
	noScratchLeft(t, mapped.Dir())
	f, err := Load(context.Background(), mapped)
	if err != nil {
		t.Fatal(err)
	}
	sameForest(t, "Load", f, g)
	f.Close()
	noScratchLeft(t, mapped.Dir())
	t.Run("snapshot", TestSnapshot)
	t.Run("split", TestLoadSplit)
	t.Run("interrupted", TestInterrupted)
	t.Run("overrides", TestOverrides)
}
