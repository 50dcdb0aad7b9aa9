// Package mmap keeps large arrays of fixed-width integers out of the Go
// heap, in memory-mapped scratch files, so that a per-address array at
// mainnet scale (1.5 billion ids) costs the process its working set, not
// its length: the kernel writes cold pages back to the file and reclaims
// them, and the garbage collector neither scans nor counts them
// (GOMEMLIMIT does not see them).
//
// A Uint32s is a shared mapping of a file created in a scratch directory
// (callers pass the store's directory, which is sized for data; the OS
// temp dir may be a RAM-backed tmpfs). The file's blocks are reserved with
// fallocate when it is created or grown, so a full disk is an error there
// and never a SIGBUS on a later write. New memory reads as zero.
//
// # Scratch files
//
// A scratch file is named .sleuth-scratch-<pid>-<random> and unlinked as
// soon as it is created: the mapping and its open descriptor keep the
// blocks until Close (or the process's exit, a crash included) frees them,
// so nothing is left behind. A crash in the instant between creating and
// unlinking leaves a named file; New removes such files of processes that
// are no longer running (Sweep) before it creates its own.
//
// # Owns
//
// Nothing persistent: the scratch files are temporary and their contents
// die with the mapping.
//
// # Does not touch
//
// Any stage's data: it depends on no other sleuth package.
//
// # Invariants
//
//	M1. A Uint32s reads as zero where it was never written, including
//	    after Resize.
//	M2. After Close, or after the process ends, no file of it remains.
//
// On systems other than Linux, New returns ErrUnsupported and callers keep
// their arrays on the heap.
package mmap
