package ui

import (
	"io/fs"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		status       int
		typ, body    string
	}{
		{"GET", "/", 200, "text/html", `<script type="module" src="/ui/app.js">`},
		{"HEAD", "/", 200, "text/html", ""},
		{"GET", "/ui/app.js", 200, "javascript", "import { api"},
		{"GET", "/ui/style.css", 200, "text/css", ":root"},
		{"GET", "/ui/graph.js", 200, "javascript", "drawGraph"},
		{"GET", "/ui/", 404, "", ""},
		{"GET", "/ui/index.html", 404, "", ""},
		{"GET", "/ui/nope.js", 404, "", ""},
		{"GET", "/ui/../ui.go", 307, "", ""}, // cleaned by ServeMux to /ui.go, which is 404
		{"POST", "/", 405, "", ""},
		{"GET", "/elsewhere", 404, "", ""},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d", rec.Code, tc.status)
			}
			if tc.status != 200 {
				return
			}
			if ct := rec.Header().Get("Content-Type"); !strings.Contains(ct, tc.typ) {
				t.Errorf("Content-Type %q, want %s", ct, tc.typ)
			}
			if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || strings.Contains(csp, "unsafe") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Errorf("body lacks %q", tc.body)
			}
		})
	}
}

// TestAssetsSelfContained holds the assets to U2 and U3: no script, style
// or request from another origin, and no HTML built from strings.
func TestAssetsSelfContained(t *testing.T) {
	err := fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(Assets(), path)
		if err != nil {
			return err
		}
		src := string(b)
		for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "http://", "https://"} {
			if strings.Contains(src, bad) && !(bad == "http://" && strings.Contains(src, `"http://www.w3.org/2000/svg"`) && strings.Count(src, "http://") == strings.Count(src, "http://www.w3.org/2000/svg")) {
				t.Errorf("%s uses %q", path, bad)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzHandler: any method and path gets a 2xx, 3xx or 4xx, never a 5xx
// or a panic.
func FuzzHandler(f *testing.F) {
	for _, s := range []string{"/", "/ui/app.js", "/ui/../../etc/passwd", "/ui/%2e%2e/ui.go", "//", "/ui/\x00"} {
		f.Add("GET", s)
	}
	f.Add("DELETE", "/ui/app.js")
	h := Handler()
	f.Fuzz(func(t *testing.T, method, path string) {
		req, err := http.NewRequest(method, "http://x"+path, nil)
		if err != nil || req.URL == nil {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %q: %d", method, path, rec.Code)
		}
	})
}
