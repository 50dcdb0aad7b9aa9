package mmap

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"unsafe"
)

// Uint32s is an array of uint32 in a memory-mapped scratch file, outside
// the Go heap. It is not safe for concurrent Resize or Close; concurrent
// reads and writes of distinct elements are as safe as on a slice.
type Uint32s struct {
	file *os.File
	mem  []byte // the mapping; nil after Close
	n    int    // words
}

// New returns an array of n zero words (n >= 1) in a scratch file in dir.
func New(dir string, n int) (*Uint32s, error) {
	if n < 1 {
		return nil, fmt.Errorf("mmap: new array of %d words", n)
	}
	if _, err := Sweep(dir); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, fmt.Sprintf("%s%d-*", scratchPrefix, os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("mmap: scratch file: %w", err)
	}
	// Unlinked at once: the descriptor and the mapping keep the blocks
	// until Close or exit (M2).
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, fmt.Errorf("mmap: scratch file: %w", err)
	}
	a := &Uint32s{file: f}
	if err := a.Resize(n); err != nil {
		f.Close()
		return nil, err
	}
	return a, nil
}

// Words returns the array as a slice of its length. The slice is valid
// until the next Resize or Close.
func (a *Uint32s) Words() []uint32 {
	if a.mem == nil {
		return nil
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(&a.mem[0])), a.n)
}

// Len returns the number of words.
func (a *Uint32s) Len() int { return a.n }

// Resize grows the array to n words, keeping its contents; the new words
// are zero (M1). Slices from Words are invalid afterwards. Shrinking is
// not supported.
func (a *Uint32s) Resize(n int) error {
	if n < a.n {
		return fmt.Errorf("mmap: shrink from %d to %d words", a.n, n)
	}
	if a.mem != nil && n == a.n {
		return nil
	}
	size := int64(n) * 4
	if size/4 != int64(n) || int64(int(size)) != size {
		return fmt.Errorf("mmap: %d words overflow", n)
	}
	old := int64(a.n) * 4
	// Reserve the blocks now, so that a full disk is an error here and
	// not a SIGBUS on a later write into a hole.
	if err := syscall.Fallocate(int(a.file.Fd()), 0, old, size-old); err != nil {
		if !errors.Is(err, syscall.EOPNOTSUPP) {
			return fmt.Errorf("mmap: reserve %d bytes of scratch in %s: %w", size, a.file.Name(), err)
		}
		if err := a.file.Truncate(size); err != nil {
			return fmt.Errorf("mmap: size scratch to %d bytes: %w", size, err)
		}
	}
	if a.mem != nil {
		if err := syscall.Munmap(a.mem); err != nil {
			return fmt.Errorf("mmap: unmap: %w", err)
		}
		a.mem = nil
	}
	mem, err := syscall.Mmap(int(a.file.Fd()), 0, int(size), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return fmt.Errorf("mmap: map %d bytes: %w", size, err)
	}
	a.mem, a.n = mem, n
	return nil
}

// Advise passes an access hint to the kernel for the whole array.
func (a *Uint32s) Advise(h Hint) error {
	if a.mem == nil {
		return nil
	}
	adv := syscall.MADV_NORMAL
	switch h {
	case Random:
		adv = syscall.MADV_RANDOM
	case Sequential:
		adv = syscall.MADV_SEQUENTIAL
	}
	if err := syscall.Madvise(a.mem, adv); err != nil {
		return fmt.Errorf("mmap: madvise: %w", err)
	}
	return nil
}

// madvPageout is Linux's MADV_PAGEOUT (5.4 on), which package syscall
// does not name.
const madvPageout = 21

func msync(b []byte) error {
	_, _, e := syscall.Syscall(syscall.SYS_MSYNC, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)), syscall.MS_SYNC)
	if e != 0 {
		return e
	}
	return nil
}

// PageOut asks the kernel to write back and free the pages that lie wholly
// within words [from, to) now, as memory pressure would; they are read
// back from the file when next touched. It is a hint: a kernel without
// MADV_PAGEOUT returns an error and nothing changes.
func (a *Uint32s) PageOut(from, to int) error {
	if a.mem == nil || from < 0 || to > a.n || from >= to {
		return nil
	}
	ps := os.Getpagesize()
	lo := (from*4 + ps - 1) / ps * ps
	hi := to * 4 / ps * ps
	if lo >= hi {
		return nil
	}
	// Reclaim skips dirty file pages (only the kernel's own writeback
	// cleans them), so write them back first, as kswapd would.
	if err := msync(a.mem[lo:hi]); err != nil {
		return fmt.Errorf("mmap: page out: write back: %w", err)
	}
	if err := syscall.Madvise(a.mem[lo:hi], madvPageout); err != nil {
		return fmt.Errorf("mmap: page out: %w", err)
	}
	return nil
}

// Close unmaps the array and frees its file. It is safe to call twice.
func (a *Uint32s) Close() error {
	if a.file == nil {
		return nil
	}
	var err error
	if a.mem != nil {
		err = syscall.Munmap(a.mem)
		a.mem = nil
	}
	err = errors.Join(err, a.file.Close())
	a.file, a.n = nil, 0
	if err != nil {
		return fmt.Errorf("mmap: close: %w", err)
	}
	return nil
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

// ReadMemory returns the process's resident memory from /proc/self/status.
func ReadMemory() (Memory, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return Memory{}, fmt.Errorf("mmap: %w", err)
	}
	defer f.Close()
	var m Memory
	fields := map[string]*uint64{"VmRSS:": &m.RSS, "VmHWM:": &m.Peak, "RssAnon:": &m.Anon, "RssFile:": &m.File}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, rest, ok := strings.Cut(sc.Text(), "\t")
		if p := fields[name]; ok && p != nil {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return Memory{}, fmt.Errorf("mmap: /proc/self/status %s %q: %w", name, rest, err)
			}
			*p = kb << 10
		}
	}
	if err := sc.Err(); err != nil {
		return Memory{}, fmt.Errorf("mmap: /proc/self/status: %w", err)
	}
	return m, nil
}
