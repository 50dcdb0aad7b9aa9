package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
)

// TestStoreMustExist: only ingest (or --create) makes a store; other
// commands given a mistyped --db fail naming it and write nothing there.
func TestStoreMustExist(t *testing.T) {
	root := t.TempDir()
	missing := filepath.Join(root, "typo")
	empty := filepath.Join(root, "empty")
	if err := os.Mkdir(empty, 0o755); err != nil {
		t.Fatal(err)
	}
	tagpack := filepath.Join(root, "pack.yaml")
	if err := os.WriteFile(tagpack, []byte("title: t\ncreator: c\nlabel: l\nsource: s\ncurrency: BTC\ncategory: exchange\ntags:\n  - address: 1ALtNXceFBXdu1wYGgmoYfLJPGo9XkJFqw\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"label add", []string{"label", "add", "1ALtNXceFBXdu1wYGgmoYfLJPGo9XkJFqw", "--category", "exchange", "--label", "x", "--source", "y"}, 1, "--create starts an empty one"},
		{"labels import", []string{"labels", "import", tagpack}, 1, "--create starts an empty one"},
		{"cluster", []string{"cluster"}, 1, "--create starts an empty one"},
		{"tx", []string{"tx", strings.Repeat("0", 64)}, 1, "run 'sleuth ingest --blocks DIR' to create one"},
		{"trace", []string{"trace", "--from", strings.Repeat("0", 64)}, 1, "run 'sleuth ingest --blocks DIR' to create one"},
		{"read with --create", []string{"stats", "--create"}, 2, "--create: this command only reads the index"},
	} {
		for _, dir := range []string{missing, empty} {
			code, _, errOut := runCLI(t, append(c.args, "--db", dir)...)
			if code != c.code || !strings.Contains(errOut, c.want) || (c.code == 1 && !strings.Contains(errOut, "no index at "+dir)) {
				t.Errorf("%s --db %s: exit %d %q, want %d naming the directory and %q", c.name, dir, code, errOut, c.code, c.want)
			}
		}
		if _, err := os.Stat(missing); err == nil {
			t.Fatalf("%s created %s", c.name, missing)
		}
		if ls, _ := os.ReadDir(empty); len(ls) != 0 {
			t.Fatalf("%s wrote into %s: %v", c.name, empty, ls)
		}
	}
	// --create makes the store on purpose.
	created := filepath.Join(root, "new")
	if code, _, errOut := runCLI(t, "labels", "import", "--db", created, "--create", tagpack); code != 0 {
		t.Fatalf("labels import --create: exit %d: %s", code, errOut)
	}
	if code, out, errOut := runCLI(t, "stats", "--db", created); code != 0 || !strings.Contains(out, "network      mainnet") {
		t.Errorf("stats of the created store: exit %d %s %s", code, out, errOut)
	}
}

// TestStoreLocked: a command refused the store names the process holding
// it, not "resource temporarily unavailable".
func TestStoreLocked(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "db")
	db, err := index.Open(dir, &index.Options{Network: btc.Mainnet})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := fmt.Sprintf("is in use by PID %d (this process): %s", os.Getpid(), os.Args[0])
	for _, args := range [][]string{
		{"label", "add", "1ALtNXceFBXdu1wYGgmoYfLJPGo9XkJFqw", "--category", "exchange", "--label", "x", "--source", "y"},
		{"stats"},
	} {
		code, _, errOut := runCLI(t, append(args, "--db", dir)...)
		if code != 1 || !strings.Contains(errOut, want) || !strings.Contains(errOut, dir) {
			t.Errorf("%s: exit %d %q, want 1 and %q", args[0], code, errOut, want)
		}
	}
}
