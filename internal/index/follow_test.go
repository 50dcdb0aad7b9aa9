package index

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/blockfile"
)

// TestFollowTail: a node writes a block record in two halves with an ingest
// in between. Without Follow the half record is an error naming the file;
// with Follow the ingest stops before it, and the next one (once the record
// is complete) indexes it and ends equal to one ingest of the whole file.
func TestFollowTail(t *testing.T) {
	recs := realRecords(t)[:60]
	last := recs[len(recs)-1]
	half := len(last) / 2
	cases := []struct {
		name    string
		partial []byte // how the last record looks mid-write
	}{
		{"first half written", last[:half]},
		{"frame in pre-allocated zeros", append(append([]byte(nil), last[:blockfile.FrameSize]...), make([]byte, len(last)+4096)...)},
	}
	ref := openTest(t, t.TempDir())
	refDir := t.TempDir()
	writeBlk(t, refDir, 0, recs, 0)
	ingest(t, ref, IngestOptions{BlocksDir: refDir})

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := writeBlk(t, dir, 0, append(append([][]byte(nil), recs[:len(recs)-1]...), tc.partial), 0)
			db := openTest(t, t.TempDir())
			if _, err := db.Ingest(context.Background(), IngestOptions{BlocksDir: dir}); err == nil {
				if tc.name == "first half written" {
					t.Fatal("ingest of a half-written record without Follow succeeded")
				}
			} else if !errors.Is(err, blockfile.ErrTruncated) {
				t.Fatalf("without Follow: %v, want ErrTruncated", err)
			}
			db = openTest(t, t.TempDir())
			sum := ingest(t, db, IngestOptions{BlocksDir: dir, Follow: true})
			if h := db.Stats().Height; h != int64(len(recs)-2) || sum.Connected != len(recs)-1 {
				t.Fatalf("follow ingest: height %d, connected %d; want %d, %d", h, sum.Connected, len(recs)-2, len(recs)-1)
			}
			// The node finishes the record in place.
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			off := 0
			for _, r := range recs[:len(recs)-1] {
				off += len(r)
			}
			if _, err := f.WriteAt(last, int64(off)); err != nil {
				t.Fatal(err)
			}
			if err := f.Close(); err != nil {
				t.Fatal(err)
			}
			sum = ingest(t, db, IngestOptions{BlocksDir: dir, Follow: true})
			if sum.Connected != 1 || db.Stats().Height != int64(len(recs)-1) {
				t.Fatalf("after completion: connected %d, height %d", sum.Connected, db.Stats().Height)
			}
			mustCheck(t, db)
			if digest(t, db, fileKeyspaces...) != digest(t, ref, fileKeyspaces...) || db.Stats() != ref.Stats() {
				t.Fatal("followed index differs from one ingest of the complete file")
			}
		})
	}
}
