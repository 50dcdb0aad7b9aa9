package eval

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestAddrTable fills the table past several growths and finds every
// address, and no other.
func TestAddrTable(t *testing.T) {
	var a addrTable
	if a.find("x") != -1 {
		t.Fatal("found x in an empty table")
	}
	const n = 5000
	for i := range n {
		if err := a.add("addr"+strconv.Itoa(i), int32(i%7), uint8(i%3)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		s := "addr" + strconv.Itoa(i)
		if j := a.find(s); j != i || a.addr(j) != s || a.entity[j] != int32(i%7) || a.role[j] != uint8(i%3) {
			t.Fatalf("find(%s) = %d", s, j)
		}
		if j := a.find("other" + strconv.Itoa(i)); j != -1 {
			t.Fatalf("find(other%d) = %d", i, j)
		}
	}
	if a.find("") != -1 || a.find("addr") != -1 || a.find("addr5000") != -1 {
		t.Error("found a prefix or a missing address")
	}
}

// TestTxTable builds tables of several sizes (one and two levels of
// buckets) from random ids and checks the order, every lookup, misses and
// duplicate detection.
func TestTxTable(t *testing.T) {
	for _, n := range []int{0, 1, 3, 1000, 1100, 50_000} {
		r := rand.New(rand.NewPCG(uint64(n), 9))
		var tt txTable
		want := map[btc.Hash]txRow{}
		for i := range n {
			var id btc.Hash
			for j := 0; j < 32; j += 8 {
				binary.LittleEndian.PutUint64(id[j:], r.Uint64())
			}
			if i%7 == 0 {
				id[0] = 0x42 // crowd one bucket
			}
			row := makeTxRow(id, uint8(i%5), int32(i%9)-1)
			want[id] = row
			tt.rows = append(tt.rows, row)
		}
		if dup := tt.build(); dup != nil {
			t.Fatalf("n=%d: duplicate %s", n, dup)
		}
		if len(tt.rows) != n || !slices.IsSortedFunc(tt.rows, func(a, b txRow) int { return bytes.Compare(a.id[:], b.id[:]) }) {
			t.Fatalf("n=%d: rows not sorted", n)
		}
		for id, row := range want {
			if got := tt.find(&id); got == nil || *got != row {
				t.Fatalf("n=%d: find(%s) = %v, want %v", n, id, got, row)
			}
		}
		for range 1000 {
			var id btc.Hash
			id[0], id[31] = byte(r.Uint32()), byte(r.Uint32())
			if _, ok := want[id]; !ok && tt.find(&id) != nil {
				t.Fatalf("n=%d: found %s", n, id)
			}
		}
		if n > 0 {
			again := tt.rows[n/2]
			tt.rows = append(tt.rows, again)
			if dup := tt.build(); dup == nil || *dup != again.id {
				t.Errorf("n=%d: duplicate not found", n)
			}
		}
	}
	if r := makeTxRow(btc.Hash{}, 0, btc.MaxIndex-1); r.changeVout() != btc.MaxIndex-1 {
		t.Errorf("vout %d stored as %d", btc.MaxIndex-1, r.changeVout())
	}
}
