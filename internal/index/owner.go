package index

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrNoIndex means a directory holds no sleuth index and the open was not
// allowed to create one (Options.MustExist, or ReadOnly).
var ErrNoIndex = errors.New("no index")

// ErrLocked means another process (or another open in this one) holds the
// store.
var ErrLocked = errors.New("in use")

// OwnerFile is the file, beside the store, in which the process holding
// the store writes its PID and command line, so that another process
// refused the lock can say who holds it.
const OwnerFile = "SLEUTH-OWNER"

// maxOwnerFile bounds what is read of an owner file.
const maxOwnerFile = 64 << 10

// owner is the content of OwnerFile: "pid <n>\nsince <RFC 3339>\nargv
// <quoted args>\n".
type owner struct {
	PID   int
	Since string
	Argv  string
}

func (o owner) encode() []byte {
	var q []string
	for _, a := range os.Args {
		q = append(q, strconv.Quote(a))
	}
	return fmt.Appendf(nil, "pid %d\nsince %s\nargv %s\n", o.PID, o.Since, strings.Join(q, " "))
}

// parseOwner reads an owner file; ok is false when it is not one.
func parseOwner(b []byte) (o owner, ok bool) {
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return owner{}, false
			}
			o.PID = n
		case "since":
			o.Since = v
		case "argv":
			var args []string
			for rest := strings.TrimSpace(v); rest != ""; rest = strings.TrimSpace(rest) {
				a, err := strconv.QuotedPrefix(rest)
				if err != nil {
					return owner{}, false
				}
				s, _ := strconv.Unquote(a)
				args = append(args, s)
				rest = rest[len(a):]
			}
			o.Argv = strings.Join(args, " ")
		}
	}
	return o, o.PID > 0
}

// writeOwner records this process as the store's holder (best effort: a
// store on a read-only file system still opens).
func (db *DB) writeOwner() {
	p := filepath.Join(db.dir, OwnerFile)
	b := owner{PID: os.Getpid(), Since: time.Now().UTC().Format(time.RFC3339)}.encode()
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		db.opts.Logger.Debug("index: owner file not written", "err", err)
		return
	}
	if err := os.Rename(tmp, p); err != nil {
		db.opts.Logger.Debug("index: owner file not written", "err", err)
		os.Remove(tmp)
		return
	}
	db.ownerFile = p
}

// removeOwner deletes the owner file this process wrote, if it is still
// this process's.
func (db *DB) removeOwner() {
	if db.ownerFile == "" {
		return
	}
	if b, err := os.ReadFile(db.ownerFile); err == nil {
		if o, ok := parseOwner(b); ok && o.PID == os.Getpid() {
			os.Remove(db.ownerFile)
		}
	}
	db.ownerFile = ""
}

// isLockError reports whether err from pebble.Open is its directory lock
// being held: fcntl's EAGAIN or EACCES from another process, or Pebble's
// own message for a second open in this process.
// Failing to create the lock file (a *fs.PathError) is not one.
func isLockError(err error) bool {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return false
	}
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EACCES) ||
		strings.Contains(err.Error(), "lock held by current process")
}

// lockError explains a held lock on the store in dir: the holder's PID
// and command line from its owner file, unless that process is gone (a
// stale file of a crashed run is ignored).
func lockError(dir string, err error) error {
	b, rerr := readOwnerFile(filepath.Join(dir, OwnerFile))
	if rerr == nil {
		if o, ok := parseOwner(b); ok && processAlive(o.PID) {
			who := fmt.Sprintf("PID %d", o.PID)
			if o.PID == os.Getpid() {
				who += " (this process)"
			}
			if o.Argv != "" {
				who += fmt.Sprintf(": %s", o.Argv)
			}
			if o.Since != "" {
				who += ", since " + o.Since
			}
			return fmt.Errorf("index: %s is %w by %s; wait for it to finish or stop it", dir, ErrLocked, who)
		}
	}
	return fmt.Errorf("index: %s is %w by another process (which one is not recorded: %v)", dir, ErrLocked, err)
}

func readOwnerFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b := make([]byte, maxOwnerFile)
	n, err := f.Read(b)
	if n == 0 {
		return nil, err
	}
	return b[:n], nil
}
