package blockfile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Record is one framed block in a blk*.dat file.
type Record struct {
	File   string           // path of the file
	Offset int64            // offset of the block's first byte (after magic and length)
	Size   uint32           // length of the block in bytes
	Header [HeaderSize]byte // the block's header, de-obfuscated
}

// FrameSize is the size of a record's frame: magic and length.
const FrameSize = 8

// ListFiles returns the blk?????.dat files of dir in numeric order, as paths
// joined to dir. Other files (rev*.dat, xor.dat, index/) are ignored.
func ListFiles(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, &Error{File: dir, Offset: -1, Height: -1, TxIndex: -1, Err: err}
	}
	type numbered struct {
		n    uint64
		name string
	}
	var files []numbered
	for _, e := range ents {
		name := e.Name()
		digits, ok := strings.CutPrefix(name, "blk")
		if !ok {
			continue
		}
		if digits, ok = strings.CutSuffix(digits, ".dat"); !ok || len(digits) < 5 {
			continue
		}
		n, err := strconv.ParseUint(digits, 10, 64)
		if err != nil || digits[0] == '+' || e.IsDir() {
			continue
		}
		files = append(files, numbered{n, name})
	}
	slices.SortFunc(files, func(a, b numbered) int {
		if a.n != b.n {
			if a.n < b.n {
				return -1
			}
			return 1
		}
		return strings.Compare(a.name, b.name)
	})
	paths := make([]string, len(files))
	for i, f := range files {
		paths[i] = filepath.Join(dir, f.name)
	}
	return paths, nil
}

// ScanOptions configure Scan.
type ScanOptions struct {
	Magic [4]byte
	XOR   XORKey
	// SkipBad makes Scan report a corrupt record to OnBad and resynchronise
	// at the next occurrence of Magic instead of returning the error.
	SkipBad bool
	OnBad   func(err *Error)
	// Tail says the file may still be growing (the last file of a running
	// node, or a spool being appended to): a record that is incomplete at
	// the end of the file (a frame cut short, a length that runs past the
	// end, or a frame followed by a still-zero header in pre-allocated
	// space) ends the scan before it without an error, so that a later Scan
	// resumes there once the writer has finished it.
	Tail bool
}

// Scan reads the records of the blk file at path starting at byte offset
// start and calls fn for each one with its header (reading only the 8-byte
// frame and the 80-byte header, then seeking past the body). It stops at end
// of file or at zero padding (a zero magic), and returns the offset just past
// the last complete record, from which a later Scan can resume.
//
// A record whose magic is wrong, whose length is below HeaderSize or above
// MaxBlockSize, or which runs past the end of the file is an *Error wrapping
// ErrBadMagic, ErrBadLength or ErrTruncated, naming path and the record's
// offset; with SkipBad it goes to OnBad and Scan searches forward for the
// next magic instead. The returned end never lies inside a record
// (invariant F1): when fn returns an error, Scan returns it as is, with the
// end of the record before the one fn refused. Cancelling ctx stops Scan
// between records with ctx.Err(). With opts.Tail an incomplete record at the
// end of the file is not an error: Scan stops before it.
func Scan(ctx context.Context, path string, start int64, opts ScanOptions, fn func(Record) error) (end int64, err error) {
	f, err := os.Open(path)
	if err != nil {
		return start, &Error{File: path, Offset: start, Height: -1, TxIndex: -1, Err: err}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return start, &Error{File: path, Offset: start, Height: -1, TxIndex: -1, Err: err}
	}
	return scan(ctx, path, f, fi.Size(), start, opts, fn)
}

// scan is Scan over r, which holds size bytes.
func scan(ctx context.Context, path string, r io.ReaderAt, size, start int64, opts ScanOptions, fn func(Record) error) (int64, error) {
	locErr := func(off int64, err error) *Error {
		return &Error{File: path, Offset: off, Height: -1, TxIndex: -1, Err: err}
	}
	if opts.Magic == [4]byte{} {
		return start, locErr(start, fmt.Errorf("%w: the zero magic cannot frame records", ErrBadMagic))
	}
	if start < 0 || start > size {
		return start, locErr(start, fmt.Errorf("%w: start offset outside the %d-byte file", ErrTruncated, size))
	}
	var frame [FrameSize + HeaderSize]byte
	var searchBuf []byte // findMagic's, allocated on the first resync
	end, pos := start, start
	for {
		if err := ctx.Err(); err != nil {
			return end, err
		}
		avail := size - pos
		if avail == 0 {
			return end, nil
		}
		buf := frame[:min(int64(len(frame)), avail)]
		if err := readFullAt(r, buf, pos); err != nil {
			return end, locErr(pos, err)
		}
		// Core pre-allocates blk files with raw zeros, written around the
		// obfuscation: padding is zero before de-obfuscation (and, for
		// files written without a key, after it too). A whole raw-zero
		// frame is required, because a real record whose magic happens to
		// equal the key bytes at its offset is also raw zero there; its
		// length field then is not.
		if isZero(buf[:min(len(buf), FrameSize)]) {
			return end, nil
		}
		// Pre-allocated space the writer has framed but not yet filled
		// (raw zeros, as for padding above).
		unwritten := opts.Tail && len(buf) == FrameSize+HeaderSize && isZero(buf[FrameSize:])
		opts.XOR.Apply(buf, pos)
		if isZero(buf[:min(len(buf), 4)]) {
			return end, nil
		}

		var bad error
		var length uint32
		switch {
		case !bytes.Equal(buf[:min(len(buf), 4)], opts.Magic[:min(len(buf), 4)]):
			bad = fmt.Errorf("%w: % x, want % x", ErrBadMagic, buf[:min(len(buf), 4)], opts.Magic)
		case len(buf) < FrameSize:
			bad = fmt.Errorf("%w: record frame needs %d bytes, %d left", ErrTruncated, FrameSize, len(buf))
		default:
			length = binary.LittleEndian.Uint32(buf[4:8])
			switch {
			case length < HeaderSize || length > MaxBlockSize:
				bad = fmt.Errorf("%w: %d bytes", ErrBadLength, length)
			case int64(length) > avail-FrameSize:
				bad = fmt.Errorf("%w: %d-byte record runs %d bytes past end of file", ErrTruncated, length, int64(length)-(avail-FrameSize))
			}
		}
		if opts.Tail && (errors.Is(bad, ErrTruncated) || bad == nil && unwritten) {
			return end, nil // incomplete: wait for the writer
		}
		if bad != nil {
			e := locErr(pos, bad)
			if !opts.SkipBad {
				return end, e
			}
			if opts.OnBad != nil {
				opts.OnBad(e)
			}
			next, err := findMagic(r, size, pos+1, opts, &searchBuf)
			if err != nil {
				return end, locErr(pos+1, err)
			}
			if next < 0 {
				return end, nil
			}
			pos = next
			continue
		}

		rec := Record{File: path, Offset: pos + FrameSize, Size: length, Header: [HeaderSize]byte(buf[FrameSize:])}
		if err := fn(rec); err != nil {
			return end, err
		}
		pos += FrameSize + int64(length)
		end = pos
	}
}

// findMagic returns the offset of the first occurrence of opts.Magic in the
// de-obfuscated bytes of r at or after from, or -1. It reads in chunks that
// start small (the magic is usually near) and double, reusing *buf.
func findMagic(r io.ReaderAt, size, from int64, opts ScanOptions, buf *[]byte) (int64, error) {
	const minChunk, maxChunk = 4 << 10, 1 << 20
	overlap := int64(len(opts.Magic) - 1)
	chunk := int64(minChunk)
	for off := from; off < size; off += chunk - overlap {
		chunk = min(chunk*2, maxChunk)
		n := min(chunk, size-off)
		if int64(cap(*buf)) < n {
			*buf = make([]byte, n)
		}
		b := (*buf)[:n]
		if err := readFullAt(r, b, off); err != nil {
			return -1, err
		}
		opts.XOR.Apply(b, off)
		if i := bytes.Index(b, opts.Magic[:]); i >= 0 {
			return off + int64(i), nil
		}
		if off+n == size {
			break
		}
	}
	return -1, nil
}

// readFullAt fills b from r at off; running out of bytes is ErrTruncated.
func readFullAt(r io.ReaderAt, b []byte, off int64) error {
	n, err := r.ReadAt(b, off)
	if n == len(b) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: read %d of %d bytes", ErrTruncated, n, len(b))
	}
	return err
}

func isZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}
