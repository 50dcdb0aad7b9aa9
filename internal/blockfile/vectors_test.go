package blockfile

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// vectorsDir holds Bitcoin Core's consensus test vectors (btcd's copy; see
// shared/data/btc-test-vectors/PROVENANCE.md).
const vectorsDir = "../../../shared/data/btc-test-vectors"

// coreVectorTxs returns the serialized transactions of tx_valid.json and
// tx_invalid.json: entries [prevouts, tx hex, flags]; one-element entries
// are comments. ok is false when the data set is absent.
func coreVectorTxs(tb testing.TB) (txs [][]byte, ok bool) {
	tb.Helper()
	for _, name := range []string{"tx_valid.json", "tx_invalid.json"} {
		b, err := os.ReadFile(vectorsDir + "/" + name)
		if err != nil {
			return nil, false
		}
		var entries [][]json.RawMessage
		if err := json.Unmarshal(b, &entries); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		for i, e := range entries {
			if len(e) < 3 {
				continue
			}
			var h string
			if err := json.Unmarshal(e[1], &h); err != nil {
				tb.Fatalf("%s entry %d: %v", name, i, err)
			}
			raw, err := hex.DecodeString(h)
			if err != nil {
				tb.Fatalf("%s entry %d: %v", name, i, err)
			}
			txs = append(txs, raw)
		}
	}
	return txs, true
}

// TestCoreTxVectors: every transaction of Bitcoin Core's tx_valid and
// tx_invalid vectors (invalid by script or consensus rules, not by
// encoding, except where noted) decodes exactly as btcd's wire decodes it.
func TestCoreTxVectors(t *testing.T) {
	txs, ok := coreVectorTxs(t)
	if !ok {
		t.Skipf("Bitcoin Core test vectors not found at %s", vectorsDir)
	}
	var tx Tx
	agree, bothFail := 0, 0
	for i, raw := range txs {
		n, err := ParseTx(raw, &tx)
		var ref wire.MsgTx
		rerr := ref.Deserialize(bytes.NewReader(raw))
		switch {
		case err != nil && rerr != nil:
			bothFail++
			continue
		case err != nil || rerr != nil:
			t.Errorf("vector %d: sleuth err %v, btcd err %v", i, err, rerr)
			continue
		}
		if n != len(raw) {
			t.Errorf("vector %d: parsed %d of %d bytes", i, n, len(raw))
		}
		if tx.TxID != [32]byte(ref.TxHash()) || len(tx.Ins) != len(ref.TxIn) || len(tx.Outs) != len(ref.TxOut) ||
			tx.Size != ref.SerializeSize() || tx.BaseSize != ref.SerializeSizeStripped() {
			t.Errorf("vector %d: txid %s ins %d outs %d size %d, btcd %s %d %d %d", i, tx.TxID, len(tx.Ins), len(tx.Outs), tx.Size,
				ref.TxHash(), len(ref.TxIn), len(ref.TxOut), ref.SerializeSize())
			continue
		}
		agree++
	}
	if agree < 200 { // the files hold 214 transactions
		t.Errorf("only %d of %d vectors decoded", agree, len(txs))
	}
	t.Logf("%d of %d Core vector txs decode identically to btcd; %d rejected by both", agree, len(txs), bothFail)
}
