package eval

import (
	"errors"
	"hash/maphash"
	"math"
	"strings"
)

// addrTable holds the key's addresses compactly: their text back to back
// in one string, and per address an end offset, an entity and a role code
// (9 bytes), plus an open-addressing index of 4–8 bytes per address (linear
// probing, at most half full). With the text (and the builder's spare
// capacity) that is about 65 bytes per address on sim-1m, against about 130
// for a []Address with a map[string]int32 over it; a 10M-transaction
// simulation has about 20M addresses.
type addrTable struct {
	text   strings.Builder
	data   string   // the text so far (text.String(), which does not copy)
	end    []uint32 // end[i]: where address i ends in data; it starts at end[i-1]
	entity []int32
	role   []uint8
	slots  []uint32 // 0: empty; else 1 + the index of an address
	seed   maphash.Seed
}

var errTableFull = errors.New("more than 4 GiB of addresses")

func (a *addrTable) len() int { return len(a.end) }

func (a *addrTable) addr(i int) string {
	start := uint32(0)
	if i > 0 {
		start = a.end[i-1]
	}
	return a.data[start:a.end[i]]
}

// find returns the index of s, or -1.
func (a *addrTable) find(s string) int {
	if len(a.slots) == 0 {
		return -1
	}
	mask := uint64(len(a.slots) - 1)
	for p := maphash.String(a.seed, s) & mask; ; p = (p + 1) & mask {
		v := a.slots[p]
		if v == 0 {
			return -1
		}
		if a.addr(int(v-1)) == s {
			return int(v - 1)
		}
	}
}

// add appends s, which must not be in the table yet.
func (a *addrTable) add(s string, entity int32, role uint8) error {
	n := len(a.end)
	if uint64(len(a.data))+uint64(len(s)) > math.MaxUint32 || n >= math.MaxUint32-1 {
		return errTableFull
	}
	if 2*(n+1) > len(a.slots) {
		a.grow(max(1024, 2*len(a.slots)))
	}
	a.text.WriteString(s)
	a.data = a.text.String()
	a.end = append(a.end, uint32(len(a.data)))
	a.entity = append(a.entity, entity)
	a.role = append(a.role, role)
	a.insert(n)
	return nil
}

func (a *addrTable) insert(i int) {
	mask := uint64(len(a.slots) - 1)
	p := maphash.String(a.seed, a.addr(i)) & mask
	for a.slots[p] != 0 {
		p = (p + 1) & mask
	}
	a.slots[p] = uint32(i + 1)
}

func (a *addrTable) grow(size int) {
	if len(a.slots) == 0 {
		a.seed = maphash.MakeSeed()
	}
	a.slots = make([]uint32, size)
	for i := range a.end {
		a.insert(i)
	}
}
