package cluster

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/sleuth-forensics/sleuth/internal/mmap"
)

// The forest snapshot (file CLUSTER-FOREST beside the store) saves replaying
// the whole merge log on every Update: at mainnet's billion merges a replay
// takes minutes, reading 12 GB takes seconds. It is a cache: a missing,
// stale or damaged snapshot is ignored and the log replayed (C1 does not
// depend on it).
//
// Layout, little-endian:
//
//	<8B "SLEUTHUF"><8B ids><8B merges><len-prefixed last merge key>
//	<ids × 4B parent><ids × 4B next><4B CRC-32C of all before>
//
// A snapshot holds the forest after the merges up to its last merge key;
// Update loads it and replays only the log after that key, and uses it when
// the count adds up to the state's. A reorg or rebuild deletes it before
// committing, so the log before its key never changes under it. Update
// rewrites it when the log has grown by a twentieth (at least a million
// merges) since.
const snapshotFile = "CLUSTER-FOREST"

var snapshotMagic = []byte("SLEUTHUF")

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func snapshotPath(dir string) string { return filepath.Join(dir, snapshotFile) }

// saveSnapshot writes f atomically (temporary file, sync, rename).
func saveSnapshot(dir string, f *Forest, merges uint64, lastKey []byte) error {
	tmp := snapshotPath(dir) + ".tmp"
	fh, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	defer os.Remove(tmp)
	crc := crc32.New(castagnoli)
	w := bufio.NewWriterSize(io.MultiWriter(fh, crc), 1<<20)
	var hdr []byte
	hdr = append(hdr, snapshotMagic...)
	hdr = binary.LittleEndian.AppendUint64(hdr, uint64(f.Len()))
	hdr = binary.LittleEndian.AppendUint64(hdr, merges)
	hdr = binary.AppendUvarint(hdr, uint64(len(lastKey)))
	hdr = append(hdr, lastKey...)
	w.Write(hdr)
	// The file holds parent(x) and next(x), not the XORed words (F3).
	if err := f.Advise(mmap.Sequential); err != nil {
		fh.Close()
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	defer f.Advise(mmap.Normal)
	chunk := make([]byte, 0, 1<<16)
	for _, arr := range [][]uint32{f.parent, f.next} {
		for i, x := range arr {
			chunk = binary.LittleEndian.AppendUint32(chunk, x^uint32(i))
			if len(chunk) == cap(chunk) {
				w.Write(chunk)
				chunk = chunk[:0]
			}
		}
	}
	w.Write(chunk)
	var buf [4]byte
	if err := w.Flush(); err != nil {
		fh.Close()
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	binary.LittleEndian.PutUint32(buf[:], crc.Sum32())
	if _, err := fh.Write(buf[:]); err != nil {
		fh.Close()
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	if err := fh.Sync(); err != nil {
		fh.Close()
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	if err := fh.Close(); err != nil {
		return fmt.Errorf("cluster: snapshot: %w", err)
	}
	return os.Rename(tmp, snapshotPath(dir))
}

var errStaleSnapshot = errors.New("snapshot does not match the merge log")

// loadSnapshot reads the snapshot and grows it to naddr ids, returning the
// merge count and last merge key it holds. It streams the file into a
// forest from NewScratchForest(dir, naddr), which the caller closes.
func loadSnapshot(dir string, naddr int) (f *Forest, merges uint64, lastKey []byte, err error) {
	fh, err := os.Open(snapshotPath(dir))
	if err != nil {
		return nil, 0, nil, err
	}
	defer fh.Close()
	crc := crc32.New(castagnoli)
	r := bufio.NewReaderSize(fh, 1<<20)
	read := func(b []byte) error {
		if _, err := io.ReadFull(r, b); err != nil {
			return fmt.Errorf("%w: truncated", errStaleSnapshot)
		}
		crc.Write(b)
		return nil
	}
	var hdr [24]byte
	if err := read(hdr[:]); err != nil || !bytes.Equal(hdr[:8], snapshotMagic) {
		return nil, 0, nil, fmt.Errorf("%w: bad header", errStaleSnapshot)
	}
	n := binary.LittleEndian.Uint64(hdr[8:])
	m := binary.LittleEndian.Uint64(hdr[16:])
	var kb [binary.MaxVarintLen64 + 64]byte
	var kl uint64
	var k int
	for k = 0; k < binary.MaxVarintLen64; k++ {
		if err := read(kb[k : k+1]); err != nil {
			return nil, 0, nil, err
		}
		if kb[k] < 0x80 {
			break
		}
	}
	kl, k = binary.Uvarint(kb[:k+1])
	if k <= 0 || kl > 64 {
		return nil, 0, nil, fmt.Errorf("%w: bad header", errStaleSnapshot)
	}
	key := kb[k : k+int(kl)]
	if err := read(key); err != nil {
		return nil, 0, nil, err
	}
	if n > uint64(naddr) {
		return nil, 0, nil, errStaleSnapshot
	}
	g, err := NewScratchForest(dir, naddr)
	if err != nil {
		return nil, 0, nil, err
	}
	defer func() {
		if err != nil {
			g.Close()
		}
	}()
	if err := g.Advise(mmap.Sequential); err != nil {
		return nil, 0, nil, err
	}
	chunk := make([]byte, 1<<16)
	for _, arr := range [][]uint32{g.parent[:n], g.next[:n]} {
		for i := 0; i < len(arr); {
			c := chunk[:4*min(len(chunk)/4, len(arr)-i)]
			if err := read(c); err != nil {
				return nil, 0, nil, err
			}
			for j := 0; j < len(c); j += 4 {
				arr[i] = binary.LittleEndian.Uint32(c[j:]) ^ uint32(i) // F3
				i++
			}
		}
	}
	want := crc.Sum32()
	var sum [4]byte
	if _, err := io.ReadFull(r, sum[:]); err != nil || binary.LittleEndian.Uint32(sum[:]) != want {
		return nil, 0, nil, fmt.Errorf("%w: checksum mismatch", errStaleSnapshot)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		return nil, 0, nil, fmt.Errorf("%w: trailing bytes", errStaleSnapshot)
	}
	if err := g.Advise(mmap.Normal); err != nil {
		return nil, 0, nil, err
	}
	return g, m, append([]byte(nil), key...), nil
}

// removeSnapshot deletes the snapshot (before a commit that changes the
// log before its key).
func removeSnapshot(dir string) error {
	if err := os.Remove(snapshotPath(dir)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("cluster: remove snapshot: %w", err)
	}
	return nil
}
