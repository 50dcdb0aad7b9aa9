package address

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/btcsuite/btcd/wire/v2"
)

// dataDir is the shared real-block corpus, relative to this package.
const dataDir = "../../../shared/data/btc-blocks"

// realFile is one file of the corpus and the transactions decoded from it.
type realFile struct {
	name string
	txs  []*wire.MsgTx
}

var (
	realOnce  sync.Once
	realFiles []realFile
	realErr   error
)

// loadReal decodes every block and transaction file the agreement tests use,
// once per process. It skips t when the corpus is absent.
func loadReal(tb testing.TB) []realFile {
	tb.Helper()
	if _, err := os.Stat(filepath.Join(dataDir, "PROVENANCE.md")); err != nil {
		tb.Skipf("real-block corpus not found at %s (see shared/data/btc-blocks/PROVENANCE.md): %v", dataDir, err)
	}
	realOnce.Do(func() { realFiles, realErr = readAllReal() })
	if realErr != nil {
		tb.Fatal(realErr)
	}
	return realFiles
}

// realFileNamed returns the decoded file called name.
func realFileNamed(tb testing.TB, name string) realFile {
	tb.Helper()
	for _, f := range loadReal(tb) {
		if f.name == name {
			return f
		}
	}
	tb.Fatalf("no real file %s", name)
	return realFile{}
}

func readAllReal() ([]realFile, error) {
	type spec struct {
		name string
		read func(path string) ([]*wire.MsgTx, error)
	}
	specs := []spec{
		{"block-574200.raw", readRawBlock},
		{"block-540107.raw", readRawBlock},
		{"bitcoin-s/block-514485.raw", readRawBlock},
		{"bitcoin-s/block-514492.raw", readRawBlock},
		{"block-357238.hex", readHexBlock},
		{"block-277647.dat.bz2", readBz2Records},
		{"blk_0_to_14131.dat.gz", readGzRecords},
		{"bitcoin-s/tx-a536e7f6.raw", readRawTx},
		{"bitcoin-s/tx-7393096d.raw", readRawTx},
		{"bitcoin-s/tx-73be398c.raw", readRawTx},
	}
	var out []realFile
	for _, s := range specs {
		txs, err := s.read(filepath.Join(dataDir, s.name))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		out = append(out, realFile{name: s.name, txs: txs})
	}
	return out, nil
}

func readRawBlock(path string) ([]*wire.MsgTx, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return decodeBlock(b)
}

func readHexBlock(path string) ([]*wire.MsgTx, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := hex.DecodeString(string(bytes.TrimSpace(b)))
	if err != nil {
		return nil, err
	}
	return decodeBlock(raw)
}

func readRawTx(path string) ([]*wire.MsgTx, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tx wire.MsgTx
	if err := tx.Deserialize(bytes.NewReader(b)); err != nil {
		return nil, err
	}
	return []*wire.MsgTx{&tx}, nil
}

func decodeBlock(b []byte) ([]*wire.MsgTx, error) {
	var blk wire.MsgBlock
	r := bytes.NewReader(b)
	if err := blk.Deserialize(r); err != nil {
		return nil, err
	}
	if r.Len() != 0 {
		return nil, fmt.Errorf("%d trailing bytes after block", r.Len())
	}
	return blk.Transactions, nil
}

func readBz2Records(path string) ([]*wire.MsgTx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return readRecords(bzip2.NewReader(bufio.NewReader(f)))
}

func readGzRecords(path string) ([]*wire.MsgTx, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		return nil, err
	}
	return readRecords(zr)
}

// readRecords reads blk*.dat framing (magic f9beb4d9, LE length, block)
// until EOF or a zero magic (pre-allocated padding).
func readRecords(r io.Reader) ([]*wire.MsgTx, error) {
	var txs []*wire.MsgTx
	var hdr [8]byte
	for n := 0; ; n++ {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			if err == io.EOF {
				return txs, nil
			}
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		if bytes.Equal(hdr[:4], []byte{0, 0, 0, 0}) {
			return txs, nil
		}
		if !bytes.Equal(hdr[:4], []byte{0xf9, 0xbe, 0xb4, 0xd9}) {
			return nil, fmt.Errorf("record %d: bad magic %x", n, hdr[:4])
		}
		size := binary.LittleEndian.Uint32(hdr[4:])
		buf := make([]byte, size)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		bt, err := decodeBlock(buf)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", n, err)
		}
		txs = append(txs, bt...)
	}
}
