package index

import (
	"encoding/hex"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestRealChain ingests mainnet heights 0-14131 and pins facts anyone can
// check on a block explorer.
func TestRealChain(t *testing.T) {
	recs := realRecords(t)
	blocks := t.TempDir()
	writeBlk(t, blocks, 0, recs, 1<<20) // zero padding as Core pre-allocates
	db := openTest(t, t.TempDir())
	sum := ingest(t, db, IngestOptions{BlocksDir: blocks, BatchTxs: 3000})
	st := db.Stats()
	if st.Height != 14131 || st.Txs != 14247 || st.Blocks != 14132 {
		t.Fatalf("stats %+v, want height 14131, 14247 txs", st)
	}
	if sum.Connected != 14132 || sum.Stale != 0 || sum.Orphans != 0 {
		t.Errorf("summary %+v", sum)
	}
	if st.BestHash != "00000000b3e750f37fdb42e1018799a9f44b546d393b130b369590a072430a1c" {
		t.Errorf("tip %s, want 00000000b3e750f3…0a1c (PROVENANCE.md)", st.BestHash)
	}
	// 14,131 coinbases of 50 BTC (the genesis output is unspendable); fees
	// are claimed by the coinbases, so the UTXO set holds at most that.
	if max := uint64(14131 * 50 * 100_000_000); st.UTXOValue > max || st.UTXOValue < max-100_000_000 {
		t.Errorf("utxo value %d, want about %d", st.UTXOValue, max)
	}
	hal := btc.MustParseHash("f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16")
	tx, err := db.Tx(hal)
	if err != nil {
		t.Fatal(err)
	}
	if *tx.Height != 170 || tx.Fee == nil || *tx.Fee != 0 || len(tx.Inputs) != 1 || len(tx.Outputs) != 2 {
		t.Fatalf("hal tx: %+v", tx)
	}
	in := tx.Inputs[0]
	if in.TxID != "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9" || *in.Vout != 0 ||
		*in.Value != 50*100_000_000 || *in.Address != "12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S" {
		t.Errorf("hal input %+v (want the block-9 coinbase, 50 BTC from 12cbQLTF…)", in)
	}
	want := []struct {
		addr  string
		value int64
	}{{"1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3", 10 * 100_000_000}, {"12cbQLTFMXRnSzktFkuoG3eHoMeFtpTu3S", 40 * 100_000_000}}
	for i, w := range want {
		o := tx.Outputs[i]
		if o.Type != "p2pk" || *o.Address != w.addr || o.Value != w.value {
			t.Errorf("hal output %d: %+v, want p2pk %s %d", i, o, w.addr, w.value)
		}
	}
	// The block-9 coinbase is spent by the Hal tx.
	cb, err := db.Tx(btc.MustParseHash(in.TxID))
	if err != nil {
		t.Fatal(err)
	}
	if *cb.Height != 9 || !cb.Inputs[0].Coinbase || cb.Outputs[0].SpentBy == nil || cb.Outputs[0].SpentBy.TxID != hal.String() {
		t.Errorf("block-9 coinbase: %+v", cb)
	}
	a, err := db.Address("1Q2TWHE3GMdB6BZKafqwxXtWAWgFt5Jvm3")
	if err != nil {
		t.Fatal(err)
	}
	if a.Type != "p2pkh" || a.Received < 10*100_000_000 || *a.FirstSeen != "2009-01-12T03:30:25Z" {
		t.Errorf("hal address %+v", a)
	}
	b, err := db.Block("170")
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != "00000000d1145790a8694403d4063f323d499e655c83426834d4ce2f8dd4a2ee" || b.TxCount != 2 || b.Time != "2009-01-12T03:30:25Z" {
		t.Errorf("block 170: %+v", b)
	}
	if g, _ := db.Block("0"); g.Hash != btc.Mainnet.Genesis.String() {
		t.Errorf("genesis %s", g.Hash)
	}
	if v, _ := db.get(keyTx(171)); hex.EncodeToString(v) != goldenHalTx {
		t.Errorf("stored tx 171 is %x, docs/format/index.md says %s", v, goldenHalTx)
	}
	r := mustCheck(t, db)
	t.Logf("height %d tip %s: %d txs, %d addresses, %d utxos (%d sat); check %+v", st.Height, st.BestHash, st.Txs, st.Addresses, st.UTXOs, st.UTXOValue, r)

	// A rerun over unchanged files does nothing.
	before := digest(t, db)
	sum = ingest(t, db, IngestOptions{BlocksDir: blocks})
	if sum.Connected != 0 || sum.NewHeaders != 0 || sum.RecordsScanned != 0 {
		t.Errorf("rerun did work: %+v", sum)
	}
	if digest(t, db) != before {
		t.Error("rerun changed the index")
	}
}
