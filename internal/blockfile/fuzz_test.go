package blockfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// Seed corpora come from the real data when it is present (and from
// hand-made transactions always); nothing large is committed under
// testdata/fuzz.

// seedBlocks returns small real and hand-made blocks.
func seedBlocks(t testing.TB) [][]byte {
	seeds := [][]byte{block(legacyTx), block(legacyTx, segwitTx), block(segwitTx, segwitTx, legacyTx)}
	if _, err := seedDataOK(); err != nil {
		return seeds
	}
	blocks := blk0(t)
	seeds = append(seeds, blocks[:300]...)
	seeds = append(seeds, blocks[170], blocks[14131])
	// A small segwit block: 574200's header and coinbase plus three of its
	// segwit transactions (the Merkle root no longer matches; Parse does
	// not care).
	seeds = append(seeds, block574200Mini(t))
	return seeds
}

func seedDataOK() (bool, error) {
	_, err := statData()
	return err == nil, err
}

// block574200Mini builds a small block from pieces of 574200.
func block574200Mini(t testing.TB) []byte {
	raw := realBlockByName(t, "574200")
	var blk Block
	if err := blk.Parse(raw); err != nil {
		t.Fatal(err)
	}
	txs := txBytes(raw, &blk)
	picked := [][]byte{txs[0]}
	for i := 1; i < len(txs) && len(picked) < 4; i++ {
		if blk.Txs[i].HasWitness && len(txs[i]) < 600 {
			picked = append(picked, txs[i])
		}
	}
	return cat(raw[:HeaderSize], varint(uint64(len(picked))), cat(picked...))
}

// txBytes returns the serialization of each transaction of blk, parsed
// from raw.
func txBytes(raw []byte, blk *Block) [][]byte {
	out := make([][]byte, len(blk.Txs))
	p := HeaderSize + varIntSize(uint64(len(blk.Txs)))
	for i := range blk.Txs {
		out[i] = raw[p : p+blk.Txs[i].Size]
		p += blk.Txs[i].Size
	}
	return out
}

// checkErr checks the shape of a decoding error.
func checkErr(t *testing.T, err error, n int) {
	t.Helper()
	if !wrapsSentinel(err) {
		t.Fatalf("error wraps no sentinel: %v", err)
	}
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T is not an *Error: %v", err, err)
	}
	if e.Offset < 0 || e.Offset > int64(n) {
		t.Fatalf("error offset %d outside the %d-byte input: %v", e.Offset, n, err)
	}
}

func FuzzParseBlock(f *testing.F) {
	for _, s := range seedBlocks(f) {
		f.Add(s)
	}
	var reused Block // parsed into for every input: storage reuse must not leak
	f.Fuzz(func(t *testing.T, raw []byte) {
		var blk Block
		err := blk.Parse(raw)
		rerr := reused.Parse(raw)
		if (err == nil) != (rerr == nil) {
			t.Fatalf("fresh Block: %v; reused Block: %v", err, rerr)
		}
		if err != nil {
			checkErr(t, err, len(raw))
			return
		}
		// Invariants of a successful parse.
		if blk.Size != len(raw) {
			t.Fatalf("Size %d, input %d bytes", blk.Size, len(raw))
		}
		sum, stripped := HeaderSize+varIntSize(uint64(len(blk.Txs))), HeaderSize+varIntSize(uint64(len(blk.Txs)))
		for i := range blk.Txs {
			tx := &blk.Txs[i]
			sum += tx.Size
			stripped += tx.BaseSize
			if tx.HasWitness != (tx.Size > tx.BaseSize) || tx.BaseSize > tx.Size {
				t.Fatalf("tx %d: HasWitness %v Size %d BaseSize %d", i, tx.HasWitness, tx.Size, tx.BaseSize)
			}
			if reused.Txs[i].TxID != tx.TxID || len(reused.Txs[i].Ins) != len(tx.Ins) {
				t.Fatalf("tx %d: reused Block disagrees", i)
			}
		}
		if sum != blk.Size || stripped != blk.StrippedSize || blk.Weight != 3*stripped+sum {
			t.Fatalf("sizes: txs sum to %d (stripped %d), Block says %d (%d), weight %d", sum, stripped, blk.Size, blk.StrippedSize, blk.Weight)
		}
		if blk.Hash != HeaderHash(raw) {
			t.Fatal("Hash is not HeaderHash")
		}
		// btcd accepts whatever we accept (it may accept more) and agrees.
		var msg wire.MsgBlock
		r := bytes.NewReader(raw)
		if err := msg.Deserialize(r); err != nil {
			t.Fatalf("we accept, btcd rejects: %v", err)
		}
		if r.Len() != 0 {
			t.Fatalf("btcd left %d bytes", r.Len())
		}
		if len(msg.Transactions) != len(blk.Txs) {
			t.Fatalf("%d txs, btcd %d", len(blk.Txs), len(msg.Transactions))
		}
		for i := range blk.Txs {
			compareTx(t, fmt.Sprintf("tx %d", i), &blk.Txs[i], msg.Transactions[i])
		}
		_ = blk.CheckMerkle() // must not panic
	})
}

func FuzzParseTx(f *testing.F) {
	f.Add(legacyTx)
	f.Add(segwitTx)
	if vectors, ok := coreVectorTxs(f); ok { // Bitcoin Core's tx_valid/tx_invalid
		for _, v := range vectors {
			f.Add(v)
		}
	}
	f.Add(append(bytes.Clone(segwitTx), legacyTx...))
	if ok, _ := seedDataOK(); ok {
		blocks := blk0(f)
		var blk Block
		for _, h := range []int{9, 170, 14131} {
			if err := blk.Parse(blocks[h]); err != nil {
				f.Fatal(err)
			}
			for _, tx := range txBytes(blocks[h], &blk) {
				f.Add(tx)
			}
		}
		mini := block574200Mini(f)
		if err := blk.Parse(mini); err != nil {
			f.Fatal(err)
		}
		for _, tx := range txBytes(mini, &blk) {
			f.Add(tx)
		}
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		var tx Tx
		n, err := ParseTx(raw, &tx)
		if err != nil {
			checkErr(t, err, len(raw))
			if n != 0 {
				t.Fatalf("error with n=%d", n)
			}
			return
		}
		if n <= 0 || n > len(raw) || tx.Size != n {
			t.Fatalf("n=%d Size=%d for %d bytes", n, tx.Size, len(raw))
		}
		var msg wire.MsgTx
		r := bytes.NewReader(raw[:n])
		if err := msg.Deserialize(r); err != nil {
			t.Fatalf("we accept, btcd rejects: %v", err)
		}
		if r.Len() != 0 {
			t.Fatalf("btcd left %d bytes", r.Len())
		}
		compareTx(t, "tx", &tx, &msg)
	})
}

// xorCopy returns data obfuscated with key from offset 0.
func xorCopy(data []byte, key XORKey) []byte {
	out := bytes.Clone(data)
	key.Apply(out, 0)
	return out
}

type scanResult struct {
	recs []Record
	bad  []int64
	end  int64
	err  error
}

func runScan(data []byte, start int64, opts ScanOptions) scanResult {
	var res scanResult
	opts.OnBad = func(e *Error) { res.bad = append(res.bad, e.Offset) }
	res.end, res.err = scan(context.Background(), "blk00000.dat", bytes.NewReader(data), int64(len(data)), start, opts,
		func(r Record) error {
			res.recs = append(res.recs, r)
			return nil
		})
	return res
}

func FuzzScan(f *testing.F) {
	small := [][]byte{block(legacyTx), block(legacyTx, segwitTx)}
	if ok, _ := seedDataOK(); ok {
		small = append(small, blk0(f)[:4]...)
	}
	var plain []byte
	for _, b := range small {
		plain = append(plain, frame(mainnetMagic, b)...)
	}
	f.Add(plain, uint64(0), false, uint16(0))
	f.Add(append(bytes.Clone(plain), make([]byte, 64)...), uint64(0x0102030405060708), false, uint16(0))
	f.Add(append(append(frame(mainnetMagic, small[0]), "junk"...), frame(mainnetMagic, small[1])...), uint64(0), true, uint16(0))
	f.Add(plain[:len(plain)-3], uint64(0xdeadbeef), true, uint16(0))
	f.Add(append(mainnetMagic[:], le32(0)...), uint64(0), true, uint16(0))
	f.Add(plain, uint64(0), false, uint16(len(frame(mainnetMagic, small[0]))))

	f.Fuzz(func(t *testing.T, data []byte, k uint64, skipBad bool, start16 uint16) {
		var key XORKey
		binary.LittleEndian.PutUint64(key[:], k)
		start := int64(start16)
		opts := ScanOptions{Magic: mainnetMagic, SkipBad: skipBad}
		res := runScan(data, start, opts)

		// The obfuscated copy scans identically with the key, unless it
		// holds a raw-zero frame that is not zero in plain text: that is
		// what Core's pre-allocated padding looks like, so the obfuscated
		// scan rightly stops there.
		obf := xorCopy(data, key)
		for i := range obf {
			j := min(i+FrameSize, len(obf)) // a short tail counts too
			if isZero(obf[i:j]) && !isZero(data[i:j]) {
				t.Skip("plain text equals the key stream over a whole frame")
			}
		}
		xopts := opts
		xopts.XOR = key
		xres := runScan(obf, start, xopts)
		if res.end != xres.end || len(res.recs) != len(xres.recs) || len(res.bad) != len(xres.bad) || (res.err == nil) != (xres.err == nil) {
			t.Fatalf("plain: end %d, %d recs, %d bad, %v; obfuscated: end %d, %d recs, %d bad, %v",
				res.end, len(res.recs), len(res.bad), res.err, xres.end, len(xres.recs), len(xres.bad), xres.err)
		}
		for i := range res.recs {
			if res.recs[i] != xres.recs[i] {
				t.Fatalf("record %d differs under XOR", i)
			}
		}

		if start > int64(len(data)) {
			if !errors.Is(res.err, ErrTruncated) {
				t.Fatalf("start past EOF: %v", res.err)
			}
			return
		}
		// F1: end is start or the end of the last record delivered.
		wantEnd := start
		prev := start
		for i, r := range res.recs {
			if r.Offset-FrameSize < prev || r.Offset+int64(r.Size) > int64(len(data)) || r.Size < HeaderSize || r.Size > MaxBlockSize {
				t.Fatalf("record %d at %d size %d: outside the file or overlapping (prev end %d)", i, r.Offset, r.Size, prev)
			}
			if !bytes.Equal(data[r.Offset-FrameSize:r.Offset-FrameSize+4], mainnetMagic[:]) || !bytes.Equal(r.Header[:], data[r.Offset:r.Offset+HeaderSize]) {
				t.Fatalf("record %d does not match the bytes", i)
			}
			prev = r.Offset + int64(r.Size)
			wantEnd = prev
		}
		if res.end != wantEnd {
			t.Fatalf("end %d, want %d", res.end, wantEnd)
		}
		if res.err != nil {
			if skipBad {
				t.Fatalf("SkipBad scan failed: %v", res.err)
			}
			var e *Error
			if !wrapsSentinel(res.err) || !errors.As(res.err, &e) || e.Offset < res.end || e.Offset >= int64(len(data)) {
				t.Fatalf("bad error: %v", res.err)
			}
		}
		for _, off := range res.bad {
			if off < start || off >= int64(len(data)) {
				t.Fatalf("OnBad offset %d outside [%d, %d)", off, start, len(data))
			}
		}
	})
}
