//go:build !linux

package index

// adviseHuge does nothing where transparent huge pages are not Linux's.
func adviseHuge[T any](s []T) {}
