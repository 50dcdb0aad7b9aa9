package sim

import (
	"crypto/sha256"
	"hash"

	secp "github.com/decred/dcrd/dcrec/secp256k1/v4"
	"golang.org/x/crypto/ripemd160" //nolint:staticcheck // HASH160 is RIPEMD160(SHA256(x)) by consensus.
)

// keyBatch is how many public keys keyStream derives per field inversion.
const keyBatch = 512

// keyStream hands out real secp256k1 public keys fast. Key number i has the
// private key k0+i, where k0 is derived from the seed, so its public key is
// P_i = P_{i-1} + G. A batch of keyBatch keys is computed from the last key
// P of the previous batch as P + j·G (j = 1..keyBatch, a precomputed affine
// table) with affine additions whose denominators are inverted together
// (Montgomery's trick): about six field multiplications per key instead of
// a scalar multiplication.
type keyStream struct {
	k0  secp.ModNScalar
	px  secp.FieldVal // last key of the previous batch, affine
	py  secp.FieldVal
	tx  [keyBatch]secp.FieldVal // j·G for j = 1..keyBatch, affine
	ty  [keyBatch]secp.FieldVal
	d   [keyBatch]secp.FieldVal // x(j·G) - x(P), then its inverse
	acc [keyBatch]secp.FieldVal
	out [keyBatch][33]byte
	pos int // next unread entry of out
	// first is true until the first key, P_0 = k0·G itself, is handed out.
	first bool
	p0    [33]byte
}

func newKeyStream(seed int64) *keyStream {
	var ks keyStream
	var b [32]byte
	h := sha256.Sum256(append([]byte("sleuth/sim/k0"), byte(seed), byte(seed>>8), byte(seed>>16),
		byte(seed>>24), byte(seed>>32), byte(seed>>40), byte(seed>>48), byte(seed>>56)))
	copy(b[:], h[:])
	b[0] &= 0x7f // stay far below the group order
	b[0] |= 0x10 // and far from zero
	ks.k0.SetBytes(&b)
	var p secp.JacobianPoint
	secp.ScalarBaseMultNonConst(&ks.k0, &p)
	p.ToAffine()
	ks.px, ks.py = p.X, p.Y
	ks.p0 = compress(&p.X, &p.Y)
	ks.first = true

	// The table j·G, j = 1..keyBatch, by Jacobian additions normalised
	// one at a time (once per run).
	var one secp.ModNScalar
	one.SetInt(1)
	var g, cur secp.JacobianPoint
	secp.ScalarBaseMultNonConst(&one, &g)
	g.ToAffine()
	cur = g
	for j := 0; j < keyBatch; j++ {
		a := cur
		a.ToAffine()
		ks.tx[j], ks.ty[j] = a.X, a.Y
		var next secp.JacobianPoint
		secp.AddNonConst(&cur, &g, &next)
		cur = next
	}
	ks.pos = keyBatch
	return &ks
}

func compress(x, y *secp.FieldVal) (o [33]byte) {
	o[0] = 0x02
	if y.IsOdd() {
		o[0] = 0x03
	}
	x.PutBytesUnchecked(o[1:33])
	return o
}

// privKey returns the private key of key number i (for tests).
func (ks *keyStream) privKey(i uint64) secp.ModNScalar {
	var k, d secp.ModNScalar
	var b [32]byte
	for j := 0; j < 8; j++ {
		b[31-j] = byte(i >> (8 * j))
	}
	d.SetBytes(&b)
	k.Add2(&ks.k0, &d)
	return k
}

// nextKey returns the compressed public key of the next key.
func (ks *keyStream) nextKey() [33]byte {
	if ks.first {
		ks.first = false
		return ks.p0
	}
	if ks.pos == keyBatch {
		ks.fill()
	}
	k := ks.out[ks.pos]
	ks.pos++
	return k
}

// fill computes P + j·G for j = 1..keyBatch and moves P to the last one.
func (ks *keyStream) fill() {
	var negPx, negPy secp.FieldVal
	negPx.NegateVal(&ks.px, 1)
	negPy.NegateVal(&ks.py, 1)
	for j := range ks.d {
		ks.d[j].Set(&ks.tx[j]).Add(&negPx).Normalize()
		if ks.d[j].IsZero() {
			panic("sim: key stream hit j·G = ±P") // probability ~2^-246
		}
	}
	ks.acc[0] = ks.d[0]
	for j := 1; j < keyBatch; j++ {
		ks.acc[j].Mul2(&ks.acc[j-1], &ks.d[j])
	}
	var inv secp.FieldVal
	inv.Set(&ks.acc[keyBatch-1]).Normalize().Inverse()
	for j := keyBatch - 1; j > 0; j-- {
		var dj secp.FieldVal
		dj.Mul2(&inv, &ks.acc[j-1]) // d_j^-1
		inv.Mul(&ks.d[j])
		ks.d[j] = dj
	}
	ks.d[0] = inv
	var x3, y3 secp.FieldVal
	for j := range ks.d {
		var lambda, t secp.FieldVal
		lambda.Set(&ks.ty[j]).Add(&negPy).Mul(&ks.d[j]) // (y_T - y_P) / (x_T - x_P)
		x3.SquareVal(&lambda).Add(&negPx)
		t.NegateVal(&ks.tx[j], 1)
		x3.Add(&t).Normalize() // λ² - x_P - x_T
		t.NegateVal(&x3, 1)
		t.Add(&ks.px)
		y3.Mul2(&lambda, &t).Add(&negPy).Normalize() // λ(x_P - x3) - y_P
		ks.out[j] = compress(&x3, &y3)
	}
	ks.px, ks.py = x3, y3
	ks.pos = 0
}

// keyRec is a public key and its HASH160.
type keyRec struct {
	pub  [33]byte
	h160 [20]byte
}

// keySource derives keys (and their HASH160) on its own goroutine, a batch
// ahead of the generator. The sequence is the keyStream's, so output does
// not depend on scheduling.
type keySource struct {
	ch   chan *[keyBatch]keyRec
	free chan *[keyBatch]keyRec
	done chan struct{}
	cur  *[keyBatch]keyRec
	pos  int
}

func startKeySource(seed int64) *keySource {
	src := &keySource{
		ch:   make(chan *[keyBatch]keyRec, 4),
		free: make(chan *[keyBatch]keyRec, 8),
		done: make(chan struct{}),
		pos:  keyBatch,
	}
	go func() {
		ks := newKeyStream(seed)
		h := newHasher()
		for {
			var b *[keyBatch]keyRec
			select {
			case b = <-src.free:
			default:
				b = new([keyBatch]keyRec)
			}
			for i := range b {
				b[i].pub = ks.nextKey()
				b[i].h160 = h.hash160(b[i].pub[:])
			}
			select {
			case src.ch <- b:
			case <-src.done:
				return
			}
		}
	}()
	return src
}

// next returns the next key.
func (src *keySource) next() *keyRec {
	if src.pos == keyBatch {
		if src.cur != nil {
			select {
			case src.free <- src.cur:
			default:
			}
		}
		src.cur = <-src.ch
		src.pos = 0
	}
	k := &src.cur[src.pos]
	src.pos++
	return k
}

// stop ends the goroutine.
func (src *keySource) stop() { close(src.done) }

// hasher computes HASH160 without allocating.
type hasher struct {
	rip hash.Hash
	buf [32]byte
}

func newHasher() *hasher { return &hasher{rip: ripemd160.New()} }

// hash160 returns RIPEMD160(SHA256(b)).
func (h *hasher) hash160(b []byte) (out [20]byte) {
	s := sha256.Sum256(b)
	h.rip.Reset()
	h.rip.Write(s[:])
	h.rip.Sum(h.buf[:0])
	copy(out[:], h.buf[:20])
	return out
}
