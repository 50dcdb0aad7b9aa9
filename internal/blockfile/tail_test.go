package blockfile

import (
	"errors"
	"os"
	"testing"
)

// TestScanTail covers follow mode: a record still being written at the end
// of the file ends the scan before it without an error, and a later Scan
// from the returned end delivers it once it is complete.
func TestScanTail(t *testing.T) {
	blocks := blk0(t)
	whole := frame(mainnetMagic, blocks[1])
	cases := []struct {
		name string
		tail []byte // the incomplete second record as it is on disk
		err  error  // without Tail
	}{
		{"partial magic", whole[:2], ErrTruncated},
		{"partial length", whole[:6], ErrTruncated},
		{"frame only", whole[:FrameSize], ErrTruncated},
		{"half the block", whole[:len(whole)/2], ErrTruncated},
		{"all but one byte", whole[:len(whole)-1], ErrTruncated},
		// Pre-allocated: frame written, the rest still raw zeros.
		{"frame then zeros", append(whole[:FrameSize:FrameSize], make([]byte, len(whole))...), nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			first := frame(mainnetMagic, blocks[0])
			path := writeTemp(t, t.TempDir(), "blk00000.dat", append(first[:len(first):len(first)], tc.tail...))

			_, _, _, err := scanAll(t, path, 0, ScanOptions{Magic: mainnetMagic})
			if tc.err != nil && !errors.Is(err, tc.err) {
				t.Fatalf("without Tail: %v, want %v", err, tc.err)
			}
			recs, _, end, err := scanAll(t, path, 0, ScanOptions{Magic: mainnetMagic, Tail: true})
			if err != nil || len(recs) != 1 || end != int64(len(first)) {
				t.Fatalf("with Tail: %d records, end %d, err %v; want 1 record, end %d, no error", len(recs), end, err, len(first))
			}

			// The writer finishes the record (overwriting pre-allocated zeros).
			full := append(first[:len(first):len(first)], whole...)
			if err := os.WriteFile(path, full, 0o644); err != nil {
				t.Fatal(err)
			}
			recs, _, end2, err := scanAll(t, path, end, ScanOptions{Magic: mainnetMagic, Tail: true})
			if err != nil || len(recs) != 1 || end2 != int64(len(full)) || HeaderHash(recs[0].Header[:]) != HeaderHash(blocks[1]) {
				t.Fatalf("resume: %d records, end %d, err %v; want block 1, end %d", len(recs), end2, err, len(full))
			}
		})
	}

	// Tail forgives only incompleteness: garbage is still an error.
	first := frame(mainnetMagic, blocks[0])
	path := writeTemp(t, t.TempDir(), "blk00000.dat", append(first[:len(first):len(first)], "junk after"...))
	if _, _, _, err := scanAll(t, path, 0, ScanOptions{Magic: mainnetMagic, Tail: true}); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("garbage with Tail: %v, want ErrBadMagic", err)
	}
}
