//go:build unix

package pgtest

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes a shared or an exclusive flock on path (created if
// absent), waiting for it; release lets it go.
func lockFile(path string, exclusive bool) (release func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_SH
	if exclusive {
		how = syscall.LOCK_EX
	}
	for {
		if err = syscall.Flock(int(f.Fd()), how); !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return func() { f.Close() }, nil
}
