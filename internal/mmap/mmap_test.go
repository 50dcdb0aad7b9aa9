package mmap

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// scratchFiles lists the scratch files visible in dir.
func scratchFiles(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, scratchPrefix+"*"))
	if err != nil {
		t.Fatal(err)
	}
	return names
}

func TestUint32s(t *testing.T) {
	for _, tc := range []struct {
		name    string
		n, grow int
	}{
		{"one word", 1, 2},
		{"partial page", 1000, 1001},
		{"pages", 1 << 16, 1<<16 + 1<<12},
		{"no growth", 4096, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			a, err := New(dir, tc.n)
			if err != nil {
				t.Fatal(err)
			}
			defer a.Close()
			if got := scratchFiles(t, dir); len(got) != 0 {
				t.Fatalf("scratch files visible while open: %v", got)
			}
			w := a.Words()
			if len(w) != tc.n || a.Len() != tc.n {
				t.Fatalf("Words has %d, Len %d, want %d", len(w), a.Len(), tc.n)
			}
			for i, x := range w {
				if x != 0 {
					t.Fatalf("word %d of a new array is %d", i, x)
				}
				w[i] = uint32(i)*2654435761 + 1
			}
			if err := a.Advise(Random); err != nil {
				t.Fatal(err)
			}
			if err := a.Resize(tc.grow); err != nil {
				t.Fatal(err)
			}
			w = a.Words()
			if len(w) != tc.grow {
				t.Fatalf("after Resize(%d): %d words", tc.grow, len(w))
			}
			for i, x := range w {
				want := uint32(0)
				if i < tc.n {
					want = uint32(i)*2654435761 + 1
				}
				if x != want {
					t.Fatalf("after Resize word %d is %d, want %d", i, x, want)
				}
			}
			if err := a.Advise(Sequential); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatal(err)
			}
			if err := a.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if a.Words() != nil {
				t.Fatal("Words after Close is not nil")
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("%d files left after Close", len(ents))
			}
		})
	}
}

func TestUint32sErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		dir  string
		n    int
		want string
	}{
		{"no words", dir, 0, "0 words"},
		{"negative", dir, -5, "-5 words"},
		{"missing dir", filepath.Join(dir, "absent"), 10, "absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, err := New(tc.dir, tc.n)
			if err == nil {
				a.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not name %q", err, tc.want)
			}
		})
	}
	a, err := New(dir, 100)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Resize(99); err == nil {
		t.Fatal("shrinking did not fail")
	}
	if a.Len() != 100 {
		t.Fatalf("a failed shrink changed the length to %d", a.Len())
	}
}

// TestSweep: files of processes that are gone (or unparsable) are
// removed; a live process's file is kept.
func TestSweep(t *testing.T) {
	dir := t.TempDir()
	live := filepath.Join(dir, scratchPrefix+strconv.Itoa(os.Getpid())+"-123")
	// Pid 1<<22+1 is above Linux's pid_max limit (4194304), so no process has it.
	dead := filepath.Join(dir, scratchPrefix+"4194305-456")
	junk := filepath.Join(dir, scratchPrefix+"junk")
	other := filepath.Join(dir, "000001.sst")
	for _, name := range []string{live, dead, junk, other} {
		if err := os.WriteFile(name, []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	n, err := Sweep(dir)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Fatalf("Sweep removed %d files, want 2", n)
	}
	for name, want := range map[string]bool{live: true, dead: false, junk: false, other: true} {
		_, err := os.Stat(name)
		if exists := err == nil; exists != want {
			t.Errorf("%s: exists=%v, want %v", filepath.Base(name), exists, want)
		}
	}
	// New sweeps before it creates.
	os.WriteFile(dead, []byte("x"), 0o600)
	a, err := New(dir, 10)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if _, err := os.Stat(dead); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("New left a dead process's scratch file: %v", err)
	}
}

// TestPageOutAndMemory: pages written back and freed read back as written,
// and the array's pages show as file-backed resident memory.
func TestPageOutAndMemory(t *testing.T) {
	const n = 8 << 20 // 32 MiB
	a, err := New(t.TempDir(), n)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	before, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	w := a.Words()
	for i := range w {
		w[i] = uint32(i) ^ 0xa5a5a5a5
	}
	touched, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	if touched.File < before.File+n*4/2 {
		t.Fatalf("RssFile %d → %d after writing %d bytes of scratch", before.File, touched.File, n*4)
	}
	if touched.RSS < touched.Anon || touched.Peak < touched.RSS {
		t.Fatalf("inconsistent memory: %+v", touched)
	}
	if err := a.PageOut(0, n); err != nil {
		t.Skipf("kernel without MADV_PAGEOUT: %v", err)
	}
	out, err := ReadMemory()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("RssFile: %d MiB before writing, %d written, %d paged out", before.File>>20, touched.File>>20, out.File>>20)
	if out.File > touched.File-n*4/2 {
		t.Errorf("RssFile %d MiB after paging out %d MiB (was %d)", out.File>>20, n*4>>20, touched.File>>20)
	}
	for i, x := range a.Words() {
		if x != uint32(i)^0xa5a5a5a5 {
			t.Fatalf("word %d reads %#x after PageOut", i, x)
		}
	}
	if err := a.PageOut(n, 0); err != nil {
		t.Fatalf("empty range: %v", err)
	}
}
