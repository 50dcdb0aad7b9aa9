package index

import (
	"encoding/binary"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestOpBufSort: the keyspace-grouped sort gives exactly the order of one
// full sort by key and write order, whether a keyspace arrives in key
// order (only checked) or not, with repeated keys kept in write order.
func TestOpBufSort(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    int
	}{
		{"small (one sort)", 100},
		{"grouped", 20_000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, uint64(tc.n)))
			var b opBuf
			var next uint64
			for i := 0; i < tc.n; i++ {
				var k []byte
				switch rng.IntN(4) {
				case 0: // in key order, as transactions are written
					next++
					k = binary.BigEndian.AppendUint64([]byte{pTx}, next)
				case 1: // random, as UTXOs are
					k = binary.BigEndian.AppendUint64([]byte{pUTXO}, rng.Uint64()%5000)
				case 2: // random with repeats, as merge operands are
					k = binary.BigEndian.AppendUint64([]byte{pAddrStats}, rng.Uint64()%50)
				default: // short keys sharing a prefix
					k = []byte{pMeta, byte(rng.IntN(3))}
				}
				b.Set(k, binary.BigEndian.AppendUint32(nil, uint32(i)))
			}
			want := slices.Clone(b.ops)
			slices.SortFunc(want, b.cmp)
			b.sort()
			if !slices.Equal(b.ops, want) {
				t.Fatal("grouped sort differs from a full sort")
			}
		})
	}
}
