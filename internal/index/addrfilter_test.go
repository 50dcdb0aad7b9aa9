package index

import (
	"encoding/binary"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestAddrFilter: no false negatives, about 1% false positives, and a
// saved filter reads back bit for bit.
func TestAddrFilter(t *testing.T) {
	f := newAddrFilter(200_000)
	key := func(i uint64) []byte { return binary.BigEndian.AppendUint64([]byte{2}, i*0x9e3779b97f4a7c15) }
	for i := uint64(0); i < 200_000; i++ {
		f.add(filterHash(key(i)))
	}
	for i := uint64(0); i < 200_000; i++ {
		if !f.mayContain(filterHash(key(i))) {
			t.Fatalf("false negative for key %d", i)
		}
	}
	fp := 0
	for i := uint64(1 << 40); i < 1<<40+200_000; i++ {
		if f.mayContain(filterHash(key(i))) {
			fp++
		}
	}
	if rate := float64(fp) / 200_000; rate > 0.02 {
		t.Errorf("false positive rate %.4f, want about 0.01", rate)
	} else {
		t.Logf("false positive rate %.4f at %d bits per key (sized for %d, holding 200000)", rate, filterBitsPerKey, f.capacity)
	}
	db := &DB{dir: "/db", opts: Options{FS: vfs.NewMem()}}
	db.opts.FS.MkdirAll("/db", 0o755)
	db.st.NextAddr = 200_000
	if err := db.saveFilter(f); err != nil {
		t.Fatal(err)
	}
	g, covered, err := db.readFilter()
	if err != nil || covered != btc.AddrID(200_000) || g.count != f.count || len(g.words) != len(f.words) {
		t.Fatalf("read back: covered %d err %v", covered, err)
	}
	for i := range f.words {
		if f.words[i] != g.words[i] {
			t.Fatalf("word %d differs", i)
		}
	}
	// A damaged file is refused (and then rebuilt by loadFilter).
	file, _ := db.opts.FS.OpenReadWrite(db.filterPath(), vfs.WriteCategoryUnspecified)
	file.WriteAt([]byte{0xff}, 100)
	file.Close()
	if _, _, err := db.readFilter(); err == nil {
		t.Fatal("damaged filter accepted")
	}
}
