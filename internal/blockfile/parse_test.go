package blockfile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestBlk0To14131 scans and parses the first 14,132 mainnet blocks, as
// Bitcoin Core wrote them (with the zero padding of a pre-allocated file).
func TestBlk0To14131(t *testing.T) {
	data := loadData(t, blk0Name)
	dir := t.TempDir()
	path := writeTemp(t, dir, "blk00000.dat", data)

	files, err := ListFiles(dir)
	if err != nil || len(files) != 1 || files[0] != path {
		t.Fatalf("ListFiles = %v, %v; want [%s]", files, err, path)
	}

	var recs []Record
	end, err := Scan(context.Background(), path, 0, ScanOptions{Magic: mainnetMagic}, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if len(recs) != blk0Records {
		t.Fatalf("Scan found %d records, want %d", len(recs), blk0Records)
	}
	if end != blk0DataSize {
		t.Fatalf("Scan end = %d, want %d (start of the zero padding)", end, blk0DataSize)
	}

	rd := NewReader(XORKey{})
	defer rd.Close()
	var (
		blk    Block
		buf    []byte
		txs    int
		prev   btc.Hash
		height = int64(-1)
	)
	genesis := btc.MustParseHash("000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f")
	for i, rec := range recs {
		height = int64(i)
		buf, err = rd.ReadBlock(rec.File, rec.Offset, rec.Size, buf)
		if err != nil {
			t.Fatalf("height %d: ReadBlock: %v", i, err)
		}
		if !bytes.Equal(buf[:HeaderSize], rec.Header[:]) {
			t.Fatalf("height %d: Record.Header differs from the block's first 80 bytes", i)
		}
		if err := blk.Parse(buf); err != nil {
			t.Fatalf("height %d: %v", i, Locate(err, rec.File, rec.Offset, height))
		}
		if err := blk.CheckMerkle(); err != nil {
			t.Fatalf("height %d: %v", i, Locate(err, rec.File, rec.Offset, height))
		}
		if h := HeaderHash(rec.Header[:]); h != blk.Hash {
			t.Fatalf("height %d: HeaderHash %s != Block.Hash %s", i, h, blk.Hash)
		}
		if blk.Header.Prev != prev {
			t.Fatalf("height %d: prev %s, want %s (file is in height order)", i, blk.Header.Prev, prev)
		}
		if i == 0 && blk.Hash != genesis {
			t.Fatalf("genesis hash %s, want %s", blk.Hash, genesis)
		}
		if !blk.Txs[0].IsCoinbase() {
			t.Fatalf("height %d: first tx is not a coinbase", i)
		}
		if i == 170 {
			checkBlock170(t, &blk)
		}
		prev = blk.Hash
		txs += len(blk.Txs)
	}
	if txs != blk0Txs {
		t.Fatalf("parsed %d txs, want %d", txs, blk0Txs)
	}
	if want := "00000000b3e750f3"; !strings.HasPrefix(prev.String(), want) {
		t.Fatalf("tip %s, want prefix %s", prev, want)
	}
}

// checkBlock170 checks the first bitcoin transaction between people.
func checkBlock170(t *testing.T, blk *Block) {
	t.Helper()
	if len(blk.Txs) != 2 {
		t.Fatalf("block 170: %d txs, want 2", len(blk.Txs))
	}
	tx := &blk.Txs[1]
	if got, want := tx.TxID.String(), "f4184fc596403b9d638783cf57adfe4c75c605f6356fbc91338530e9831e9e16"; got != want {
		t.Fatalf("block 170 tx 1: txid %s, want %s", got, want)
	}
	if len(tx.Outs) != 2 || tx.Outs[0].Value != 10e8 || tx.Outs[1].Value != 40e8 {
		t.Fatalf("block 170 tx 1: outputs %+v, want 10 BTC and 40 BTC", tx.Outs)
	}
	if len(tx.Ins) != 1 {
		t.Fatalf("block 170 tx 1: %d inputs, want 1", len(tx.Ins))
	}
	in := tx.Ins[0]
	if got, want := fmt.Sprintf("%s:%d", in.PrevTxID, in.PrevVout), "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9:0"; got != want {
		t.Fatalf("block 170 tx 1: spends %s, want %s", got, want)
	}
	if tx.HasWitness || tx.Size != tx.BaseSize || tx.IsCoinbase() {
		t.Fatalf("block 170 tx 1: HasWitness %v Size %d BaseSize %d coinbase %v", tx.HasWitness, tx.Size, tx.BaseSize, tx.IsCoinbase())
	}
}

// TestBlock9Coinbase checks that block 170's input spends the block-9
// coinbase.
func TestBlock9Coinbase(t *testing.T) {
	blocks := blk0(t)
	var blk Block
	if err := blk.Parse(blocks[9]); err != nil {
		t.Fatal(err)
	}
	if got, want := blk.Txs[0].TxID.String(), "0437cd7f8525ceed2324359c2d0ba26006d92d856a9c20fa0241106ee5a597c9"; got != want {
		t.Fatalf("block 9 coinbase txid %s, want %s", got, want)
	}
}

// compareTx checks our decoding of one transaction against btcd's.
func compareTx(t *testing.T, where string, ours *Tx, theirs *wire.MsgTx) {
	t.Helper()
	if got, want := ours.TxID, btc.Hash(theirs.TxHash()); got != want {
		t.Fatalf("%s: txid %s, btcd %s", where, got, want)
	}
	if ours.Version != theirs.Version || ours.LockTime != theirs.LockTime {
		t.Fatalf("%s: version %d locktime %d, btcd %d %d", where, ours.Version, ours.LockTime, theirs.Version, theirs.LockTime)
	}
	if ours.Size != theirs.SerializeSize() || ours.BaseSize != theirs.SerializeSizeStripped() {
		t.Fatalf("%s: size %d base %d, btcd %d %d", where, ours.Size, ours.BaseSize, theirs.SerializeSize(), theirs.SerializeSizeStripped())
	}
	if ours.HasWitness != theirs.HasWitness() {
		t.Fatalf("%s: HasWitness %v, btcd %v", where, ours.HasWitness, theirs.HasWitness())
	}
	if len(ours.Ins) != len(theirs.TxIn) || len(ours.Outs) != len(theirs.TxOut) {
		t.Fatalf("%s: %d in %d out, btcd %d %d", where, len(ours.Ins), len(ours.Outs), len(theirs.TxIn), len(theirs.TxOut))
	}
	for i, in := range ours.Ins {
		ti := theirs.TxIn[i]
		if in.PrevTxID != btc.Hash(ti.PreviousOutPoint.Hash) || in.PrevVout != ti.PreviousOutPoint.Index ||
			in.Sequence != ti.Sequence || !bytes.Equal(in.ScriptSig, ti.SignatureScript) {
			t.Fatalf("%s in %d: %+v, btcd %+v", where, i, in, ti)
		}
		if len(in.Witness) != len(ti.Witness) {
			t.Fatalf("%s in %d: %d witness items, btcd %d", where, i, len(in.Witness), len(ti.Witness))
		}
		for j := range in.Witness {
			if !bytes.Equal(in.Witness[j], ti.Witness[j]) {
				t.Fatalf("%s in %d: witness item %d differs", where, i, j)
			}
		}
	}
	for i, out := range ours.Outs {
		to := theirs.TxOut[i]
		if out.Value != to.Value || !bytes.Equal(out.Script, to.PkScript) {
			t.Fatalf("%s out %d: %d %x, btcd %d %x", where, i, out.Value, out.Script, to.Value, to.PkScript)
		}
	}
}

// TestRealBlocksAgainstBtcd decodes every real block with Parse and with
// btcd's wire.MsgBlock.Deserialize and compares them field by field.
func TestRealBlocksAgainstBtcd(t *testing.T) {
	for _, rb := range realBlocks {
		t.Run(rb.name, func(t *testing.T) {
			raw := rawBlock(t, rb)
			var blk Block
			if err := blk.Parse(raw); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if err := blk.CheckMerkle(); err != nil {
				t.Fatalf("CheckMerkle: %v", err)
			}
			var msg wire.MsgBlock
			if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatalf("btcd: %v", err)
			}
			if len(blk.Txs) != rb.txs || len(msg.Transactions) != rb.txs {
				t.Fatalf("%d txs, btcd %d, want %d", len(blk.Txs), len(msg.Transactions), rb.txs)
			}
			if rb.hash != "" && blk.Hash.String() != rb.hash {
				t.Fatalf("hash %s, want %s", blk.Hash, rb.hash)
			}
			h := msg.Header
			want := Header{Version: h.Version, Prev: btc.Hash(h.PrevBlock), MerkleRoot: btc.Hash(h.MerkleRoot),
				Time: uint32(h.Timestamp.Unix()), Bits: h.Bits, Nonce: h.Nonce}
			if blk.Header != want || blk.Hash != btc.Hash(msg.BlockHash()) {
				t.Fatalf("header %+v hash %s, btcd %+v %s", blk.Header, blk.Hash, want, msg.BlockHash())
			}
			if blk.Size != msg.SerializeSize() || blk.StrippedSize != msg.SerializeSizeStripped() ||
				blk.Weight != 3*msg.SerializeSizeStripped()+msg.SerializeSize() {
				t.Fatalf("size %d stripped %d weight %d, btcd %d %d", blk.Size, blk.StrippedSize, blk.Weight,
					msg.SerializeSize(), msg.SerializeSizeStripped())
			}
			for i := range blk.Txs {
				compareTx(t, fmt.Sprintf("tx %d", i), &blk.Txs[i], msg.Transactions[i])
			}
			// A second Parse into the same Block (reused storage) agrees.
			first := blk.Txs[len(blk.Txs)-1].TxID
			if err := blk.Parse(raw); err != nil || blk.Txs[len(blk.Txs)-1].TxID != first {
				t.Fatalf("re-Parse: %v", err)
			}
		})
	}
}

// TestBigTxsAgainstBtcd decodes the large standalone transactions with
// ParseTx and btcd.
func TestBigTxsAgainstBtcd(t *testing.T) {
	for _, tc := range []struct{ file, txid string }{
		{"bitcoin-s/tx-7393096d.raw", "7393096d97bfee8660f4100ffd61874d62f9a65de9fb6acf740c4c386990ef73"},
		{"bitcoin-s/tx-73be398c.raw", "73be398c4bdc43709db7398106609eea2a7841aaf3a4fa2000dc18184faa2a7e"},
		{"bitcoin-s/tx-a536e7f6.raw", "a536e7f60a493a258d9adc77d913f7798baf60c808c16898b04579d8c0652681"},
		{"tx-bb41a757-megatx.raw.bz2", "bb41a757f405890fb0f5856228e23b715702d714d59bf2b1feb70d8b2b4e3e08"},
	} {
		t.Run(filepath.Base(tc.file), func(t *testing.T) {
			raw := loadData(t, tc.file)
			var tx Tx
			n, err := ParseTx(raw, &tx)
			if err != nil {
				t.Fatalf("ParseTx: %v", err)
			}
			if n != len(raw) || tx.Size != len(raw) {
				t.Fatalf("used %d bytes, Size %d, file has %d", n, tx.Size, len(raw))
			}
			if tx.TxID.String() != tc.txid {
				t.Fatalf("txid %s, want %s", tx.TxID, tc.txid)
			}
			var msg wire.MsgTx
			if err := msg.Deserialize(bytes.NewReader(raw)); err != nil {
				t.Fatalf("btcd: %v", err)
			}
			compareTx(t, "tx", &tx, &msg)
			// Reusing tx's storage gives the same result.
			if n, err := ParseTx(raw, &tx); err != nil || n != len(raw) {
				t.Fatalf("second ParseTx: %d, %v", n, err)
			}
			compareTx(t, "reused tx", &tx, &msg)
		})
	}
}

// TestTxsOfBlockStandalone parses each transaction of a segwit block alone
// with ParseTx and checks it matches the in-block decoding.
func TestTxsOfBlockStandalone(t *testing.T) {
	raw := realBlockByName(t, "540107")
	var blk Block
	if err := blk.Parse(raw); err != nil {
		t.Fatal(err)
	}
	p := HeaderSize + varIntSize(uint64(len(blk.Txs)))
	var tx Tx
	for i := range blk.Txs {
		n, err := ParseTx(raw[p:], &tx)
		if err != nil {
			t.Fatalf("tx %d: %v", i, err)
		}
		if n != blk.Txs[i].Size || tx.TxID != blk.Txs[i].TxID || tx.BaseSize != blk.Txs[i].BaseSize {
			t.Fatalf("tx %d: standalone n=%d txid %s base %d, in block size %d txid %s base %d",
				i, n, tx.TxID, tx.BaseSize, blk.Txs[i].Size, blk.Txs[i].TxID, blk.Txs[i].BaseSize)
		}
		p += n
	}
}

// TestMerkleDetectsCorruption flips single bytes of real blocks.
func TestMerkleDetectsCorruption(t *testing.T) {
	raw := realBlockByName(t, "574200")
	var blk Block
	if err := blk.Parse(raw); err != nil {
		t.Fatal(err)
	}
	// Locate a few fields by their offsets in raw.
	p := HeaderSize + varIntSize(uint64(len(blk.Txs)))
	txStart := make([]int, len(blk.Txs))
	for i := range blk.Txs {
		txStart[i] = p
		p += blk.Txs[i].Size
	}
	seg := -1 // a segwit transaction
	for i := range blk.Txs {
		if blk.Txs[i].HasWitness {
			seg = i
			break
		}
	}
	if seg < 0 {
		t.Fatal("574200 has no segwit tx")
	}
	offsetOf := func(b []byte) int { // offset in raw of a slice aliasing raw
		for i := range raw {
			if &raw[i] == &b[0] {
				return i
			}
		}
		t.Fatal("slice does not alias raw")
		return -1
	}
	tx7 := &blk.Txs[7]
	lastOut := tx7.Outs[len(tx7.Outs)-1].Script
	prevout := txStart[7] + bytes.Index(raw[txStart[7]:], tx7.Ins[0].PrevTxID[:])
	cases := []struct {
		name     string
		off      int
		mismatch bool
	}{
		{"header merkle root", 36 + 5, true},
		{"coinbase version", txStart[0], true},
		{"tx 7 locktime", txStart[7] + tx7.Size - 1, true},
		{"tx 7 prevout", prevout + 3, true},
		{"tx 7 output value", offsetOf(lastOut) - varIntSize(uint64(len(lastOut))) - 1, true},
		{"tx 7 output script", offsetOf(lastOut) + len(lastOut) - 1, true},
		{"segwit witness byte", offsetOf(blk.Txs[seg].Ins[0].Witness[0]), false},
		{"header nonce", 79, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mut := bytes.Clone(raw)
			mut[tc.off] ^= 0x01
			var b Block
			if err := b.Parse(mut); err != nil {
				t.Fatalf("Parse after flip at %d: %v", tc.off, err)
			}
			err := b.CheckMerkle()
			if tc.mismatch && !errors.Is(err, ErrMerkleMismatch) {
				t.Fatalf("flip at %d: CheckMerkle = %v, want ErrMerkleMismatch", tc.off, err)
			}
			if !tc.mismatch && err != nil {
				t.Fatalf("flip at %d (not covered by txids): CheckMerkle = %v", tc.off, err)
			}
		})
	}
}

// TestMerkleCVE20122459 duplicates the last transaction of a block with an
// odd number of them: the Merkle root is unchanged, CheckMerkle must still
// refuse it.
func TestMerkleCVE20122459(t *testing.T) {
	raw := realBlockByName(t, "357238") // 369 txs
	var blk Block
	if err := blk.Parse(raw); err != nil {
		t.Fatal(err)
	}
	n := len(blk.Txs)
	if n%2 != 1 || varIntSize(uint64(n)) != varIntSize(uint64(n+1)) {
		t.Fatalf("need an odd tx count with room in the varint, have %d", n)
	}
	last := raw[len(raw)-blk.Txs[n-1].Size:]
	mut := append(bytes.Clone(raw), last...)
	mut[HeaderSize+1] = byte(n + 1) // 0xfd, LE uint16
	mut[HeaderSize+2] = byte((n + 1) >> 8)
	var b Block
	if err := b.Parse(mut); err != nil {
		t.Fatal(err)
	}
	if got := MerkleRoot(txids(&b)); got != b.Header.MerkleRoot {
		t.Fatalf("duplicated tail changed the root: %s vs %s", got, b.Header.MerkleRoot)
	}
	if err := b.CheckMerkle(); !errors.Is(err, ErrMerkleMismatch) || !strings.Contains(err.Error(), "CVE-2012-2459") {
		t.Fatalf("CheckMerkle = %v, want the CVE-2012-2459 mutation", err)
	}
}

func txids(b *Block) []btc.Hash {
	ids := make([]btc.Hash, len(b.Txs))
	for i := range b.Txs {
		ids[i] = b.Txs[i].TxID
	}
	return ids
}

// naiveMerkle is the textbook recursive definition.
func naiveMerkle(h []btc.Hash) btc.Hash {
	if len(h) == 1 {
		return h[0]
	}
	if len(h)%2 == 1 {
		h = append(h[:len(h):len(h)], h[len(h)-1])
	}
	next := make([]btc.Hash, len(h)/2)
	for i := range next {
		next[i] = doubleSHA256(append(bytes.Clone(h[2*i][:]), h[2*i+1][:]...))
	}
	return naiveMerkle(next)
}

func TestMerkleRoot(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := 1; n <= 33; n++ {
		ids := make([]btc.Hash, n)
		for i := range ids {
			for j := range ids[i] {
				ids[i][j] = byte(rng.UintN(256))
			}
		}
		if got, want := MerkleRoot(ids), naiveMerkle(ids); got != want {
			t.Errorf("n=%d: MerkleRoot %s, want %s", n, got, want)
		}
		if _, mutated := merkleRoot(append([]btc.Hash(nil), ids...)); mutated {
			t.Errorf("n=%d: distinct hashes reported as mutated", n)
		}
		if n >= 2 {
			dup := append(append([]btc.Hash(nil), ids...), ids[n-1])
			if n%2 == 1 {
				if MerkleRoot(dup) != MerkleRoot(ids) {
					t.Errorf("n=%d: duplicating the odd tail changed the root", n)
				}
				if _, mutated := merkleRoot(dup); !mutated {
					t.Errorf("n=%d: duplicated tail not reported", n)
				}
			}
		}
	}
	if MerkleRoot(nil) != (btc.Hash{}) {
		t.Error("MerkleRoot(nil) is not zero")
	}
}

// TestHeadersFile checks ParseHeader and HeaderHash on the headers of
// heights 1-11.
func TestHeadersFile(t *testing.T) {
	needData(t)
	text, err := os.ReadFile(filepath.Join(dataDir, "blockheaders-mainnet-1-11.txt"))
	if err != nil {
		t.Fatal(err)
	}
	prev := btc.Mainnet.Genesis
	blocks := blk0(t)
	for i, line := range strings.Fields(string(text)) {
		raw, err := hexDecode(line)
		if err != nil || len(raw) != HeaderSize {
			t.Fatalf("line %d: %v (%d bytes)", i, err, len(raw))
		}
		h, err := ParseHeader(raw)
		if err != nil {
			t.Fatalf("height %d: %v", i+1, err)
		}
		if h.Prev != prev {
			t.Fatalf("height %d: prev %s, want %s", i+1, h.Prev, prev)
		}
		if !bytes.Equal(raw, blocks[i+1][:HeaderSize]) {
			t.Fatalf("height %d: header differs from blk_0_to_14131", i+1)
		}
		prev = HeaderHash(raw)
	}
	if _, err := ParseHeader(make([]byte, 79)); !errors.Is(err, ErrTruncated) {
		t.Fatalf("ParseHeader(79 bytes) = %v, want ErrTruncated", err)
	}
}

// TestBlocks1To256 scans btcd's other framed file, heights 1-255, and checks
// it against blk_0_to_14131.
func TestBlocks1To256(t *testing.T) {
	data := loadData(t, "blocks1-256.dat.bz2")
	path := writeTemp(t, t.TempDir(), "blk00000.dat", data)
	blocks := blk0(t)
	rd := NewReader(XORKey{})
	defer rd.Close()
	var buf []byte
	n := 0
	end, err := Scan(context.Background(), path, 0, ScanOptions{Magic: mainnetMagic}, func(r Record) error {
		var err error
		if buf, err = rd.ReadBlock(r.File, r.Offset, r.Size, buf); err != nil {
			return err
		}
		n++
		if !bytes.Equal(buf, blocks[n]) {
			return fmt.Errorf("record %d differs from height %d of blk_0_to_14131", n-1, n)
		}
		return nil
	})
	if err != nil || n != 255 || end != int64(len(data)) {
		t.Fatalf("Scan: %d records, end %d of %d, %v", n, end, len(data), err)
	}
}
