package regtest

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/btcsuite/btcd/chainhash/v2"
	"github.com/btcsuite/btcd/txscript/v2"
	"github.com/btcsuite/btcd/wire/v2"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// build is Build(seed), failing the test on error.
func build(t *testing.T, seed int64) *Scenario {
	t.Helper()
	s, err := Build(seed)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestDeterministic: equal seeds give byte-identical blocks, other seeds
// other blocks.
func TestDeterministic(t *testing.T) {
	a, b, c := build(t, 1), build(t, 1), build(t, 2)
	if len(a.Best) != len(b.Best) || len(a.Branch) != len(b.Branch) {
		t.Fatalf("seed 1 twice: %d/%d blocks, %d/%d branch blocks", len(a.Best), len(b.Best), len(a.Branch), len(b.Branch))
	}
	for i := range a.Best {
		if !bytes.Equal(a.Best[i].Raw, b.Best[i].Raw) {
			t.Fatalf("seed 1 twice: block %d differs", a.Best[i].Height)
		}
	}
	if a.Tip().Hash == c.Tip().Hash || a.Truth.Theft == c.Truth.Theft {
		t.Fatal("seeds 1 and 2 gave the same chain")
	}
}

// TestChainValid checks each scenario chain (best, best to the fork then
// the branch, best then the rejoin) the way a node does, apart from the node's own code:
// headers link, timestamps rise above the median time past, every hash
// meets Bits, Merkle roots and witness commitments match, coinbases carry
// their height and pay exactly subsidy plus fees, coinbases are spent only
// when mature, and every input spends an unspent output with a script
// that btcd's engine verifies (ECDSA for P2PKH and P2WPKH, Schnorr for
// P2TR).
func TestChainValid(t *testing.T) {
	for _, seed := range []int64{1, 7} {
		s := build(t, seed)
		spent := checkChain(t, s.Best)
		for _, k := range []Kind{P2PKH, P2WPKH, P2TR} {
			if spent[k] == 0 {
				t.Errorf("seed %d: no %s input spent", seed, k)
			}
		}
		if len(s.Branch) != len(s.Best)-int(s.Fork)+1 || s.Branch[0].Height != s.Fork+1 {
			t.Fatalf("seed %d: branch of %d blocks from height %d; best chain has %d after the fork at %d",
				seed, len(s.Branch), s.Branch[0].Height, len(s.Best)-int(s.Fork), s.Fork)
		}
		checkChain(t, append(append([]Block(nil), s.Best[:s.Fork]...), s.Branch...))
		checkChain(t, append(append([]Block(nil), s.Best...), s.Rejoin...))
		if len(s.Rejoin) != len(s.Branch)-(len(s.Best)-int(s.Fork))+1 {
			t.Fatalf("seed %d: rejoin of %d blocks does not outgrow the branch", seed, len(s.Rejoin))
		}
	}
}

// checkChain validates blocks (heights 1.. on regtest's genesis) and
// counts the inputs spent of each script kind.
func checkChain(t *testing.T, blocks []Block) map[Kind]int {
	t.Helper()
	g := params.GenesisBlock
	prev := g.BlockHash()
	times := []int64{g.Header.Timestamp.Unix()}
	utxo := map[wire.OutPoint]*wire.TxOut{}
	born := map[wire.OutPoint]int64{} // coinbase outputs' heights
	spent := map[Kind]int{}
	for i, b := range blocks {
		h := int64(i + 1)
		m := b.Msg
		hash := m.BlockHash()
		if b.Height != h || b.Hash != btc.Hash(hash) || m.Header.PrevBlock != prev {
			t.Fatalf("block %d: height %d, hash %s, prev %s; want height %d after %s", i, b.Height, b.Hash, m.Header.PrevBlock, h, prev)
		}
		var raw bytes.Buffer
		if err := m.Serialize(&raw); err != nil || !bytes.Equal(raw.Bytes(), b.Raw) {
			t.Fatalf("block %d: Raw is not the block's serialization (%v)", h, err)
		}
		if m.Header.Bits != Bits {
			t.Fatalf("block %d: bits %08x, want %08x", h, m.Header.Bits, Bits)
		}
		checkSealed(t, b)
		if ts := m.Header.Timestamp.Unix(); ts <= MedianTimePast(times) {
			t.Fatalf("block %d: time %d not above the median time past %d", h, ts, MedianTimePast(times))
		}
		times = append(times, m.Header.Timestamp.Unix())
		cb := m.Transactions[0]
		if n := coinbaseHeight(cb.TxIn[0].SignatureScript); n != h {
			t.Fatalf("block %d: coinbase script %x starts with height %d", h, cb.TxIn[0].SignatureScript, n)
		}
		var fees int64
		for j, tx := range m.Transactions[1:] {
			fetch := txscript.NewMultiPrevOutFetcher(nil)
			var in int64
			for _, ti := range tx.TxIn {
				o := utxo[ti.PreviousOutPoint]
				if o == nil {
					t.Fatalf("block %d tx %d: input %s is not an unspent output", h, j+1, ti.PreviousOutPoint)
				}
				if bh, ok := born[ti.PreviousOutPoint]; ok && h < bh+Maturity {
					t.Fatalf("block %d tx %d: spends the coinbase of height %d before maturity", h, j+1, bh)
				}
				fetch.AddPrevOut(ti.PreviousOutPoint, o)
				in += o.Value
				delete(utxo, ti.PreviousOutPoint)
				spent[kindOf(o.PkScript)]++
			}
			if err := verifyTx(tx, fetch); err != nil {
				t.Fatalf("block %d: %v", h, err)
			}
			for k, o := range tx.TxOut {
				in -= o.Value
				utxo[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(k)}] = o
			}
			if in <= 0 {
				t.Fatalf("block %d tx %d: fee %d", h, j+1, in)
			}
			fees += in
		}
		var out int64
		for k, o := range cb.TxOut {
			out += o.Value
			op := wire.OutPoint{Hash: cb.TxHash(), Index: uint32(k)}
			utxo[op], born[op] = o, h
		}
		if out != subsidy(h)+fees {
			t.Fatalf("block %d: coinbase pays %d, want subsidy %d + fees %d", h, out, subsidy(h), fees)
		}
		prev = hash
	}
	return spent
}

// checkCommitment: a block with witness transactions commits to their
// witness root (BIP141) and its coinbase witness is the 32-byte reserved
// value; a block without carries neither.
func checkCommitment(t *testing.T, h int64, m *wire.MsgBlock, root chainhash.Hash) {
	t.Helper()
	witness := false
	for _, tx := range m.Transactions[1:] {
		witness = witness || tx.HasWitness()
	}
	if witness && h < ActivationHeight {
		t.Fatalf("block %d: witness data before activation at %d", h, ActivationHeight)
	}
	cb := m.Transactions[0]
	var commit []byte
	for _, o := range cb.TxOut {
		if len(o.PkScript) == 38 && bytes.HasPrefix(o.PkScript, []byte{0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed}) {
			commit = o.PkScript[6:]
		}
	}
	if !witness {
		if commit != nil || cb.HasWitness() {
			t.Fatalf("block %d: witness commitment without witness transactions", h)
		}
		return
	}
	if len(cb.TxIn[0].Witness) != 1 || len(cb.TxIn[0].Witness[0]) != 32 {
		t.Fatalf("block %d: coinbase witness %x, want one 32-byte item", h, cb.TxIn[0].Witness)
	}
	want := chainhash.DoubleHashH(append(root[:], cb.TxIn[0].Witness[0]...))
	if !bytes.Equal(commit, want[:]) {
		t.Fatalf("block %d: witness commitment %x, want %x", h, commit, want)
	}
}

// TestTruth: the answer key matches the blocks and tells the story: the
// theft empties the hot wallet, the CoinJoin has equal outputs, the
// deposit's coins come from the theft, and the branch has no deposit.
func TestTruth(t *testing.T) {
	s := build(t, 1)
	tr := &s.Truth
	inBlock := map[btc.Hash]btc.Hash{} // txid -> block, best chain
	for _, b := range s.Best {
		for _, tx := range b.Msg.Transactions {
			inBlock[btc.Hash(tx.TxHash())] = b.Hash
		}
	}
	roles := map[string]int{}
	for _, tx := range tr.Txs {
		roles[tx.Role]++
		if inBlock[tx.Txid] != tx.Block || s.Best[tx.Height-1].Hash != tx.Block {
			t.Fatalf("%s %s: not in block %d %s", tx.Role, tx.Txid, tx.Height, tx.Block)
		}
		if tx.Fee() <= 0 {
			t.Fatalf("%s %s: fee %d", tx.Role, tx.Txid, tx.Fee())
		}
	}
	for _, r := range []string{"cold-wallet", "fund-hot", "user-fund", "theft", "split", "peel", "coinjoin", "deposit", "thief-move"} {
		if roles[r] == 0 {
			t.Errorf("no %s transaction", r)
		}
	}
	theft, _ := tr.Tx(tr.Theft)
	hot := map[string]bool{}
	for _, a := range tr.HotWallet {
		hot[a] = true
	}
	for _, in := range theft.Inputs {
		if !hot[in.Address] {
			t.Fatalf("theft input %+v is not the hot wallet's", in)
		}
	}
	if len(theft.Inputs) != len(tr.HotWallet) {
		t.Fatalf("theft spends %d hot-wallet outputs, want %d", len(theft.Inputs), len(tr.HotWallet))
	}
	cj, _ := tr.Tx(tr.CoinJoin)
	equal := map[int64]int{}
	for _, o := range cj.Outputs {
		equal[o.Value]++
	}
	if equal[5_0000_0000] != len(cj.Inputs) {
		t.Fatalf("CoinJoin outputs %+v: want %d equal outputs", cj.Outputs, len(cj.Inputs))
	}
	// Every input of the deposit descends from the theft.
	dep, ok := tr.Tx(tr.Deposit.Txid)
	if !ok || len(dep.Outputs) != 1 || dep.Outputs[0].Address != tr.Deposit.Address || dep.Outputs[0].Value != tr.Deposit.Value ||
		dep.Height != tr.Deposit.Height || dep.Height != s.Fork+1 {
		t.Fatalf("deposit %+v does not match the key %+v (fork %d)", dep, tr.Deposit, s.Fork)
	}
	var fromTheft func(txid btc.Hash) bool
	fromTheft = func(txid btc.Hash) bool {
		if txid == tr.Theft {
			return true
		}
		tx, ok := tr.Tx(txid)
		if !ok {
			return false
		}
		for _, in := range tx.Inputs {
			if fromTheft(in.Txid) {
				return true
			}
		}
		return false
	}
	for _, in := range dep.Inputs {
		if !fromTheft(in.Txid) {
			t.Fatalf("deposit input %s:%d does not descend from the theft", in.Txid, in.Vout)
		}
	}
	// The deposit: a CoinJoin output (the thief's part of its inputs is
	// stolen) and a peel's change (all stolen).
	cjShare := float64(cj.Inputs[0].Value) / float64(cj.Inputs[0].Value+cj.Inputs[1].Value+cj.Inputs[2].Value)
	var cjIn, peelIn int64
	for _, in := range dep.Inputs {
		if in.Txid == tr.CoinJoin {
			cjIn += in.Value
		} else {
			peelIn += in.Value
		}
	}
	want := (float64(cjIn)*cjShare + float64(peelIn)) / float64(cjIn+peelIn)
	if got := tr.TheftShare(tr.Deposit.Txid); got < want-1e-9 || got > want+1e-9 || tr.TheftShare(theft.Txid) != 0 {
		t.Fatalf("deposit's theft share %f, want %f (CoinJoin share %f)", got, want, cjShare)
	}
	for _, b := range s.Branch {
		for _, tx := range b.Msg.Transactions {
			if btc.Hash(tx.TxHash()) == tr.Deposit.Txid {
				t.Fatal("the branch holds the deposit")
			}
		}
	}
}

// TestWriteBlocksDir: the blocks directory holds genesis then the given
// blocks, framed with regtest's magic, in order.
func TestWriteBlocksDir(t *testing.T) {
	s := build(t, 1)
	dir := t.TempDir()
	if err := s.WriteBlocksDir(dir, s.Best, s.Branch); err != nil {
		t.Fatal(err)
	}
	want := []btc.Hash{btc.Regtest.Genesis}
	for _, c := range [][]Block{s.Best, s.Branch} {
		for _, b := range c {
			want = append(want, b.Hash)
		}
	}
	var got []btc.Hash
	if _, err := blockfile.Scan(context.Background(), filepath.Join(dir, "blk00000.dat"), 0, blockfile.ScanOptions{Magic: btc.Regtest.Magic},
		func(r blockfile.Record) error {
			got = append(got, blockfile.HeaderHash(r.Header[:]))
			return nil
		}); err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d records, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("record %d is block %s, want %s", i, got[i], want[i])
		}
	}
}

// coinbaseHeight reads BIP34's height, the first push of a coinbase
// script (OP_1..OP_16, or a minimal little-endian number); -1 if none.
func coinbaseHeight(script []byte) int64 {
	tok := txscript.MakeScriptTokenizer(0, script)
	if !tok.Next() {
		return -1
	}
	op := tok.Opcode()
	if op >= txscript.OP_1 && op <= txscript.OP_16 {
		return int64(op - txscript.OP_1 + 1)
	}
	d := tok.Data()
	if len(d) == 0 || len(d) > 8 || d[len(d)-1]&0x80 != 0 {
		return -1
	}
	var n int64
	for i := len(d) - 1; i >= 0; i-- {
		n = n<<8 | int64(d[i])
	}
	return n
}

// TestTamper: a tampered block differs from the original only in one
// signature, which no longer verifies; its Merkle root, witness
// commitment and proof of work are valid again.
func TestTamper(t *testing.T) {
	s := build(t, 1)
	outs := map[wire.OutPoint]*wire.TxOut{}
	for _, b := range s.Best {
		for _, tx := range b.Msg.Transactions {
			for i, o := range tx.TxOut {
				outs[wire.OutPoint{Hash: tx.TxHash(), Index: uint32(i)}] = o
			}
		}
	}
	fetch := txscript.NewMultiPrevOutFetcher(outs)
	kinds := map[Kind]int{}
	for _, b := range s.Best[ActivationHeight-1:] {
		for ti, tx := range b.Msg.Transactions[1:] {
			for in := range tx.TxIn {
				bad, kind, err := Tamper(b, ti+1, in)
				if err != nil {
					t.Fatal(err)
				}
				if want := kindOf(outs[tx.TxIn[in].PreviousOutPoint].PkScript); kind != want {
					t.Fatalf("block %d tx %d input %d: Tamper says %s, the spent output is %s", b.Height, ti+1, in, kind, want)
				}
				if bad.Hash == b.Hash || !bytes.Equal(bad.Msg.Transactions[0].TxOut[0].PkScript, b.Msg.Transactions[0].TxOut[0].PkScript) {
					t.Fatalf("block %d: tampered block has the same hash or another coinbase payee", b.Height)
				}
				// Everything but the signature checks out.
				wtx := bad.Msg.Transactions[ti+1]
				if err := verifyTx(wtx, fetch); err == nil {
					t.Fatalf("block %d tx %d input %d: the tampered signature verifies", b.Height, ti+1, in)
				}
				if err := verifyTx(tx, fetch); err != nil {
					t.Fatalf("block %d: original: %v", b.Height, err)
				}
				checkSealed(t, bad)
				kinds[kind]++
			}
		}
	}
	for _, k := range []Kind{P2PKH, P2WPKH, P2TR} {
		if kinds[k] == 0 {
			t.Errorf("no %s signature tampered", k)
		}
	}
	if _, _, err := Tamper(s.Best[0], 0, 0); err == nil {
		t.Fatal("tampered a coinbase")
	}
}

// checkSealed checks a block's Merkle root, witness commitment and proof
// of work.
func checkSealed(t *testing.T, b Block) {
	t.Helper()
	m := b.Msg
	txids := make([]chainhash.Hash, len(m.Transactions))
	wtxids := make([]chainhash.Hash, len(m.Transactions))
	for j, tx := range m.Transactions {
		txids[j] = tx.TxHash()
		if j > 0 {
			wtxids[j] = tx.WitnessHash()
		}
	}
	hash := m.BlockHash()
	if merkleRoot(txids) != m.Header.MerkleRoot || hashToBig(&hash).Cmp(powLimit) > 0 || btc.Hash(hash) != b.Hash {
		t.Fatalf("block %d: Merkle root, proof of work or hash wrong", b.Height)
	}
	checkCommitment(t, b.Height, m, merkleRoot(wtxids))
}

func kindOf(script []byte) Kind {
	switch {
	case txscript.IsPayToTaproot(script):
		return P2TR
	case txscript.IsPayToWitnessPubKeyHash(script):
		return P2WPKH
	case txscript.IsPayToPubKeyHash(script):
		return P2PKH
	}
	return 0
}
