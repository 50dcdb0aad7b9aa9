//go:build !linux

package mmap

// Uint32s is not implemented here: New returns ErrUnsupported.
type Uint32s struct{}

// New returns ErrUnsupported.
func New(dir string, n int) (*Uint32s, error) { return nil, ErrUnsupported }

// Words returns nil.
func (a *Uint32s) Words() []uint32 { return nil }

// Len returns 0.
func (a *Uint32s) Len() int { return 0 }

// Resize returns ErrUnsupported.
func (a *Uint32s) Resize(n int) error { return ErrUnsupported }

// Advise does nothing.
func (a *Uint32s) Advise(Hint) error { return nil }

// PageOut does nothing.
func (a *Uint32s) PageOut(from, to int) error { return nil }

// ReadMemory returns ErrUnsupported.
func ReadMemory() (Memory, error) { return Memory{}, ErrUnsupported }

// Close does nothing.
func (a *Uint32s) Close() error { return nil }

func processAlive(pid int) bool { return true }
