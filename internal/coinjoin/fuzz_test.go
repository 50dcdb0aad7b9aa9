package coinjoin

import (
	"encoding/binary"
	"slices"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// fuzzValues are the amounts the rules care about; fuzzTx draws most
// values from them so that equal outputs, pool denominations and dust are
// common.
var fuzzValues = [...]btc.Amount{
	0, 546, 600, 2730, 5_000, 100_000, 103_000, 1_000_000, 1_004_500, 2_000_000, 5_000_000,
	10_000_000, 10_024_313, 20_048_626, 50_000_000, 200_000, 531_441, btc.UnknownAmount,
}

// fuzzTx builds a transaction from data: a header (input count, output
// count, a repeat factor for the outputs), then per input and per output a
// few bytes choosing value, script type and address. Missing bytes read as
// zero, so every input gives a transaction.
func fuzzTx(data []byte) *Tx {
	p := 0
	next := func() byte {
		if p >= len(data) {
			p++
			return 0
		}
		p++
		return data[p-1]
	}
	value := func() btc.Amount {
		b := next()
		if b&0x80 == 0 {
			return fuzzValues[int(b)%len(fuzzValues)]
		}
		var raw [4]byte
		for i := range raw {
			raw[i] = next()
		}
		return btc.Amount(binary.LittleEndian.Uint32(raw[:])) - 1000 // small negatives too
	}
	addr := func() btc.AddrID {
		b := next()
		if b == 0xff {
			return btc.NoAddr
		}
		return btc.AddrID(b % 16)
	}
	nIn, nOut, repeat := int(next()), int(next()), 1+int(next()%16)
	tx := &Tx{Height: btc.Height(next())}
	for i := 0; i < nIn; i++ {
		flags := next()
		tx.Ins = append(tx.Ins, In{
			Value:    value(),
			Type:     address.Type(flags % 12),
			Addr:     addr(),
			Coinbase: flags == 0xfe,
			Resolved: flags&1 == 1,
		})
	}
	for i := 0; i < nOut; i++ {
		typ := address.Type(next() % 12)
		tx.Outs = append(tx.Outs, Out{Value: value(), Type: typ, Addr: addr()})
	}
	// Repeat the outputs (and as many inputs) to reach the large-round and
	// huge paths: up to 255×16 outputs.
	if repeat > 1 {
		outs, ins := tx.Outs, tx.Ins
		for r := 1; r < repeat; r++ {
			for _, o := range outs {
				if o.Addr != btc.NoAddr {
					o.Addr += btc.AddrID(r * 16)
				}
				tx.Outs = append(tx.Outs, o)
			}
			for _, in := range ins {
				if in.Addr != btc.NoAddr {
					in.Addr += btc.AddrID(r * 16)
				}
				tx.Ins = append(tx.Ins, in)
			}
		}
	}
	return tx
}

// checkVerdict checks what every verdict must satisfy.
func checkVerdict(t *testing.T, tx *Tx, v Verdict) {
	t.Helper()
	if v.Kind == NotCoinJoin {
		if v != (Verdict{}) {
			t.Fatalf("NotCoinJoin with a non-zero verdict %+v", v)
		}
		return
	}
	if v.Kind > Denominations {
		t.Fatalf("unknown kind %d", v.Kind)
	}
	equal := 0
	for _, o := range tx.Outs {
		if o.Value == v.Denomination {
			equal++
		}
	}
	if v.Kind == Denominations {
		// Participants counts the outputs on the schedule, Denomination
		// is one of them.
		onSchedule := 0
		for _, o := range tx.Outs {
			if _, ok := slices.BinarySearch(oddDenoms, o.Value); ok {
				onSchedule++
			}
		}
		if equal == 0 || onSchedule != v.Participants || v.Participants < denomMin {
			t.Fatalf("%+v: %d outputs on the schedule, %d at the denomination", v, onSchedule, equal)
		}
		equal = v.Participants
	}
	if v.Participants < 2 || v.Participants > len(tx.Outs) || equal != v.Participants {
		t.Fatalf("%+v: %d of %d outputs have value %d, want Participants (at least 2)", v, equal, len(tx.Outs), v.Denomination)
	}
	if len(tx.Ins) < 2 {
		t.Fatalf("%+v with %d inputs", v, len(tx.Ins))
	}
	for _, in := range tx.Ins {
		if in.Coinbase {
			t.Fatalf("%+v for a coinbase", v)
		}
	}
	switch v.Kind {
	case Whirlpool:
		if len(tx.Ins) != len(tx.Outs) || equal != len(tx.Outs) || !slices.Contains(whirlpoolPools[:], v.Denomination) {
			t.Fatalf("%+v: %d in, %d out, %d equal", v, len(tx.Ins), len(tx.Outs), equal)
		}
	case Wasabi2:
		if !isWasabi2Denom(v.Denomination) || len(tx.Ins) < wasabi2MinInputs {
			t.Fatalf("%+v: not a standard denomination or %d inputs", v, len(tx.Ins))
		}
	case Wasabi1:
		if v.Participants < wasabi1MinEqual || v.Denomination < wasabi1Base-wasabi1Precision || v.Denomination > wasabi1Base+wasabi1Precision {
			t.Fatalf("%+v outside the Wasabi 1 rule", v)
		}
	case JoinMarket:
		if n := len(tx.Outs); n != 2*v.Participants && n != 2*v.Participants-1 {
			t.Fatalf("%+v with %d outputs", v, n)
		}
	case EqualOutputs:
		repeated := 0
		for _, o := range tx.Outs {
			n := 0
			for _, p := range tx.Outs {
				if p.Value == o.Value {
					n++
				}
			}
			if n >= 2 && o.Value >= collabMinValue {
				repeated++
			}
		}
		if v.Denomination < collabMinValue || (len(tx.Outs) <= maxSorted && repeated*equalShareDen < len(tx.Outs)) {
			t.Fatalf("%+v: %d of %d outputs at repeated values", v, repeated, len(tx.Outs))
		}
	case Generic:
		if v.Participants != (len(tx.Outs)+1)/2 || v.Denomination == 546 || v.Denomination == 2730 {
			t.Fatalf("%+v with %d outputs", v, len(tx.Outs))
		}
	}
}

// FuzzDetect builds a transaction from the fuzz input and checks that
// Detect does not panic, leaves the transaction alone, gives the same
// verdict twice, and gives a self-consistent verdict (checkVerdict).
func FuzzDetect(f *testing.F) {
	// Seeds: the shapes of the table tests, encoded by hand.
	f.Add([]byte{})
	f.Add([]byte{2, 3, 0, 0, 1, 0, 4, 1, 0, 5, 2, 9, 7, 3, 9, 8, 3, 6, 9})                                     // 2 in, 3 out
	f.Add([]byte{5, 5, 0, 0, 4, 7, 1, 4, 7, 2, 4, 8, 3, 4, 8, 4, 4, 7, 5, 4, 7, 6, 4, 7, 7, 4, 7, 8, 4, 7, 9}) // whirlpool-like
	f.Add([]byte{3, 5, 3, 0, 2, 17, 1, 2, 17, 2, 2, 17, 3, 2, 1, 4, 2, 1, 5, 2, 1, 6, 2, 5, 7, 2, 6, 8})       // dust, repeated
	f.Add([]byte{40, 60, 15, 0})                                                                               // all-zero body, huge after repeat
	f.Add([]byte{7, 10, 0, 0, 3, 0x80, 1, 2, 3, 1, 3, 0x81, 5, 5, 5, 2})
	for _, c := range detectCases()[:8] {
		f.Add(encodeFuzzTx(c.tx))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 1<<12 {
			return
		}
		tx := fuzzTx(data)
		ins, outs := slices.Clone(tx.Ins), slices.Clone(tx.Outs)
		v := Detect(tx)
		if !slices.Equal(ins, tx.Ins) || !slices.Equal(outs, tx.Outs) {
			t.Fatal("Detect modified the transaction")
		}
		if w := Detect(tx); w != v {
			t.Fatalf("Detect gave %+v then %+v", v, w)
		}
		checkVerdict(t, tx, v)
		all := DetectWith(tx, AllFamilies)
		checkVerdict(t, tx, all)
		if v.Kind != NotCoinJoin && all != v {
			t.Fatalf("DetectWith(all) = %+v, but the protocol families alone found %+v", all, v)
		}
		if !slices.Equal(ins, tx.Ins) || !slices.Equal(outs, tx.Outs) {
			t.Fatal("DetectWith modified the transaction")
		}
	})
}

// encodeFuzzTx writes tx in fuzzTx's format where it can (counts up to
// 255, values as raw 32-bit amounts, addresses mod 16), so that table
// cases seed the corpus.
func encodeFuzzTx(tx *Tx) []byte {
	b := []byte{byte(min(len(tx.Ins), 255)), byte(min(len(tx.Outs), 255)), 0, 0}
	val := func(v btc.Amount) {
		if i := slices.Index(fuzzValues[:], v); i >= 0 {
			b = append(b, byte(i))
			return
		}
		b = append(b, 0x80)
		b = binary.LittleEndian.AppendUint32(b, uint32(v+1000))
	}
	a := func(id btc.AddrID) {
		if id == btc.NoAddr {
			b = append(b, 0xff)
		} else {
			b = append(b, byte(id%16))
		}
	}
	for _, in := range tx.Ins[:min(len(tx.Ins), 255)] {
		b = append(b, byte(in.Type))
		val(in.Value)
		a(in.Addr)
	}
	for _, o := range tx.Outs[:min(len(tx.Outs), 255)] {
		b = append(b, byte(o.Type))
		val(o.Value)
		a(o.Addr)
	}
	return b
}

// TestDetectVerdictsConsistent runs checkVerdict over the table cases.
func TestDetectVerdictsConsistent(t *testing.T) {
	for _, c := range detectCases() {
		checkVerdict(t, c.tx, Detect(c.tx))
	}
}
