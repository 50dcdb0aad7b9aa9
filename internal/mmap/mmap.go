package mmap

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// ErrUnsupported is returned by New where memory-mapped scratch files are
// not implemented.
var ErrUnsupported = errors.New("mmap: scratch mappings are not supported on this system")

// Hint tells the kernel how an array will be accessed next.
type Hint int

const (
	// Normal is the kernel's default (some readahead).
	Normal Hint = iota
	// Random: no readahead (union-find, point lookups).
	Random
	// Sequential: aggressive readahead, pages behind freed early (scans).
	Sequential
)

// Memory is a process's resident memory in bytes, as Linux reports it:
// RSS is Anon (heap, stacks: freed only by the program) plus File (mapped
// file pages, scratch arrays among them, which the kernel can write back
// and reclaim) plus shared memory; Peak is the highest RSS so far.
type Memory struct {
	RSS, Peak, Anon, File uint64
}

const scratchPrefix = ".sleuth-scratch-"

// Sweep removes the scratch files in dir left by processes that are no
// longer running (a crash between creating and unlinking one). It returns
// how many it removed.
func Sweep(dir string) (int, error) {
	names, err := filepath.Glob(filepath.Join(dir, scratchPrefix+"*"))
	if err != nil {
		return 0, fmt.Errorf("mmap: sweep %s: %w", dir, err)
	}
	n := 0
	var errs []error
	for _, name := range names {
		rest := strings.TrimPrefix(filepath.Base(name), scratchPrefix)
		pid, err := strconv.Atoi(rest[:max(strings.IndexByte(rest, '-'), 0)])
		if err == nil && processAlive(pid) {
			continue
		}
		if err := os.Remove(name); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("mmap: sweep: %w", err))
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
