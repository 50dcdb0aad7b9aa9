package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Keyspaces that record how the files were read rather than what the chain
// is; skipped when comparing stores fed the same blocks in other files.
var fileKeyspaces = ReadKeyspaces

// TestReorg uses btcd's fork test files (real format, mainnet genesis, a
// side chain mined by the btcd developers): blocks 0-4, then 3A, 4A, 5A,
// which out-work 3-4. Ingesting 0-4 and then the fork must disconnect 3 and
// 4 and end identical to one ingest of all four files.
func TestReorg(t *testing.T) {
	files := []string{"blk_0_to_4.dat.bz2", "blk_3A.dat.bz2", "blk_4A.dat.bz2", "blk_5A.dat.bz2"}
	var raw [][]byte
	for _, f := range files {
		raw = append(raw, readCompressed(t, needShared(t, f)))
	}
	incr, fresh := t.TempDir(), t.TempDir()
	for i := range raw {
		if err := os.WriteFile(filepath.Join(fresh, blkName(i)), raw[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(incr, blkName(0)), raw[0], 0o644); err != nil {
		t.Fatal(err)
	}
	db := openTest(t, t.TempDir())
	ingest(t, db, IngestOptions{BlocksDir: incr})
	if h := db.Stats().Height; h != 4 {
		t.Fatalf("height %d after blk_0_to_4, want 4", h)
	}
	mustCheck(t, db)
	old3, _ := db.Block("3")
	for i := 1; i < len(raw); i++ {
		if err := os.WriteFile(filepath.Join(incr, blkName(i)), raw[i], 0o644); err != nil {
			t.Fatal(err)
		}
	}
	sum := ingest(t, db, IngestOptions{BlocksDir: incr})
	if sum.Disconnected != 2 || sum.Connected != 3 || db.Stats().Height != 5 || sum.Stale != 2 {
		t.Fatalf("reorg summary %+v height %d, want 2 disconnected, 3 connected, 2 stale, height 5", sum, db.Stats().Height)
	}
	mustCheck(t, db)
	if _, err := db.Block(old3.Hash); !errors.Is(err, ErrNotFound) {
		t.Errorf("stale block 3 still indexed: %v", err)
	}
	ref := openTest(t, t.TempDir())
	ingest(t, ref, IngestOptions{BlocksDir: fresh})
	if digest(t, db) != digest(t, ref) {
		t.Fatal("index after reorg differs from a fresh ingest of the same files")
	}
	if db.Stats() != ref.Stats() {
		t.Fatalf("stats differ: %+v vs %+v", db.Stats(), ref.Stats())
	}
}

// TestAppendAndOrder: blocks appended later (to the same file and in a new
// file), written out of order (children before parents) and with stale
// copies, give the same index as one in-order file.
func TestAppendAndOrder(t *testing.T) {
	recs := realRecords(t)[:1200]
	ref := openTest(t, t.TempDir())
	refDir := t.TempDir()
	writeBlk(t, refDir, 0, recs, 0)
	ingest(t, ref, IngestOptions{BlocksDir: refDir})

	// Swap neighbours in windows so children precede parents.
	shuffled := append([][]byte(nil), recs...)
	for i := 1; i+1 < len(shuffled); i += 3 {
		shuffled[i], shuffled[i+1] = shuffled[i+1], shuffled[i]
	}
	dir := t.TempDir()
	db := openTest(t, t.TempDir())
	writeBlk(t, dir, 0, shuffled[:500], 0)
	ingest(t, db, IngestOptions{BlocksDir: dir, BatchTxs: 100})
	if h := db.Stats().Height; h < 497 || h > 500 {
		t.Fatalf("height %d after the first 500 shuffled records", h)
	}
	// Append to the same file, then start a new one (as Core does).
	writeBlk(t, dir, 0, shuffled[:800], 4096)
	ingest(t, db, IngestOptions{BlocksDir: dir, BatchTxs: 100})
	writeBlk(t, dir, 1, shuffled[800:], 0)
	sum := ingest(t, db, IngestOptions{BlocksDir: dir, BatchTxs: 100})
	if sum.RecordsScanned != len(recs)-800 {
		t.Errorf("last run scanned %d records, want only the %d new ones", sum.RecordsScanned, len(recs)-800)
	}
	mustCheck(t, db)
	if digest(t, db, fileKeyspaces...) != digest(t, ref, fileKeyspaces...) || db.Stats() != ref.Stats() {
		t.Fatalf("appended/out-of-order ingest differs from in-order: %+v vs %+v", db.Stats(), ref.Stats())
	}
}

// TestXOR: Bitcoin Core 28+ obfuscates blk files with xor.dat; the index of
// obfuscated files equals the index of plain ones. Core writes its
// pre-allocated padding as raw zeros around the obfuscation; a file whose
// padding was obfuscated too must read the same.
func TestXOR(t *testing.T) {
	recs := realRecords(t)[:300]
	plain := t.TempDir()
	p := writeBlk(t, plain, 0, recs, 0)
	data, _ := os.ReadFile(p)
	key := []byte{0x5a, 0x01, 0xff, 0x80, 0x13, 0x37, 0x00, 0xc3}
	obfuscate := func(b []byte) []byte {
		out := append([]byte(nil), b...)
		for i := range out {
			out[i] ^= key[i%8]
		}
		return out
	}
	a := openTest(t, t.TempDir())
	ingest(t, a, IngestOptions{BlocksDir: plain})
	for name, file := range map[string][]byte{
		"raw zero padding (as Core)": append(obfuscate(data), make([]byte, 1000)...),
		"obfuscated padding":         obfuscate(append(append([]byte(nil), data...), make([]byte, 1000)...)),
	} {
		obf := t.TempDir()
		os.WriteFile(filepath.Join(obf, blkName(0)), file, 0o644)
		os.WriteFile(filepath.Join(obf, "xor.dat"), key, 0o644)
		c := openTest(t, t.TempDir())
		if _, err := c.Ingest(t.Context(), IngestOptions{BlocksDir: obf}); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if a.Stats().Height != 299 || digest(t, a) != digest(t, c) {
			t.Fatalf("%s: heights %d/%d, digests differ", name, a.Stats().Height, c.Stats().Height)
		}
	}
}

// TestStandaloneBlocks indexes the real 2013-2019 blocks whose parents are
// absent: output types are pinned, unknown values stay unknown, and revealed
// input addresses are kept.
func TestStandaloneBlocks(t *testing.T) {
	dir := t.TempDir()
	hexFile := needShared(t, "block-357238.hex")
	files := []string{
		needShared(t, "block-574200.raw"), needShared(t, "block-540107.raw"), needShared(t, "bitcoin-s/block-514485.raw"),
		needShared(t, "bitcoin-s/block-514492.raw"), hexFile, needShared(t, "block-277647.dat.bz2"),
	}
	db := openTest(t, dir)
	sum := ingest(t, db, IngestOptions{RawBlocks: files})
	if sum.RawBlocks != 6 {
		t.Fatalf("indexed %d standalone blocks, want 6", sum.RawBlocks)
	}
	mustCheck(t, db)
	b, err := db.Block("574200")
	if err != nil {
		t.Fatal(err)
	}
	if b.Hash != "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2" || b.TxCount != 3315 || b.BestChain {
		t.Fatalf("block 574200: %+v", b)
	}
	ids, err := db.BlockTxIDs(b.Hash)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	var unknown, known, revealed, nullFee int
	for _, id := range ids {
		tx, err := db.Tx(id)
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range tx.Outputs {
			types[o.Type]++
		}
		if tx.Fee == nil {
			nullFee++
		}
		for _, in := range tx.Inputs {
			if in.Coinbase {
				continue
			}
			if in.Value == nil {
				unknown++
			} else {
				known++
			}
			if in.Address != nil {
				revealed++
			}
		}
	}
	want := map[string]int{"p2pkh": 4035, "p2sh": 2601, "p2wpkh": 442, "p2wsh": 58, "p2pk": 38, "op_return": 976}
	for k, v := range want {
		if types[k] != v {
			t.Errorf("block 574200: %d %s outputs, want %d (all: %v)", types[k], k, v, types)
		}
	}
	// Inputs spending earlier txs of the same block resolve; the rest do
	// not, so some fees are known and most are null.
	if known == 0 || nullFee == 0 || nullFee == len(ids) {
		t.Errorf("fees null in %d of %d txs, %d inputs known: want some same-block spends resolved and the rest unknown", nullFee, len(ids), known)
	}
	if revealed*100 < (unknown+known)*80 {
		t.Errorf("only %d of %d inputs reveal an address", revealed, unknown+known)
	}
	t.Logf("574200: %d unknown-value inputs, %d known (same block), %d addresses revealed", unknown, known, revealed)
	// A fee is known only when every input value is.
	for _, id := range ids[1:] {
		tx, _ := db.Tx(id)
		allKnown := true
		for _, in := range tx.Inputs {
			allKnown = allKnown && in.Value != nil
		}
		if (tx.Fee != nil) != allKnown {
			t.Fatalf("tx %s: fee %v with all inputs known=%v", id, tx.Fee, allKnown)
		}
	}
	// Re-adding the same blocks does nothing.
	sum = ingest(t, db, IngestOptions{RawBlocks: files})
	if sum.RawBlocks != 0 || sum.RawSkipped != 6 {
		t.Errorf("re-ingest: %+v", sum)
	}
	if b, err := db.Block("357238"); err != nil || b.Hash != "00000000000000000f3db04d442e92c172691170ca47dfea5be2b9613cf0343d" {
		t.Errorf("hex block 357238: %+v %v", b, err)
	}
}

// TestBadInput: corrupt files give an error naming the file and offset;
// the index stays consistent; --skip-bad goes on past the damage.
func TestBadInput(t *testing.T) {
	recs := realRecords(t)[:200]
	good := func() [][]byte { return append([][]byte(nil), recs...) }
	flip := func(r []byte, at int) []byte { c := append([]byte(nil), r...); c[at] ^= 0xff; return c }
	// Record 150's merkle root no longer matches when a tx byte changes.
	badMerkle := good()
	badMerkle[150] = flip(recs[150], len(recs[150])-10)
	offset150 := 0
	for _, r := range recs[:150] {
		offset150 += len(r)
	}
	cases := []struct {
		name       string
		file       []byte
		wantErr    string
		skipHeight int64 // height reached with SkipBad
	}{
		{"truncated file", bytes.Join(good(), nil)[:offset150+100], "truncated", 149},
		{"garbage mid-file", bytes.Join(append(good()[:150], append([][]byte{bytes.Repeat([]byte{0xab}, 77)}, good()[150:]...)...), nil), "magic", 199},
		{"absurd length", func() []byte {
			b := bytes.Join(good(), nil)
			binary.LittleEndian.PutUint32(b[offset150+4:], 0xfffffff0)
			return b
		}(), "length", 149},
		{"merkle mismatch", bytes.Join(badMerkle, nil), "merkle", 149},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, blkName(0)), c.file, 0o644)
			db := openTest(t, t.TempDir())
			_, err := db.Ingest(t.Context(), IngestOptions{BlocksDir: dir})
			if err == nil || !strings.Contains(strings.ToLower(err.Error()), c.wantErr) || !strings.Contains(err.Error(), "blk00000.dat") {
				t.Fatalf("error %v, want one naming blk00000.dat and %q", err, c.wantErr)
			}
			if !strings.Contains(err.Error(), "offset") {
				t.Errorf("error %q does not give a byte offset", err)
			}
			t.Logf("error: %v", err)
			mustCheck(t, db)
			sum, err := db.Ingest(t.Context(), IngestOptions{BlocksDir: dir, SkipBad: true})
			if err != nil {
				t.Fatalf("skip-bad: %v", err)
			}
			if len(sum.Bad) == 0 || db.Stats().Height != c.skipHeight {
				t.Fatalf("skip-bad: height %d (want %d), bad %v", db.Stats().Height, c.skipHeight, sum.Bad)
			}
			mustCheck(t, db)
		})
	}
}

// TestNegativeValueRejected: a standalone block whose output value is
// negative (its Merkle root recomputed so only the value check can catch
// it) is refused with a clear error and leaves the index untouched.
func TestNegativeValueRejected(t *testing.T) {
	raw := readCompressed(t, needShared(t, "block-277647.dat.bz2"))[8:]
	var blk blockfile.Block
	if err := blk.Parse(raw); err != nil {
		t.Fatal(err)
	}
	// The coinbase's first output value sits right after its scriptSig and
	// sequence; flip its sign bit, then fix the Merkle root in the header.
	bad := append([]byte(nil), raw...)
	cb := blk.Txs[0]
	valueAt := bytes.Index(bad, cb.Ins[0].ScriptSig) + len(cb.Ins[0].ScriptSig) + 4 + 1
	bad[valueAt+7] |= 0x80
	if err := blk.Parse(bad); err != nil {
		t.Fatal(err)
	}
	ids := make([]btc.Hash, len(blk.Txs))
	for i := range blk.Txs {
		ids[i] = blk.Txs[i].TxID
	}
	root := blockfile.MerkleRoot(ids)
	copy(bad[36:68], root[:])
	p := filepath.Join(t.TempDir(), "crafted.raw")
	os.WriteFile(p, bad, 0o644)
	db := openTest(t, t.TempDir())
	before := digest(t, db)
	_, err := db.Ingest(t.Context(), IngestOptions{RawBlocks: []string{p}})
	if !errors.Is(err, ErrBadValue) || !strings.Contains(err.Error(), "crafted.raw") {
		t.Fatalf("error %v, want ErrBadValue naming the file", err)
	}
	if digest(t, db) != before {
		t.Fatal("a refused block changed the index")
	}
}
