package blockfile

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// dataDir is where the real mainnet data lives: the repository's sibling
// shared/ directory (see shared/data/btc-blocks/PROVENANCE.md).
const dataDir = "../../../shared/data/btc-blocks"

// mainnetMagic frames mainnet records.
var mainnetMagic = btc.Mainnet.Magic

// needData skips t when the shared data directory is absent.
func needData(t testing.TB) {
	t.Helper()
	if _, err := os.Stat(dataDir); err != nil {
		t.Skipf("real block data not found at %s (the repository's sibling shared/data/btc-blocks): %v", dataDir, err)
	}
}

var dataCache struct {
	sync.Mutex
	m map[string][]byte
}

// loadData returns the decoded contents of a file in dataDir: .gz and .bz2
// are decompressed and .hex decoded. Results are cached: do not modify them.
func loadData(t testing.TB, name string) []byte {
	t.Helper()
	needData(t)
	dataCache.Lock()
	defer dataCache.Unlock()
	if b, ok := dataCache.m[name]; ok {
		return b
	}
	f, err := os.Open(filepath.Join(dataDir, name))
	if err != nil {
		t.Fatalf("open %s: %v", name, err)
	}
	defer f.Close()
	var r io.Reader = f
	switch {
	case strings.HasSuffix(name, ".gz"):
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r = zr
	case strings.HasSuffix(name, ".bz2"):
		r = bzip2.NewReader(f)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("read %s: %v", name, err)
	}
	if strings.HasSuffix(name, ".hex") {
		b, err = hex.DecodeString(strings.TrimSpace(string(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if dataCache.m == nil {
		dataCache.m = make(map[string][]byte)
	}
	dataCache.m[name] = b
	return b
}

const blk0Name = "blk_0_to_14131.dat.gz"

// Facts about blk_0_to_14131 from PROVENANCE.md.
const (
	blk0Records  = 14132
	blk0Txs      = 14247
	blk0DataSize = 3_272_717
)

// splitRecords splits framed data into block bodies, stopping at a zero
// magic. It is a deliberately simple reference for the tests.
func splitRecords(t testing.TB, data []byte) [][]byte {
	t.Helper()
	var blocks [][]byte
	for p := 0; p+8 <= len(data); {
		if bytes.Equal(data[p:p+4], make([]byte, 4)) {
			break
		}
		if !bytes.Equal(data[p:p+4], mainnetMagic[:]) {
			t.Fatalf("splitRecords: bad magic at %d", p)
		}
		n := int(binary.LittleEndian.Uint32(data[p+4:]))
		blocks = append(blocks, data[p+8:p+8+n])
		p += 8 + n
	}
	return blocks
}

var blk0Blocks struct {
	sync.Once
	blocks [][]byte
}

// blk0 returns the block bodies of blk_0_to_14131 in height order.
func blk0(t testing.TB) [][]byte {
	t.Helper()
	data := loadData(t, blk0Name)
	blk0Blocks.Do(func() { blk0Blocks.blocks = splitRecords(t, data) })
	if len(blk0Blocks.blocks) != blk0Records {
		t.Fatalf("blk0: %d records, want %d", len(blk0Blocks.blocks), blk0Records)
	}
	return blk0Blocks.blocks
}

// realBlock is one isolated real mainnet block.
type realBlock struct {
	name string // as in sub-test and benchmark names
	file string
	txs  int
	hash string // "" when PROVENANCE.md does not give it
}

var realBlocks = []realBlock{
	{"540107", "block-540107.raw", 230, "00000000000000000021868c2cefc52a480d173c849412fe81c4e5ab806f94ab"},
	{"574200", "block-574200.raw", 3315, "0000000000000000001602407ac49862a7bca9d00f7f402db20b7be2f5de59d2"},
	{"514485", "bitcoin-s/block-514485.raw", 2165, "000000000000000000050f70113ab1932c195442cb49bcc4ee4d7f426c8a3295"},
	{"514492", "bitcoin-s/block-514492.raw", 1044, "00000000000000000008513c860373da0484f065983aeb063ebf81c172e81d48"},
	{"277647", "block-277647.dat.bz2", 213, "0000000000000000054a714e580b16c583701712ab91060e92dbde6eb1e052a8"},
	{"357238", "block-357238.hex", 369, "00000000000000000f3db04d442e92c172691170ca47dfea5be2b9613cf0343d"},
}

// rawBlock returns the unframed bytes of a real block.
func rawBlock(t testing.TB, rb realBlock) []byte {
	t.Helper()
	b := loadData(t, rb.file)
	if len(b) >= 8 && bytes.Equal(b[:4], mainnetMagic[:]) && int(binary.LittleEndian.Uint32(b[4:8])) == len(b)-8 {
		b = b[8:]
	}
	return b
}

func realBlockByName(t testing.TB, name string) []byte {
	t.Helper()
	for _, rb := range realBlocks {
		if rb.name == name {
			return rawBlock(t, rb)
		}
	}
	t.Fatalf("no real block %q", name)
	return nil
}

// sentinels lists every sentinel error of the package.
var sentinels = []error{
	ErrTruncated, ErrNonCanonical, ErrTooLarge, ErrTrailingBytes, ErrMerkleMismatch,
	ErrBadMagic, ErrBadLength, ErrNoTxs, ErrBadWitness, ErrBadXORKey,
}

// wrapsSentinel reports whether err wraps one of the package's sentinels.
func wrapsSentinel(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// writeTemp writes data to dir/name and returns the path.
func writeTemp(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// frame returns magic | LE length | block.
func frame(magic [4]byte, block []byte) []byte {
	out := make([]byte, 8, 8+len(block))
	copy(out, magic[:])
	binary.LittleEndian.PutUint32(out[4:], uint32(len(block)))
	return append(out, block...)
}

func hexDecode(s string) ([]byte, error) { return hex.DecodeString(s) }

func hexEncode(b []byte) string { return hex.EncodeToString(b) }

// statData reports whether the shared data directory is present.
func statData() (os.FileInfo, error) { return os.Stat(dataDir) }
