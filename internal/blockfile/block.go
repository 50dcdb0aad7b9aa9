package blockfile

import (
	"crypto/sha256"
	"fmt"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// Block is a decoded block. Slices alias the raw bytes given to Parse and the
// Block's own reusable storage: they are valid until the next Parse into the
// same Block.
type Block struct {
	Header       Header
	Hash         btc.Hash
	Txs          []Tx
	Size         int // serialized size with witness data
	StrippedSize int // serialized size without witness data
	Weight       int // StrippedSize*3 + Size

	txs    []Tx       // backing array of Txs
	store  txStore    // backing arrays of inputs, outputs, witness stacks
	spans  []txSpan   // where each tx's txid-covered parts are
	hasher txHasher   // txids of segwit transactions
	merkle []btc.Hash // CheckMerkle's scratch
}

// Parse decodes raw (one whole block, no framing) into b, reusing b's storage,
// and computes the block hash and every txid. Trailing bytes are an error.
// It does not check the Merkle root: see CheckMerkle.
//
// Errors are *Error values with offsets relative to the start of raw and the
// index of the failing transaction; Locate adds a file and its offset. After
// an error b holds no transactions.
func (b *Block) Parse(raw []byte) error {
	if err := b.parse(raw, true); err != nil {
		return err
	}
	return nil
}

// parse is Parse; txids are left zero unless withTxIDs (for benchmarks that
// compare the decoding alone).
func (b *Block) parse(raw []byte, withTxIDs bool) *Error {
	b.Header, b.Hash, b.Txs = Header{}, btc.Hash{}, b.txs[:0]
	b.Size, b.StrippedSize, b.Weight = 0, 0, 0
	b.store.reset()

	if len(raw) > MaxBlockSize {
		return errAt(0, -1, tooLarge("block size", uint64(len(raw)), MaxBlockSize))
	}
	if len(raw) < HeaderSize {
		return errAt(0, -1, truncated("header", HeaderSize, len(raw)))
	}
	n, p, err := readVarInt(raw, HeaderSize)
	if err != nil {
		return errAt(HeaderSize, -1, err)
	}
	switch {
	case n == 0:
		return errAt(HeaderSize, -1, ErrNoTxs)
	case n > maxTxsPerBlock:
		return errAt(HeaderSize, -1, tooLarge("tx count", n, maxTxsPerBlock))
	case n > uint64((len(raw)-p)/minTxSize):
		return errAt(HeaderSize, -1, truncated(fmt.Sprintf("%d txs", n), n*minTxSize, len(raw)-p))
	}
	if uint64(cap(b.txs)) < n {
		b.txs = make([]Tx, n)
		b.spans = make([]txSpan, n)
	}
	txs, spans := b.txs[:n], b.spans[:n]
	stripped := p
	for i := range txs {
		sp, e := parseTx(raw, p, &txs[i], &b.store, i)
		if e != nil {
			return e
		}
		spans[i] = sp
		p = sp.end
		stripped += txs[i].BaseSize
	}
	if p != len(raw) {
		return errAt(p, -1, fmt.Errorf("%w: %d bytes", ErrTrailingBytes, len(raw)-p))
	}
	// Hash only once the whole block decoded: corrupt input fails before
	// any SHA-256 work.
	if withTxIDs {
		if b.hasher.d == nil {
			b.hasher.d = sha256.New()
		}
		for i := range txs {
			txs[i].TxID = b.hasher.txid(raw, spans[i])
		}
	} else {
		for i := range txs {
			txs[i].TxID = btc.Hash{}
		}
	}
	b.Header = decodeHeader(raw)
	b.Hash = doubleSHA256(raw[:HeaderSize])
	b.Txs = txs
	b.Size = len(raw)
	b.StrippedSize = stripped
	b.Weight = 3*stripped + len(raw)
	return nil
}

// CheckMerkle returns an error wrapping ErrMerkleMismatch when the header's
// Merkle root is not the root of the txids (including the CVE-2012-2459
// duplicate-last-pair malleation check).
func (b *Block) CheckMerkle() error {
	if len(b.Txs) == 0 {
		return errAt(HeaderSize, -1, ErrNoTxs)
	}
	b.merkle = b.merkle[:0]
	for i := range b.Txs {
		b.merkle = append(b.merkle, b.Txs[i].TxID)
	}
	root, mutated := merkleRoot(b.merkle)
	const rootOffset = 36 // of the Merkle root in the header
	if root != b.Header.MerkleRoot {
		return errAt(rootOffset, -1, fmt.Errorf("%w: header has %s, txids give %s", ErrMerkleMismatch, b.Header.MerkleRoot, root))
	}
	if mutated {
		return errAt(rootOffset, -1, fmt.Errorf("%w: identical adjacent hashes (CVE-2012-2459 mutation)", ErrMerkleMismatch))
	}
	return nil
}

// MerkleRoot returns the Merkle root of txids as Bitcoin computes it (an odd
// level's last hash is paired with itself); the zero hash for no txids.
func MerkleRoot(txids []btc.Hash) btc.Hash {
	root, _ := merkleRoot(append([]btc.Hash(nil), txids...))
	return root
}

// merkleRoot computes the root of level in place (overwriting it). mutated
// reports whether some level had two identical hashes at positions 2k and
// 2k+1, which lets a different transaction list (with the tail duplicated)
// produce the same root: Bitcoin Core's CVE-2012-2459 check.
func merkleRoot(level []btc.Hash) (root btc.Hash, mutated bool) {
	if len(level) == 0 {
		return btc.Hash{}, false
	}
	var pair [2 * btc.HashSize]byte
	for n := len(level); n > 1; n = (n + 1) / 2 {
		for i := 0; i < n; i += 2 {
			j := i + 1
			if j == n {
				j = i
			} else if level[i] == level[j] {
				mutated = true
			}
			copy(pair[:btc.HashSize], level[i][:])
			copy(pair[btc.HashSize:], level[j][:])
			level[i/2] = doubleSHA256(pair[:])
		}
	}
	return level[0], mutated
}

// ParseRawBlockFile reads a standalone block with ReadRawBlockFile and
// parses it; errors name path.
func ParseRawBlockFile(path string, magic [4]byte) (*Block, error) {
	raw, err := ReadRawBlockFile(path, magic)
	if err != nil {
		return nil, err
	}
	b := new(Block)
	if err := b.Parse(raw); err != nil {
		return nil, Locate(err, path, 0, -1)
	}
	return b, nil
}
