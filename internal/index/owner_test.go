package index

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
)

// TestOpenMustExist: an open that may not create a store (MustExist, or
// ReadOnly) fails with ErrNoIndex naming the directory, and writes
// nothing there, not even Pebble's lock file.
func TestOpenMustExist(t *testing.T) {
	root := t.TempDir()
	store := filepath.Join(root, "store")
	openTest(t, store).Close()
	empty := filepath.Join(root, "empty")
	other := filepath.Join(root, "other")
	for _, d := range []string{empty, other} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(other, "notes.txt"), []byte("not a store"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dir  string
		opts Options
		ok   bool
	}{
		{"missing, write", filepath.Join(root, "typo"), Options{MustExist: true}, false},
		{"missing, read", filepath.Join(root, "typo"), Options{ReadOnly: true}, false},
		{"empty, write", empty, Options{MustExist: true}, false},
		{"empty, read", empty, Options{ReadOnly: true}, false},
		{"other files, write", other, Options{MustExist: true}, false},
		{"store, write", store, Options{MustExist: true}, true},
		{"store, read", store, Options{ReadOnly: true}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			before, _ := os.ReadDir(c.dir)
			db, err := Open(c.dir, &c.opts)
			if c.ok {
				if err != nil {
					t.Fatal(err)
				}
				db.Close()
				return
			}
			if err == nil {
				db.Close()
				t.Fatal("opened a directory without a store")
			}
			if !errors.Is(err, ErrNoIndex) || !strings.Contains(err.Error(), c.dir) {
				t.Errorf("error %q: want ErrNoIndex naming %s", err, c.dir)
			}
			after, _ := os.ReadDir(c.dir)
			if len(after) != len(before) {
				t.Errorf("directory had %d entries, now %d: %v", len(before), len(after), after)
			}
			if _, serr := StoredNetwork(c.dir); serr == nil {
				t.Errorf("StoredNetwork found a network")
			}
			if after, _ := os.ReadDir(c.dir); len(after) != len(before) {
				t.Errorf("StoredNetwork wrote into %s: %v", c.dir, after)
			}
		})
	}
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Skipf("cannot run true: %v", err)
	}
	return cmd.ProcessState.Pid()
}

// TestOpenLocked: a second open of a held store says who holds it, from
// the owner file; an owner file of a dead process is ignored.
func TestOpenLocked(t *testing.T) {
	dir := t.TempDir()
	owner := filepath.Join(dir, OwnerFile)
	db := openTest(t, dir)
	me := fmt.Sprintf("PID %d (this process): %s", os.Getpid(), os.Args[0])
	for _, opts := range []Options{{}, {ReadOnly: true}, {MustExist: true}} {
		_, err := Open(dir, &opts)
		if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), me) || !strings.Contains(err.Error(), dir) {
			t.Errorf("%+v: error %v, want ErrLocked naming %s and %q", opts, err, dir, me)
		}
	}
	// A stale owner file (its process is gone) names nobody.
	dead := deadPID(t)
	if err := os.WriteFile(owner, []byte(fmt.Sprintf("pid %d\nsince 2026-01-01T00:00:00Z\nargv \"sleuth\" \"ingest\"\n", dead)), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := Open(dir, &Options{})
	if !errors.Is(err, ErrLocked) || strings.Contains(err.Error(), strconv.Itoa(dead)) || !strings.Contains(err.Error(), "not recorded") {
		t.Errorf("stale owner: error %v, want ErrLocked not naming PID %d", err, dead)
	}
	db.Close()
	// Reopening over the stale file takes it over; closing removes it.
	db, err = Open(dir, &Options{})
	if err != nil {
		t.Fatalf("open over a stale owner file: %v", err)
	}
	b, err := os.ReadFile(owner)
	if o, ok := parseOwner(b); err != nil || !ok || o.PID != os.Getpid() {
		t.Errorf("owner file %q (%v), want this process", b, err)
	}
	db.Close()
	if _, err := os.Stat(owner); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("owner file left after close: %v", err)
	}
}

// TestOpenLockedByProcess: a store held by another process (this test
// binary, run as TestHelperHoldIndex) is refused naming its PID and
// command line.
func TestOpenLockedByProcess(t *testing.T) {
	dir := t.TempDir()
	openTest(t, dir).Close()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperHoldIndex$")
	cmd.Env = append(os.Environ(), "SLEUTH_HOLD_INDEX="+dir)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		cmd.Wait()
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "holding" {
		t.Fatalf("helper said %q, %v", line, err)
	}
	_, err = Open(dir, &Options{Network: btc.Mainnet})
	want := fmt.Sprintf("PID %d: %s -test.run=^TestHelperHoldIndex$", cmd.Process.Pid, os.Args[0])
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "resource temporarily unavailable") {
		t.Errorf("error %v, want ErrLocked naming %q", err, want)
	}
}

// TestHelperHoldIndex holds the store in $SLEUTH_HOLD_INDEX until its
// stdin closes (run by TestOpenLockedByProcess).
func TestHelperHoldIndex(t *testing.T) {
	dir := os.Getenv("SLEUTH_HOLD_INDEX")
	if dir == "" {
		t.Skip("helper process of TestOpenLockedByProcess")
	}
	db, err := Open(dir, &Options{MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fmt.Println("holding")
	bufio.NewReader(os.Stdin).ReadString('\n')
}

func TestParseOwner(t *testing.T) {
	for i, c := range []struct {
		in   string
		ok   bool
		argv string
	}{
		{"pid 42\nsince 2026-12-06T18:00:00Z\nargv \"sleuth\" \"label\" \"add\" \"a b\"\n", true, "sleuth label add a b"},
		{"pid 42\n", true, ""},
		{"pid -1\n", false, ""},
		{"pid x\n", false, ""},
		{"argv \"sleuth\"\n", false, ""},
		{"pid 7\nargv \"unterminated\n", false, ""},
		{"", false, ""},
	} {
		o, ok := parseOwner([]byte(c.in))
		if ok != c.ok || ok && o.Argv != c.argv {
			t.Errorf("#%d: %+v %v, want ok %v argv %q", i, o, ok, c.ok, c.argv)
		}
	}
	// What writeOwner writes parses back.
	o, ok := parseOwner(owner{PID: 9, Since: "x"}.encode())
	if !ok || o.PID != 9 || o.Argv != strings.Join(os.Args, " ") || !slices.Equal(strings.Fields(o.Argv)[:1], os.Args[:1]) {
		t.Errorf("round trip: %+v %v", o, ok)
	}
}

// FuzzParseOwner: any owner file content parses or is refused, without
// panicking, and a parsed one names a positive PID.
func FuzzParseOwner(f *testing.F) {
	f.Add([]byte("pid 42\nsince 2026-12-06T18:00:00Z\nargv \"sleuth\" \"ingest\"\n"))
	f.Add([]byte("pid 1\nargv \"a\\\"b\" \"\\xff\"\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o, ok := parseOwner(b); ok && o.PID <= 0 {
			t.Fatalf("parsed PID %d", o.PID)
		}
	})
}
