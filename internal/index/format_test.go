package index

import (
	"encoding/hex"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/encoding"
)

// goldenHalTx is the stored record of the Satoshi-to-Hal payment: tx
// number 171, spending output 0 of tx 9 (the block-9 coinbase, address id 9),
// paying address ids 171 (Hal) and 9 (change). TestRealChain checks the real
// ingest stores exactly these bytes.
const goldenHalTx = "169e1e83e930853391bc6f35f605c6754cfead57cf8387639d3b4096c54f18f4" +
	"aa0101009302cc08" + "01018080804881e497d0120a01" + "028094ebdc0301ac01" + "80d0acf30e010a"

// TestGoldenRecords pins the byte layout of the keys and values that
// docs/format/index.md works out by hand for block 170's Satoshi-to-Hal
// payment (tx number 171: one coinbase per block for heights 0-169, then
// this block's coinbase). If this test changes, so must the document and
// FormatVersion.
func TestGoldenRecords(t *testing.T) {
	hal := btc.MustParseHash("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	cb9 := btc.MakeOutRef(9, 0)
	tr := txRecord{TxID: hal, Height: 170, Version: 1, LockTime: 0, Size: 275, Weight: 1100,
		Ins:  []txIn{{Kind: inResolved, Prev: cb9, Value: 50_0000_0000, Addr: 9, Type: 1}},
		Outs: []txOut{{Value: 10_0000_0000, Type: 1, Addr: 171}, {Value: 40_0000_0000, Type: 1, Addr: 9}}}
	var e encoding.Encbuf
	tr.encodeHead(&e, false)
	e.PutUvarint(1)
	encodeIn(&e, &tr.Ins[0])
	e.PutUvarint(2)
	encodeOut(&e, &tr.Outs[0])
	encodeOut(&e, &tr.Outs[1])
	cases := []struct {
		name, got, want string
	}{
		{"tx key", hex.EncodeToString(keyTx(171)), "1000000000000000ab"},
		{"txid key", hex.EncodeToString(keyTxID(nil, hal, 171)), "11169e1e83e930853391bc6f35f605c6754cfead57cf8387639d3b4096c54f18f4"[:18] + "00000000000000ab"},
		{"utxo key", hex.EncodeToString(keyUTXO(nil, hal, 1)), "12" + hex.EncodeToString(hal[:]) + "00000001"},
		{"spend key", hex.EncodeToString(keySpend(nil, cb9)), "130000000009000000"},
		{"address tx key", hex.EncodeToString(keyAddrTx(nil, 171, 171)), "2300000000000000ab00000000000000ab"},
		{"tx value", hex.EncodeToString(e.Get()),
			hex.EncodeToString(hal[:]) + // txid
				"aa01" + "01" + "00" + "9302" + "cc08" + // height 170, version 1, locktime 0, size 275, weight 1100
				"01" + "01" + "80808048" + "81e497d012" + "0a" + "01" + // 1 input: resolved, outref 9<<24 = 150994944, value+1 = 5000000001, addr 9+1, p2pk
				"02" + "8094ebdc03" + "01" + "ac01" + // output 0: 1000000000 sat, p2pk, addr 171+1
				"80d0acf30e" + "01" + "0a"}, // output 1: 4000000000 sat, p2pk, addr 9+1
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s:\n got %s\nwant %s", c.name, c.got, c.want)
		}
	}
	if got := hex.EncodeToString(e.Get()); got != goldenHalTx {
		t.Errorf("tx value differs from goldenHalTx:\n got %s\nwant %s", got, goldenHalTx)
	}
	var back txRecord
	if err := back.decode(e.Get(), false); err != nil {
		t.Fatal(err)
	}
	if back.TxID != tr.TxID || len(back.Ins) != 1 || back.Ins[0] != tr.Ins[0] || back.Outs[1] != tr.Outs[1] {
		t.Fatalf("round trip: %+v", back)
	}
}

// FuzzRecordDecode: no stored record, however damaged, panics a decoder.
func FuzzRecordDecode(f *testing.F) {
	var e encoding.Encbuf
	(&txRecord{Ins: []txIn{{Kind: inUnresolved}}, Outs: []txOut{{Value: 5}}}).encodeHead(&e, true)
	f.Add(e.Get())
	f.Add([]byte{})
	f.Add(make([]byte, 200))
	f.Fuzz(func(t *testing.T, b []byte) {
		var tr txRecord
		_ = tr.decode(b, false)
		_ = tr.decode(b, true)
		var br blockRecord
		_ = br.decode(b)
		var hr headerRecord
		_ = hr.decode(b)
		var u utxoRecord
		_ = u.decode(b)
		var s addrStats
		_ = s.decode(b)
		var st state
		_ = st.decode(b)
		var r addrTxRecord
		_ = r.decode(b)
	})
}
