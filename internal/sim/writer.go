package sim

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
)

// blockMsg is a finished block on its way to disk.
type blockMsg struct {
	data       []byte
	hash, prev [32]byte
	height     int32
	time       uint32
	ntx        int
	stripped   int
	stale      bool
}

// chunkSize is the pre-allocation unit of blk files: Bitcoin Core's
// BLOCKFILE_CHUNK_SIZE (16 MiB), or its -fastprune value (16 KiB) for files
// smaller than the default.
func chunkSize(maxFileSize int64) int64 {
	if maxFileSize >= DefaultMaxFileSize {
		return 16 << 20
	}
	return 16 << 10
}

// blockWriter writes blocks into blk?????.dat files the way Bitcoin Core's
// BlockManager does: framed records appended in arrival order, a new file
// when the next record would reach the size limit, finished files truncated
// to their content and the last one pre-allocated (zero-padded) to a whole
// chunk. Arrival order is the chain order with a few small windows
// shuffled (headers-first download) and stale siblings next to their rival.
type blockWriter struct {
	dir     string
	magic   [4]byte
	maxSize int64
	chunk   int64
	xor     bool
	key     [8]byte
	r       rng
	free    chan<- []byte

	f        *os.File
	w        *bufio.Writer
	fileNo   int
	fileSize int64
	scratch  []byte

	csvFile *os.File
	csv     *bufio.Writer
	line    []byte

	queue   []*blockMsg
	want    int
	written map[[32]byte]bool

	files      int
	bytes      int64
	stale      int64
	outOfOrder int64
	seq        int64
}

func newBlockWriter(dir string, opts Options, free chan<- []byte) (*blockWriter, error) {
	bw := &blockWriter{
		dir: dir, magic: opts.Network.Magic, maxSize: opts.MaxFileSize, chunk: chunkSize(opts.MaxFileSize),
		xor: opts.XOR, r: newRNG(opts.Seed, 3), free: free, want: 1, written: map[[32]byte]bool{},
	}
	if opts.XOR {
		k := newRNG(opts.Seed, 4).Uint64()
		if k == 0 {
			k = 0x5eed
		}
		binary.LittleEndian.PutUint64(bw.key[:], k)
		if err := os.WriteFile(filepath.Join(dir, "xor.dat"), bw.key[:], 0o644); err != nil {
			return nil, fmt.Errorf("sim: write xor.dat: %w", err)
		}
	}
	f, err := os.Create(filepath.Join(filepath.Dir(dir), "truth", "blocks.csv"))
	if err != nil {
		return nil, fmt.Errorf("sim: create blocks.csv: %w", err)
	}
	bw.csvFile, bw.csv = f, bufio.NewWriterSize(f, 1<<16)
	bw.csv.WriteString("height,hash,prev,time,n_tx,size,stripped_size,weight,stale,file,offset,write_seq\n")
	if err := bw.openFile(); err != nil {
		bw.abort()
		return nil, err
	}
	return bw, nil
}

func (bw *blockWriter) fileName(n int) string {
	return filepath.Join(bw.dir, fmt.Sprintf("blk%05d.dat", n))
}

func (bw *blockWriter) openFile() error {
	f, err := os.Create(bw.fileName(bw.fileNo))
	if err != nil {
		return fmt.Errorf("sim: create block file: %w", err)
	}
	bw.f, bw.w, bw.fileSize = f, bufio.NewWriterSize(f, 1<<20), 0
	bw.files++
	return nil
}

// closeFile flushes the current file; a finished file is left at its
// content size (Core truncates on finalisation), the last one is padded
// to a whole chunk (Core pre-allocates; padding is raw zeros, never
// obfuscated).
func (bw *blockWriter) closeFile(last bool) error {
	if err := bw.w.Flush(); err != nil {
		return fmt.Errorf("sim: write %s: %w", bw.f.Name(), err)
	}
	size := bw.fileSize
	if last {
		size = (size + bw.chunk - 1) / bw.chunk * bw.chunk
		if size == 0 {
			size = bw.chunk
		}
		if err := bw.f.Truncate(size); err != nil {
			return fmt.Errorf("sim: pad %s: %w", bw.f.Name(), err)
		}
	}
	bw.bytes += size
	if err := bw.f.Close(); err != nil {
		return fmt.Errorf("sim: close %s: %w", bw.f.Name(), err)
	}
	bw.f = nil
	return nil
}

func (bw *blockWriter) abort() {
	if bw.f != nil {
		bw.f.Close()
	}
	if bw.csvFile != nil {
		bw.csvFile.Close()
	}
}

// run writes every block received and finishes the files.
func (bw *blockWriter) run(blocks <-chan *blockMsg) error {
	for m := range blocks {
		if err := bw.ingest(m); err != nil {
			bw.abort()
			return err
		}
	}
	for len(bw.queue) > 0 {
		if err := bw.write(bw.queue[0]); err != nil {
			bw.abort()
			return err
		}
		bw.queue = bw.queue[1:]
	}
	if err := bw.closeFile(true); err != nil {
		bw.abort()
		return err
	}
	if err := bw.csv.Flush(); err != nil {
		bw.abort()
		return fmt.Errorf("sim: write blocks.csv: %w", err)
	}
	if err := bw.csvFile.Close(); err != nil {
		return fmt.Errorf("sim: close blocks.csv: %w", err)
	}
	return nil
}

// ingest queues m and writes the groups that are complete. One block of
// lookahead lets a stale block be written before its best-chain rival.
func (bw *blockWriter) ingest(m *blockMsg) error {
	n := len(bw.queue)
	if m.stale && n > 0 && bw.queue[n-1].height == m.height && bw.r.chance(0.5) {
		bw.queue = append(bw.queue, nil)
		bw.queue[n], bw.queue[n-1] = bw.queue[n-1], m
	} else {
		bw.queue = append(bw.queue, m)
	}
	for len(bw.queue) > bw.want {
		group := bw.queue[:bw.want]
		mixed := false
		for i := 1; i < len(group); i++ {
			mixed = mixed || group[i].height != group[0].height
		}
		if mixed {
			for changed := false; !changed; {
				bw.r.Shuffle(len(group), func(i, j int) { group[i], group[j] = group[j], group[i] })
				for i := 1; i < len(group); i++ {
					changed = changed || group[i].height < group[i-1].height
				}
			}
		}
		for _, g := range group {
			if err := bw.write(g); err != nil {
				return err
			}
		}
		bw.queue = bw.queue[bw.want:]
		bw.want = 1
		if bw.outOfOrder == 0 && bw.seq > 4 || bw.r.chance(0.03) {
			bw.want = bw.r.between(2, 5)
		}
	}
	return nil
}

// write appends one framed record.
func (bw *blockWriter) write(m *blockMsg) error {
	rec := int64(8 + len(m.data))
	if bw.fileSize > 0 && bw.fileSize+rec >= bw.maxSize {
		if err := bw.closeFile(false); err != nil {
			return err
		}
		bw.fileNo++
		if err := bw.openFile(); err != nil {
			return err
		}
	}
	var hdr [8]byte
	copy(hdr[:4], bw.magic[:])
	binary.LittleEndian.PutUint32(hdr[4:], uint32(len(m.data)))
	offset := bw.fileSize + 8
	if bw.xor {
		bw.scratch = append(append(bw.scratch[:0], hdr[:]...), m.data...)
		for i := range bw.scratch {
			bw.scratch[i] ^= bw.key[(bw.fileSize+int64(i))%8]
		}
		if _, err := bw.w.Write(bw.scratch); err != nil {
			return fmt.Errorf("sim: write %s: %w", bw.f.Name(), err)
		}
	} else {
		bw.w.Write(hdr[:])
		if _, err := bw.w.Write(m.data); err != nil {
			return fmt.Errorf("sim: write %s: %w", bw.f.Name(), err)
		}
	}
	bw.fileSize += rec
	if m.height > 0 && !bw.written[m.prev] {
		bw.outOfOrder++
	}
	bw.written[m.hash] = true
	if m.stale {
		bw.stale++
	}
	l := bw.line[:0]
	l = strconv.AppendInt(l, int64(m.height), 10)
	l = append(l, ',')
	l = appendHashHex(l, &m.hash)
	l = append(l, ',')
	l = appendHashHex(l, &m.prev)
	l = append(l, ',')
	l = strconv.AppendUint(l, uint64(m.time), 10)
	l = append(l, ',')
	l = strconv.AppendInt(l, int64(m.ntx), 10)
	l = append(l, ',')
	l = strconv.AppendInt(l, int64(len(m.data)), 10)
	l = append(l, ',')
	l = strconv.AppendInt(l, int64(m.stripped), 10)
	l = append(l, ',')
	l = strconv.AppendInt(l, int64(3*m.stripped+len(m.data)), 10)
	l = append(l, ',')
	l = strconv.AppendBool(l, m.stale)
	l = append(l, ',')
	l = append(l, fmt.Sprintf("blk%05d.dat", bw.fileNo)...)
	l = append(l, ',')
	l = strconv.AppendInt(l, offset, 10)
	l = append(l, ',')
	l = strconv.AppendInt(l, bw.seq, 10)
	l = append(l, '\n')
	bw.line = l
	bw.csv.Write(l)
	bw.seq++
	select {
	case bw.free <- m.data:
	default:
	}
	return nil
}

// appendHashHex appends h in the reversed hex form explorers show.
func appendHashHex(dst []byte, h *[32]byte) []byte {
	var rev [32]byte
	for i := range rev {
		rev[i] = h[31-i]
	}
	return hex.AppendEncode(dst, rev[:])
}
