package index

import (
	"syscall"
	"unsafe"
)

// hugePageMin is the smallest array adviseHuge asks huge pages for.
const hugePageMin = 4 << 20

// adviseHuge asks the kernel to back a large array the writer probes at
// random (a cache generation's table, the address filter) with 2 MiB
// pages. With 4 KiB pages each probe of a 512 MiB table also missed the
// TLB, and the page walk's own read often missed the caches: a second
// DRAM access per lookup. Where transparent huge pages are off, or the
// array was already touched, nothing changes; the advice is a hint and
// its error is ignored. Call it right after make, before the array is
// written: a fresh large allocation is not yet backed by pages.
func adviseHuge[T any](s []T) {
	if len(s) == 0 {
		return
	}
	n := len(s) * int(unsafe.Sizeof(s[0]))
	if n < hugePageMin {
		return
	}
	// Only whole 2 MiB pages inside the array: the advice applies to the
	// pages the range touches, and the array's neighbours are not ours.
	const huge = 2 << 20
	base := uintptr(unsafe.Pointer(&s[0]))
	start := (base + huge - 1) &^ (huge - 1)
	end := (base + uintptr(n)) &^ (huge - 1)
	if end <= start {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n)
	_ = syscall.Madvise(b[start-base:end-base], syscall.MADV_HUGEPAGE)
}
