package blockfile

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// scanAll runs Scan and collects the records and OnBad reports.
func scanAll(t *testing.T, path string, start int64, opts ScanOptions) (recs []Record, bad []*Error, end int64, err error) {
	t.Helper()
	if opts.SkipBad {
		opts.OnBad = func(e *Error) { bad = append(bad, e) }
	}
	end, err = Scan(context.Background(), path, start, opts, func(r Record) error {
		recs = append(recs, r)
		return nil
	})
	return recs, bad, end, err
}

// fileBuilder assembles a blk file and remembers where each record starts.
type fileBuilder struct {
	data   []byte
	starts []int64 // record offsets (of the magic)
}

func (f *fileBuilder) record(block []byte) *fileBuilder {
	f.starts = append(f.starts, int64(len(f.data)))
	f.data = append(f.data, frame(mainnetMagic, block)...)
	return f
}

func (f *fileBuilder) raw(b []byte) *fileBuilder {
	f.data = append(f.data, b...)
	return f
}

// TestScanFraming covers the framing cases on small files made of real
// early blocks.
func TestScanFraming(t *testing.T) {
	blocks := blk0(t)
	b := func(i int) []byte { return blocks[i] }
	badLen := func(n uint32) []byte { return append(append(mainnetMagic[:4:4], le32(n)...), make([]byte, 100)...) }

	type want struct {
		heights []int   // blocks delivered, in order
		end     int64   // -1: end of the last record
		err     error   // sentinel, nil for success
		errOff  int64   // offset of the error or of the single OnBad report
		bad     []int64 // OnBad offsets (SkipBad cases)
	}
	cases := []struct {
		name    string
		build   func(*fileBuilder)
		skipBad bool
		want    want
	}{
		{"plain", func(f *fileBuilder) { f.record(b(0)).record(b(1)).record(b(2)) }, false,
			want{heights: []int{0, 1, 2}, end: -1}},
		{"zero padding", func(f *fileBuilder) { f.record(b(0)).record(b(1)).raw(make([]byte, 4096)) }, false,
			want{heights: []int{0, 1}, end: -1}},
		{"short zero tail", func(f *fileBuilder) { f.record(b(0)).raw(make([]byte, 3)) }, false,
			want{heights: []int{0}, end: -1}},
		{"padding then data", func(f *fileBuilder) { f.record(b(0)).raw(make([]byte, 16)).record(b(1)) }, false,
			want{heights: []int{0}, end: -1}},
		{"out of order", func(f *fileBuilder) { f.record(b(5)).record(b(3)).record(b(4)).record(b(1)) }, false,
			want{heights: []int{5, 3, 4, 1}, end: -1}},
		{"empty file", func(f *fileBuilder) {}, false, want{end: 0}},
		{"wrong magic mid-file", func(f *fileBuilder) {
			f.record(b(0)).record(b(1))
			f.data[f.starts[1]] ^= 0xff
			f.record(b(2))
		}, false, want{heights: []int{0}, end: -1, err: ErrBadMagic, errOff: 1}},
		{"length 0", func(f *fileBuilder) { f.record(b(0)).raw(badLen(0)) }, false,
			want{heights: []int{0}, end: -1, err: ErrBadLength, errOff: -2}},
		{"length 79", func(f *fileBuilder) { f.record(b(0)).raw(badLen(79)) }, false,
			want{heights: []int{0}, end: -1, err: ErrBadLength, errOff: -2}},
		{"length above max", func(f *fileBuilder) { f.record(b(0)).raw(badLen(MaxBlockSize + 1)) }, false,
			want{heights: []int{0}, end: -1, err: ErrBadLength, errOff: -2}},
		{"truncated last record", func(f *fileBuilder) {
			f.record(b(0)).record(b(1)).record(b(2))
			f.data = f.data[:len(f.data)-10]
		}, false, want{heights: []int{0, 1}, end: -1, err: ErrTruncated, errOff: 2}},
		{"truncated frame", func(f *fileBuilder) { f.record(b(0)).raw(mainnetMagic[:]).raw([]byte{1, 2}) }, false,
			want{heights: []int{0}, end: -1, err: ErrTruncated, errOff: -2}},
		{"partial magic", func(f *fileBuilder) { f.record(b(0)).raw(mainnetMagic[:2]) }, false,
			want{heights: []int{0}, end: -1, err: ErrTruncated, errOff: -2}},
		{"garbage tail", func(f *fileBuilder) { f.record(b(0)).raw([]byte{1, 2}) }, false,
			want{heights: []int{0}, end: -1, err: ErrBadMagic, errOff: -2}},
		{"skip garbage between records", func(f *fileBuilder) {
			f.record(b(0)).raw(bytes.Repeat([]byte{0xab}, 1000)).record(b(1)).record(b(2))
		}, true, want{heights: []int{0, 1, 2}, end: -1, bad: []int64{-2}}},
		{"skip bad length", func(f *fileBuilder) {
			f.record(b(0)).raw(badLen(3)).record(b(1))
		}, true, want{heights: []int{0, 1}, end: -1, bad: []int64{-2}}},
		{"skip two bad spots", func(f *fileBuilder) {
			f.record(b(0)).raw([]byte("junk")).record(b(1)).raw(badLen(MaxBlockSize + 5)).record(b(2))
		}, true, want{heights: []int{0, 1, 2}, end: -1, bad: []int64{-2, -3}}},
		{"skip garbage at end", func(f *fileBuilder) { f.record(b(0)).raw([]byte("trailing junk")) }, true,
			want{heights: []int{0}, end: -1, bad: []int64{-2}}},
		{"skip truncated last", func(f *fileBuilder) {
			f.record(b(0)).record(b(1))
			f.data = f.data[:len(f.data)-1]
		}, true, want{heights: []int{0}, end: -1, bad: []int64{1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var f fileBuilder
			tc.build(&f)
			path := writeTemp(t, t.TempDir(), "blk00000.dat", f.data)
			recs, bad, end, err := scanAll(t, path, 0, ScanOptions{Magic: mainnetMagic, SkipBad: tc.skipBad})

			// resolve symbolic offsets: k >= 0 is record k's start; -2 is
			// the first byte after the last good record delivered before
			// the error; -3 the second such spot (see cases).
			var spots []int64
			{
				var p int64
				for _, s := range f.starts {
					if s != p {
						spots = append(spots, p)
					}
					p = s + 8 + int64(binary.LittleEndian.Uint32(f.data[s+4:]))
				}
				if p < int64(len(f.data)) {
					spots = append(spots, p)
				}
			}
			resolve := func(k int64) int64 {
				switch {
				case k >= 0:
					return f.starts[k]
				case k == -2:
					return spots[0]
				default:
					return spots[1]
				}
			}

			var got []int
			for _, r := range recs {
				h := HeaderHash(r.Header[:])
				found := -1
				for i := 0; i < 10; i++ {
					if HeaderHash(blocks[i]) == h {
						found = i
					}
				}
				got = append(got, found)
				if r.File != path || !bytes.Equal(f.data[r.Offset:r.Offset+HeaderSize], r.Header[:]) {
					t.Fatalf("record %+v does not match the file", r)
				}
			}
			if !equalInts(got, tc.want.heights) {
				t.Fatalf("records %v, want %v", got, tc.want.heights)
			}
			wantEnd := tc.want.end
			if wantEnd == -1 {
				wantEnd = 0
				if n := len(recs); n > 0 {
					wantEnd = recs[n-1].Offset + int64(recs[n-1].Size)
				}
			}
			if end != wantEnd {
				t.Fatalf("end %d, want %d", end, wantEnd)
			}
			if tc.want.err == nil {
				if err != nil {
					t.Fatalf("Scan: %v", err)
				}
			} else {
				var e *Error
				if !errors.Is(err, tc.want.err) || !errors.As(err, &e) {
					t.Fatalf("Scan = %v, want %v", err, tc.want.err)
				}
				if e.File != path || e.Offset != resolve(tc.want.errOff) {
					t.Fatalf("error at %s offset %d, want offset %d: %v", e.File, e.Offset, resolve(tc.want.errOff), err)
				}
			}
			if len(bad) != len(tc.want.bad) {
				t.Fatalf("%d OnBad reports, want %d: %v", len(bad), len(tc.want.bad), bad)
			}
			for i, e := range bad {
				if e.File != path || e.Offset != resolve(tc.want.bad[i]) || !wrapsSentinel(e) {
					t.Fatalf("OnBad #%d at offset %d, want %d: %v", i, e.Offset, resolve(tc.want.bad[i]), e)
				}
			}
		})
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestScanResume appends records to a file after a first Scan and resumes
// from the returned end.
func TestScanResume(t *testing.T) {
	blocks := blk0(t)
	var f fileBuilder
	f.record(blocks[0]).record(blocks[1])
	path := writeTemp(t, t.TempDir(), "blk00000.dat", f.data)
	opts := ScanOptions{Magic: mainnetMagic}
	recs, _, end, err := scanAll(t, path, 0, opts)
	if err != nil || len(recs) != 2 || end != int64(len(f.data)) {
		t.Fatalf("first Scan: %d records, end %d, %v", len(recs), end, err)
	}
	// Nothing new: resuming yields nothing and the same end.
	if recs, _, end2, err := scanAll(t, path, end, opts); err != nil || len(recs) != 0 || end2 != end {
		t.Fatalf("idle resume: %d records, end %d, %v", len(recs), end2, err)
	}
	// Core appends a record, half-written at first.
	rec := frame(mainnetMagic, blocks[2])
	fh, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	if _, err := fh.Write(rec[:50]); err != nil {
		t.Fatal(err)
	}
	if recs, _, end2, err := scanAll(t, path, end, opts); !errors.Is(err, ErrTruncated) || len(recs) != 0 || end2 != end {
		t.Fatalf("resume over a half-written record: %d records, end %d, %v", len(recs), end2, err)
	}
	if _, err := fh.Write(rec[50:]); err != nil {
		t.Fatal(err)
	}
	if _, err := fh.Write(frame(mainnetMagic, blocks[3])); err != nil {
		t.Fatal(err)
	}
	recs, _, end2, err := scanAll(t, path, end, opts)
	if err != nil || len(recs) != 2 || recs[0].Offset != end+8 || HeaderHash(recs[1].Header[:]) != HeaderHash(blocks[3]) {
		t.Fatalf("resume: %d records, %v", len(recs), err)
	}
	if fi, _ := os.Stat(path); end2 != fi.Size() {
		t.Fatalf("resume end %d, want %d", end2, fi.Size())
	}
	// A start past the end of the file is an error.
	if _, err := Scan(context.Background(), path, end2+1, opts, func(Record) error { return nil }); !errors.Is(err, ErrTruncated) {
		t.Fatalf("Scan past EOF = %v", err)
	}
}

// TestScanStops checks that fn's error and ctx cancellation stop Scan at a
// record boundary.
func TestScanStops(t *testing.T) {
	blocks := blk0(t)
	var f fileBuilder
	for i := range 5 {
		f.record(blocks[i])
	}
	path := writeTemp(t, t.TempDir(), "blk00000.dat", f.data)
	opts := ScanOptions{Magic: mainnetMagic}

	stop := errors.New("stop")
	n := 0
	end, err := Scan(context.Background(), path, 0, opts, func(Record) error {
		if n++; n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || end != f.starts[2] {
		t.Fatalf("fn error: end %d, %v; want %d, stop", end, err, f.starts[2])
	}

	ctx, cancel := context.WithCancel(context.Background())
	n = 0
	end, err = Scan(ctx, path, 0, opts, func(Record) error {
		if n++; n == 2 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) || end != f.starts[2] || n != 2 {
		t.Fatalf("cancel: end %d, %d records, %v; want %d, 2, context.Canceled", end, n, err, f.starts[2])
	}

	if _, err := Scan(context.Background(), path, 0, ScanOptions{}, nil); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("zero magic option: %v", err)
	}
	_, err = Scan(context.Background(), filepath.Join(t.TempDir(), "blk99999.dat"), 0, opts, nil)
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// TestXORObfuscation scans and reads an obfuscated copy of a file and
// compares it with the plain one.
func TestXORObfuscation(t *testing.T) {
	blocks := blk0(t)
	var f fileBuilder
	for i := range 40 {
		f.record(blocks[i])
	}
	f.raw(make([]byte, 1000)) // padding is obfuscated too
	plainDir, xorDir := t.TempDir(), t.TempDir()
	plain := writeTemp(t, plainDir, "blk00000.dat", f.data)

	key := XORKey{0x5a, 0x01, 0xff, 0x80, 0x33, 0x00, 0x7e, 0xc4}
	writeTemp(t, xorDir, XORFileName, key[:])
	obf := bytes.Clone(f.data)
	for i := range obf {
		obf[i] ^= key[i%8] // the naive definition
	}
	obfPath := writeTemp(t, xorDir, "blk00000.dat", obf)

	gotKey, err := ReadXORKey(xorDir)
	if err != nil || gotKey != key {
		t.Fatalf("ReadXORKey = %x, %v", gotKey, err)
	}
	zero, err := ReadXORKey(plainDir)
	if err != nil || !zero.IsZero() {
		t.Fatalf("ReadXORKey without xor.dat = %x, %v", zero, err)
	}

	pr, _, pend, err := scanAll(t, plain, 0, ScanOptions{Magic: mainnetMagic})
	if err != nil {
		t.Fatal(err)
	}
	xr, _, xend, err := scanAll(t, obfPath, 0, ScanOptions{Magic: mainnetMagic, XOR: gotKey})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr) != 40 || len(xr) != len(pr) || pend != xend {
		t.Fatalf("plain: %d records end %d; obfuscated: %d records end %d", len(pr), pend, len(xr), xend)
	}
	// Without the key the obfuscated file is garbage.
	if _, _, _, err := scanAll(t, obfPath, 0, ScanOptions{Magic: mainnetMagic}); !errors.Is(err, ErrBadMagic) {
		t.Fatalf("obfuscated file without key: %v", err)
	}
	// Resume in the middle uses absolute offsets.
	mid := pr[17].Offset - 8
	xr2, _, _, err := scanAll(t, obfPath, mid, ScanOptions{Magic: mainnetMagic, XOR: gotKey})
	if err != nil || len(xr2) != 23 || xr2[0].Header != pr[17].Header {
		t.Fatalf("obfuscated resume at %d: %d records, %v", mid, len(xr2), err)
	}

	prd, xrd := NewReader(XORKey{}), NewReader(gotKey)
	defer prd.Close()
	defer xrd.Close()
	var pb, xb []byte
	for i := range pr {
		if pr[i].Header != xr[i].Header || pr[i].Offset != xr[i].Offset || pr[i].Size != xr[i].Size {
			t.Fatalf("record %d differs: %+v vs %+v", i, pr[i].Offset, xr[i].Offset)
		}
		if pb, err = prd.ReadBlock(plain, pr[i].Offset, pr[i].Size, pb); err != nil {
			t.Fatal(err)
		}
		if xb, err = xrd.ReadBlock(obfPath, xr[i].Offset, xr[i].Size, xb); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(pb, xb) || !bytes.Equal(pb, blocks[i]) {
			t.Fatalf("record %d: ReadBlock bytes differ", i)
		}
	}
	// SkipBad resynchronises on the de-obfuscated magic.
	var g fileBuilder
	g.record(blocks[0]).raw([]byte("some garbage here")).record(blocks[1])
	for i := range g.data {
		g.data[i] ^= key[i%8]
	}
	gp := writeTemp(t, t.TempDir(), "blk00001.dat", g.data)
	recs, bad, _, err := scanAll(t, gp, 0, ScanOptions{Magic: mainnetMagic, XOR: key, SkipBad: true})
	if err != nil || len(recs) != 2 || len(bad) != 1 || recs[1].Header != [HeaderSize]byte(blocks[1][:HeaderSize]) {
		t.Fatalf("obfuscated SkipBad: %d records, %d bad, %v", len(recs), len(bad), err)
	}
}

func TestXORApply(t *testing.T) {
	key := XORKey{1, 2, 3, 4, 5, 6, 7, 8}
	src := make([]byte, 100)
	for i := range src {
		src[i] = byte(i * 7)
	}
	for off := int64(0); off < 20; off++ {
		for n := 0; n <= 40; n += 3 {
			got := bytes.Clone(src[:n])
			key.Apply(got, 1000+off)
			for i := range got {
				if want := src[i] ^ key[(1000+off+int64(i))%8]; got[i] != want {
					t.Fatalf("off %d n %d byte %d: %#x, want %#x", off, n, i, got[i], want)
				}
			}
		}
	}
}

func TestReadXORKeyErrors(t *testing.T) {
	for _, n := range []int{0, 7, 9, 32} {
		dir := t.TempDir()
		writeTemp(t, dir, XORFileName, make([]byte, n))
		if _, err := ReadXORKey(dir); !errors.Is(err, ErrBadXORKey) {
			t.Errorf("%d-byte xor.dat: %v, want ErrBadXORKey", n, err)
		}
	}
	dir := t.TempDir()
	writeTemp(t, dir, XORFileName, make([]byte, 8))
	if k, err := ReadXORKey(dir); err != nil || !k.IsZero() {
		t.Errorf("zero xor.dat: %x, %v", k, err)
	}
}

func TestListFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{
		"blk00010.dat", "blk00002.dat", "rev00000.dat", "xor.dat", "blk00000.dat",
		"blk100000.dat", "blk123.dat", "blk0000a.dat", "blk00001.dat.tmp", ".lock", "blk-0001.dat",
	} {
		writeTemp(t, dir, name, nil)
	}
	if err := os.Mkdir(filepath.Join(dir, "index"), 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := ListFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range []string{"blk00000.dat", "blk00002.dat", "blk00010.dat", "blk100000.dat"} {
		want = append(want, filepath.Join(dir, n))
	}
	if len(got) != len(want) {
		t.Fatalf("ListFiles = %v, want %v", got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("ListFiles = %v, want %v", got, want)
		}
	}
	if _, err := ListFiles(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing dir: %v", err)
	}
}

func TestReaderErrors(t *testing.T) {
	dir := t.TempDir()
	path := writeTemp(t, dir, "blk00000.dat", make([]byte, 500))
	r := NewReader(XORKey{})
	defer r.Close()
	cases := []struct {
		name string
		path string
		off  int64
		size uint32
		want error
	}{
		{"ok", path, 100, 400, nil},
		{"past end", path, 100, 401, ErrTruncated},
		{"offset past end", path, 600, 80, ErrTruncated},
		{"too big", path, 0, MaxBlockSize + 1, ErrBadLength},
		{"negative offset", path, -1, 80, ErrTruncated},
		{"missing file", filepath.Join(dir, "nope.dat"), 0, 80, fs.ErrNotExist},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b, err := r.ReadBlock(tc.path, tc.off, tc.size, nil)
			if tc.want == nil {
				if err != nil || len(b) != int(tc.size) {
					t.Fatalf("ReadBlock = %d bytes, %v", len(b), err)
				}
				return
			}
			var e *Error
			if !errors.Is(err, tc.want) || !errors.As(err, &e) || e.File != tc.path || e.Offset != tc.off {
				t.Fatalf("ReadBlock = %v, want %v at %s:%d", err, tc.want, tc.path, tc.off)
			}
		})
	}
	// More files than the cache holds.
	for i := range maxOpenFiles + 5 {
		p := writeTemp(t, dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26)), []byte{byte(i), 1, 2})
		if b, err := r.ReadBlock(p, 0, 1, nil); err != nil || b[0] != byte(i) {
			t.Fatalf("file %d: %v", i, err)
		}
	}
	if len(r.files) > maxOpenFiles {
		t.Fatalf("%d files open, cache holds %d", len(r.files), maxOpenFiles)
	}
	if err := r.Close(); err != nil || len(r.files) != 0 {
		t.Fatalf("Close: %v, %d files left", err, len(r.files))
	}
}

func TestReadRawBlockFile(t *testing.T) {
	blk := blk0(t)[170]
	dir := t.TempDir()
	hexText := []byte(" " + hexEncode(blk[:100]) + "\n" + hexEncode(blk[100:]) + "\r\n")
	cases := []struct {
		name string
		data []byte
	}{
		{"binary", blk},
		{"hex", hexText},
		{"framed", frame(mainnetMagic, blk)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := writeTemp(t, dir, tc.name, tc.data)
			raw, err := ReadRawBlockFile(p, mainnetMagic)
			if err != nil || !bytes.Equal(raw, blk) {
				t.Fatalf("ReadRawBlockFile: %d bytes, %v", len(raw), err)
			}
			b, err := ParseRawBlockFile(p, mainnetMagic)
			if err != nil || len(b.Txs) != 2 {
				t.Fatalf("ParseRawBlockFile: %v", err)
			}
		})
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(frame(mainnetMagic, blk))
	zw.Close()
	if raw, err := ReadRawBlockFile(writeTemp(t, dir, "framed.gz", gz.Bytes()), mainnetMagic); err != nil || !bytes.Equal(raw, blk) {
		t.Fatalf("gzipped framed block: %d bytes, %v", len(raw), err)
	}
	// The real data as stored: raw, hex, bzip2-compressed framed record.
	for _, rb := range realBlocks {
		raw, err := ReadRawBlockFile(filepath.Join(dataDir, rb.file), mainnetMagic)
		if err != nil || !bytes.Equal(raw, rawBlock(t, rb)) {
			t.Fatalf("%s: %d bytes, %v", rb.file, len(raw), err)
		}
	}
	p := writeTemp(t, dir, "bad", blk[:200])
	_, err := ParseRawBlockFile(p, mainnetMagic)
	var e *Error
	if !errors.As(err, &e) || e.File != p || !errors.Is(err, ErrTruncated) {
		t.Fatalf("ParseRawBlockFile(cut) = %v", err)
	}
	if _, err := ReadRawBlockFile(filepath.Join(dir, "missing"), mainnetMagic); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing: %v", err)
	}
}
