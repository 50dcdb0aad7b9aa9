package tagpack

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to Parse and ParseActorPack. Neither may
// panic; every error must be located and wrap a sentinel; a pack that
// parses must survive Write and parse back to the same pack.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	if real, err := filepath.Glob(filepath.Join(dataDir, "packs", "*.yaml")); err == nil {
		for _, p := range real {
			if st, err := os.Stat(p); err == nil && st.Size() <= 2048 {
				seeds = append(seeds, p)
			}
		}
	}
	for _, s := range seeds {
		b, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("title: t\ncreator: c\nsource: s\nlabel: l\ncurrency: BTC\ntags:\n- address: 115p7UMMngoj1pMvkpHijcRdfJNXj6LrLn\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > 64<<10 {
			return
		}
		p, err := Parse("fuzz.yaml", bytes.NewReader(data), nil)
		checkErr(t, err, p != nil)
		if p != nil {
			var buf bytes.Buffer
			if err := Write(&buf, p); err != nil {
				t.Fatalf("Write of a parsed pack: %v", err)
			}
			q, err := Parse("written.yaml", bytes.NewReader(buf.Bytes()), nil)
			if err != nil {
				t.Fatalf("Parse(Write(p)): %v\ninput:\n%s\nwritten:\n%s", err, data, buf.Bytes())
			}
			if d := samePack(p, q); d != "" {
				t.Fatalf("Parse(Write(p)) != p: %s\ninput:\n%s\nwritten:\n%s", d, data, buf.Bytes())
			}
		}
		ap, err := ParseActorPack("fuzz.yaml", bytes.NewReader(data), nil)
		checkErr(t, err, false)
		if (ap == nil) == (err == nil) {
			t.Fatalf("ParseActorPack: pack %v with error %v", ap != nil, err)
		}
	})
}

// checkErr checks the shape of an error from Parse or ParseActorPack.
func checkErr(t *testing.T, err error, partial bool) {
	t.Helper()
	if err == nil {
		return
	}
	errs := allErrors(err)
	if len(errs) == 0 {
		t.Fatalf("error %T is neither *Error nor *ErrorList: %v", err, err)
	}
	for _, e := range errs {
		if e.Path != "fuzz.yaml" || e.Line < 0 {
			t.Fatalf("error not located: %q", e)
		}
		n := 0
		for _, s := range []error{ErrSyntax, ErrSchema, ErrTaxonomy, ErrAddress} {
			if errors.Is(e, s) {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("error %q wraps %d sentinels, want 1", e, n)
		}
		if partial && !errors.Is(e, ErrAddress) {
			t.Fatalf("pack returned with a non-address error %q", e)
		}
	}
}
