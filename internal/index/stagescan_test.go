package index

import (
	"context"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestScanAddrKeys: the scan of address keys by id range gives, for every
// range, exactly the ids in it, in order, each with the key AddrKey reads
// (real mainnet blocks), and nothing for an empty or inverted range.
func TestScanAddrKeys(t *testing.T) {
	dir := t.TempDir()
	writeBlk(t, dir, 0, realRecords(t)[:300], 0)
	db := openTest(t, t.TempDir())
	ingest(t, db, IngestOptions{BlocksDir: dir})
	next := db.Tip().NextAddr
	if next < 10 {
		t.Fatalf("only %d addresses indexed", next)
	}
	for _, r := range []struct{ from, to, want btc.AddrID }{
		{0, next, next}, {1, 2, 1}, {next / 2, next, next - next/2}, {next - 1, next + 5, 1},
		{5, 5, 0}, {7, 3, 0}, {next, next + 10, 0},
	} {
		id, n := r.from, btc.AddrID(0)
		err := db.ScanAddrKeys(context.Background(), r.from, r.to, func(got btc.AddrID, k address.Key) error {
			if got != id {
				t.Fatalf("[%d, %d): id %d where %d was next", r.from, r.to, got, id)
			}
			want, err := db.AddrKey(got)
			if err != nil {
				t.Fatal(err)
			}
			if k != want {
				t.Fatalf("id %d: key %x, AddrKey reads %x", got, k.Bytes(), want.Bytes())
			}
			id++
			n++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if n != r.want {
			t.Fatalf("[%d, %d): %d keys, want %d", r.from, r.to, n, r.want)
		}
	}
}

// TestStageSeeker: HasPrefix finds a stage key by any of its prefixes,
// whether the seeks come in key order or not, and nothing outside the
// seeker's range.
func TestStageSeeker(t *testing.T) {
	db := openTest(t, t.TempDir())
	b := db.NewStageBatch()
	for _, k := range []string{"\x40ab1", "\x40ab2", "\x40b", "\x40cde", "\x41ab"} {
		b.Set([]byte(k), nil)
	}
	if err := b.Commit(); err != nil {
		t.Fatal(err)
	}
	s, err := db.NewStageSeeker([]byte{0x40}, []byte{0x41})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, c := range []struct {
		prefix string
		want   bool
	}{
		{"\x40a", true}, {"\x40ab1", true}, {"\x40ab3", false}, {"\x40b", true}, {"\x40bb", false},
		{"\x40cd", true}, {"\x40d", false}, {"\x40ab", true}, {"\x41a", false}, {"\x40", true},
	} {
		got, err := s.HasPrefix([]byte(c.prefix))
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("HasPrefix(%q) = %v, want %v", c.prefix, got, c.want)
		}
	}
}
