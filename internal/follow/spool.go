package follow

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
)

// Spool is a blocks directory the follower owns: blocks fetched from the
// node are appended to blkNNNNN.dat as Bitcoin Core records (magic, LE
// length, block), a new file started when the current one reaches the size
// limit, and synced before the index reads them.
type Spool struct {
	dir   string
	magic [4]byte
	limit int64

	f    *os.File
	num  int
	size int64
}

// OpenSpool opens (creating) the spool directory dir for records with the
// network magic. A record left half-written by a crash at the end of the
// last file is cut off, so that appends continue after the last complete
// record. limit is the size at which a new file starts (default 128 MiB).
func OpenSpool(ctx context.Context, dir string, magic [4]byte, limit int64) (*Spool, error) {
	if limit <= 0 {
		limit = 128 << 20
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	paths, err := blockfile.ListFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s := &Spool{dir: dir, magic: magic, limit: limit}
	if len(paths) == 0 {
		return s, s.open(0)
	}
	last := paths[len(paths)-1]
	s.num = len(paths) - 1
	if filepath.Base(last) != spoolName(s.num) {
		return nil, fmt.Errorf("spool: %s: files must be blk00000.dat, blk00001.dat, … (found %s)", dir, filepath.Base(last))
	}
	end, err := blockfile.Scan(ctx, last, 0, blockfile.ScanOptions{Magic: magic, Tail: true}, func(blockfile.Record) error { return nil })
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := s.open(s.num); err != nil {
		return nil, err
	}
	if fi, err := s.f.Stat(); err != nil {
		s.f.Close()
		return nil, fmt.Errorf("spool: %w", err)
	} else if fi.Size() > end {
		if err := s.f.Truncate(end); err != nil {
			s.f.Close()
			return nil, fmt.Errorf("spool: cut the incomplete record at %s offset %d: %w", last, end, err)
		}
	}
	s.size = end
	return s, nil
}

func spoolName(n int) string { return fmt.Sprintf("blk%05d.dat", n) }

func (s *Spool) open(n int) error {
	f, err := os.OpenFile(filepath.Join(s.dir, spoolName(n)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("spool: %w", err)
	}
	s.f, s.num, s.size = f, n, fi.Size()
	return nil
}

// Dir is the spool directory, to hand to the index's ingest.
func (s *Spool) Dir() string { return s.dir }

// Append writes block as one record, starting a new file first when the
// current one would pass the size limit. It does not sync: call Sync before
// the index reads the files.
func (s *Spool) Append(block []byte) error {
	if len(block) < blockfile.HeaderSize || len(block) > blockfile.MaxBlockSize {
		return fmt.Errorf("spool: %d-byte block: want %d to %d bytes", len(block), blockfile.HeaderSize, blockfile.MaxBlockSize)
	}
	n := int64(blockfile.FrameSize + len(block))
	if s.size > 0 && s.size+n > s.limit {
		if err := s.Sync(); err != nil {
			return err
		}
		if err := s.f.Close(); err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		if err := s.open(s.num + 1); err != nil {
			return err
		}
	}
	var frame [blockfile.FrameSize]byte
	copy(frame[:4], s.magic[:])
	binary.LittleEndian.PutUint32(frame[4:], uint32(len(block)))
	if _, err := s.f.Write(frame[:]); err != nil {
		return fmt.Errorf("spool: append to %s: %w", s.f.Name(), err)
	}
	if _, err := s.f.Write(block); err != nil {
		return fmt.Errorf("spool: append to %s: %w", s.f.Name(), err)
	}
	s.size += n
	return nil
}

// Sync makes the appended records durable.
func (s *Spool) Sync() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("spool: sync %s: %w", s.f.Name(), err)
	}
	return nil
}

// Close closes the current file.
func (s *Spool) Close() error {
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	if err != nil && !errors.Is(err, os.ErrClosed) {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
