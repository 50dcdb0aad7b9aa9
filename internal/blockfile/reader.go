package blockfile

import (
	"fmt"
	"os"
)

// maxOpenFiles bounds the Reader's cache of open files.
const maxOpenFiles = 32

// Reader reads whole records by location. It keeps files open and is not safe
// for concurrent use.
type Reader struct {
	key   XORKey
	files map[string]*os.File
}

// NewReader returns a Reader that de-obfuscates with key.
func NewReader(key XORKey) *Reader {
	return &Reader{key: key, files: make(map[string]*os.File)}
}

// ReadBlock returns the size bytes at offset in path, de-obfuscated, in buf
// (grown if needed).
//
// offset is a Record's Offset (the block's first byte, past the frame) and
// size its Size. A size above MaxBlockSize is ErrBadLength; bytes missing at
// the end of the file are ErrTruncated.
func (r *Reader) ReadBlock(path string, offset int64, size uint32, buf []byte) ([]byte, error) {
	locErr := func(err error) error {
		return &Error{File: path, Offset: offset, Height: -1, TxIndex: -1, Err: err}
	}
	if size > MaxBlockSize {
		return buf[:0], locErr(fmt.Errorf("%w: %d bytes", ErrBadLength, size))
	}
	if offset < 0 {
		return buf[:0], locErr(fmt.Errorf("%w: negative offset", ErrTruncated))
	}
	f, err := r.open(path)
	if err != nil {
		return buf[:0], locErr(err)
	}
	if uint32(cap(buf)) < size {
		buf = make([]byte, size)
	}
	buf = buf[:size]
	if err := readFullAt(f, buf, offset); err != nil {
		return buf[:0], locErr(err)
	}
	r.key.Apply(buf, offset)
	return buf, nil
}

// open returns the cached open file for path, opening it (and closing
// another when the cache is full) if needed.
func (r *Reader) open(path string) (*os.File, error) {
	if f, ok := r.files[path]; ok {
		return f, nil
	}
	if r.files == nil {
		r.files = make(map[string]*os.File)
	}
	if len(r.files) >= maxOpenFiles {
		for p, f := range r.files {
			f.Close()
			delete(r.files, p)
			break
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r.files[path] = f
	return f, nil
}

// Close closes the files the Reader opened. The Reader stays usable: it
// reopens files as needed.
func (r *Reader) Close() error {
	var first error
	for p, f := range r.files {
		if err := f.Close(); err != nil && first == nil {
			first = &Error{File: p, Offset: -1, Height: -1, TxIndex: -1, Err: err}
		}
		delete(r.files, p)
	}
	return first
}
