package sim

import (
	"testing"

	secp "github.com/decred/dcrd/dcrec/secp256k1/v4"
)

// TestKeyStreamRealKeys checks that key number i is (k0+i)·G, across batch
// boundaries.
func TestKeyStreamRealKeys(t *testing.T) {
	for _, seed := range []int64{0, 1, -7, 1 << 40} {
		ks := newKeyStream(seed)
		for i := uint64(0); i < 3*keyBatch+5; i++ {
			got := ks.nextKey()
			if i%97 != 0 && i != keyBatch && i != keyBatch+1 && i != 3*keyBatch+4 {
				continue
			}
			k := ks.privKey(i)
			want := secp.NewPrivateKey(&k).PubKey().SerializeCompressed()
			if string(got[:]) != string(want) {
				t.Fatalf("seed %d key %d: got %x, want %x", seed, i, got, want)
			}
		}
	}
}

func BenchmarkKeyStream(b *testing.B) {
	ks := newKeyStream(1)
	for b.Loop() {
		ks.nextKey()
	}
}
