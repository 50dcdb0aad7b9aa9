// Package pdftest reads PDF files back as text for tests, with poppler's
// pdftotext (Debian's poppler-utils, installed by scripts/chromium.sh).
package pdftest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Text is pdftotext -layout of b; the test skips, naming the script that
// installs it, when pdftotext is absent, and fails when poppler reports
// a syntax error in b.
func Text(t testing.TB, b []byte) string {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("no pdftotext: run scripts/chromium.sh install (Debian's poppler-utils)")
	}
	p := filepath.Join(t.TempDir(), "doc.pdf")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", p, "-").CombinedOutput()
	if err != nil || bytes.Contains(out, []byte("Syntax Error")) {
		t.Fatalf("pdftotext: %v\n%.2000s", err, out)
	}
	return string(out)
}

// Squeeze drops all white space from s: a txid or an amount that the
// layout wrapped over two lines of a table cell reads whole again.
func Squeeze(s string) string { return strings.Join(strings.Fields(s), "") }
