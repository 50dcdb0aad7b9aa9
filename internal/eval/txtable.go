package eval

import (
	"bytes"
	"math/bits"
	"slices"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// txRow is one transaction of the key in 36 bytes: its id, its kind code
// and its change vout+1 (0 = none) as a 24-bit little-endian number, so
// vouts up to btc.MaxIndex-1 fit.
type txRow struct {
	id     btc.Hash
	kind   uint8
	change [3]byte
}

func makeTxRow(id btc.Hash, kind uint8, vout int32) txRow {
	v := uint32(vout + 1)
	return txRow{id: id, kind: kind, change: [3]byte{byte(v), byte(v >> 8), byte(v >> 16)}}
}

func (r *txRow) changeVout() int32 {
	v := int32(r.change[0]) | int32(r.change[1])<<8 | int32(r.change[2])<<16
	return v - 1
}

// txTable is the key's transactions sorted by id (byte order), with an
// index on the leading bits of the id: txids are uniform, so with about
// four rows per bucket a lookup reads one bucket bound pair and a few rows.
type txTable struct {
	rows   []txRow
	bucket []uint32 // rows[bucket[p]:bucket[p+1]] have id prefix p
	shift  uint     // prefix = first three bytes >> shift
}

func (t *txTable) prefix(id *btc.Hash) uint32 {
	return (uint32(id[0])<<16 | uint32(id[1])<<8 | uint32(id[2])) >> t.shift
}

// build sorts the rows and indexes them. It returns the id of a row that
// appears twice, if any.
func (t *txTable) build() (dup *btc.Hash) {
	t.rows = slices.Clip(t.rows)
	// 2^b buckets for about four rows each, b in 8..24.
	b := min(max(bits.Len(uint(len(t.rows)/4)), 8), 24)
	t.shift = uint(24 - b)
	nb := 1 << b
	t.bucket = make([]uint32, nb+1)
	for i := range t.rows {
		t.bucket[t.prefix(&t.rows[i].id)+1]++
	}
	for p := 1; p <= nb; p++ {
		t.bucket[p] += t.bucket[p-1]
	}
	// Move every row into its bucket in place, first by the top byte (256
	// write heads: the scattered writes stay within a few cache lines
	// each), then by the rest of the prefix within each top-byte range,
	// which fits in cache.
	low := b - 8
	top := make([]uint32, 257)
	for i := range top {
		top[i] = t.bucket[i<<low]
	}
	next := make([]uint32, max(256, 1<<low))
	t.place(top, func(id *btc.Hash) uint32 { return uint32(id[0]) }, next)
	if low > 0 {
		mask := uint32(1)<<low - 1
		for i := range 256 {
			t.place(t.bucket[i<<low:(i+1)<<low+1], func(id *btc.Hash) uint32 { return t.prefix(id) & mask }, next)
		}
	}
	// Sort each bucket; they are small, so insertion sort.
	for p := range nb {
		rows := t.rows[t.bucket[p]:t.bucket[p+1]]
		if len(rows) > 32 {
			slices.SortFunc(rows, func(a, b txRow) int { return bytes.Compare(a.id[:], b.id[:]) })
			continue
		}
		for i := 1; i < len(rows); i++ {
			for j := i; j > 0 && bytes.Compare(rows[j-1].id[:], rows[j].id[:]) > 0; j-- {
				rows[j-1], rows[j] = rows[j], rows[j-1]
			}
		}
	}
	for i := 1; i < len(t.rows); i++ {
		if t.rows[i].id == t.rows[i-1].id {
			return &t.rows[i].id
		}
	}
	return nil
}

// place moves rows into buckets in place (American flag sort): bucket k
// is rows[bounds[k]:bounds[k+1]] and key gives a row's k. next is scratch
// of at least len(bounds)-1 entries.
func (t *txTable) place(bounds []uint32, key func(*btc.Hash) uint32, next []uint32) {
	nb := len(bounds) - 1
	next = next[:nb]
	copy(next, bounds)
	for k := range nb {
		end := bounds[k+1]
		for i := next[k]; i < end; i = next[k] {
			q := key(&t.rows[i].id)
			if q == uint32(k) {
				next[k]++
				continue
			}
			j := next[q]
			t.rows[i], t.rows[j] = t.rows[j], t.rows[i]
			next[q]++
		}
	}
}

// find returns the row of id, or nil.
func (t *txTable) find(id *btc.Hash) *txRow {
	if len(t.rows) == 0 {
		return nil
	}
	p := t.prefix(id)
	lo, hi := int(t.bucket[p]), int(t.bucket[p+1])
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if bytes.Compare(t.rows[m].id[:], id[:]) < 0 {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo < int(t.bucket[p+1]) && t.rows[lo].id == *id {
		return &t.rows[lo]
	}
	return nil
}
