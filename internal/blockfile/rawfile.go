package blockfile

import (
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strings"
)

// maxRawFileSize bounds what ReadRawBlockFile reads: a block is at most
// 4,000,000 bytes, 8,000,000 as hex text, plus framing and white space.
const maxRawFileSize = 8_000_000 + 1<<16

// ReadRawBlockFile reads one standalone block from path, for blocks whose
// parents are not in any blk file. It accepts the raw consensus bytes, the
// same as hex text (white space ignored), or one blk-style record (magic +
// length + block); any of them optionally gzip- or bzip2-compressed (by
// content, not name). The result is the block's bytes without framing.
func ReadRawBlockFile(path string, magic [4]byte) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Offset: -1, Height: -1, TxIndex: -1, Err: err}
	}
	defer f.Close()
	var r io.Reader = f
	head := make([]byte, 3)
	n, _ := io.ReadFull(f, head)
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	switch {
	case n >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, &Error{File: path, Offset: 0, Height: -1, TxIndex: -1, Err: fmt.Errorf("%w: gzip: %v", ErrTruncated, err)}
		}
		r = zr
	case n == 3 && string(head) == "BZh":
		r = bzip2.NewReader(f)
	}
	data, err := io.ReadAll(io.LimitReader(r, maxRawFileSize+1))
	if err != nil {
		return nil, &Error{File: path, Offset: int64(len(data)), Height: -1, TxIndex: -1, Err: fmt.Errorf("%w: %v", ErrTruncated, err)}
	}
	if len(data) > maxRawFileSize {
		return nil, &Error{File: path, Offset: 0, Height: -1, TxIndex: -1, Err: fmt.Errorf("%w: file larger than any block", ErrTooLarge)}
	}
	if t := bytes.TrimSpace(data); len(t) > 0 && isHex(t) {
		clean := strings.Join(strings.Fields(string(t)), "")
		b, err := hex.DecodeString(clean)
		if err != nil {
			return nil, &Error{File: path, Offset: 0, Height: -1, TxIndex: -1, Err: fmt.Errorf("%w: bad hex: %v", ErrTruncated, err)}
		}
		data = b
	}
	if len(data) >= 8 && bytes.Equal(data[:4], magic[:]) {
		size := binary.LittleEndian.Uint32(data[4:8])
		if uint64(size) > uint64(len(data)-8) {
			return nil, &Error{File: path, Offset: 8, Height: -1, TxIndex: -1, Err: fmt.Errorf("%w: record says %d bytes, file has %d", ErrTruncated, size, len(data)-8)}
		}
		data = data[8 : 8+size]
	}
	return data, nil
}

func isHex(b []byte) bool {
	for _, c := range b {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F', c == ' ', c == '\n', c == '\r', c == '\t':
		default:
			return false
		}
	}
	return true
}
