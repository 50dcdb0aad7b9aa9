package ui

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed assets
var assets embed.FS

// csp allows the page to load and call only its own origin (U3), and
// images from data: URLs (exported PNGs).
const csp = "default-src 'self'; img-src 'self' data: blob:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Assets returns the embedded files (index.html, app.js …).
func Assets() fs.FS {
	sub, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	return sub
}

// known lists the asset files: the handler serves these names and no
// other path (a path the embedded file system would refuse, such as one
// with invalid UTF-8 or dot segments, is a 404, not the file server's 500).
var known = func() map[string]bool {
	m := map[string]bool{}
	_ = fs.WalkDir(Assets(), ".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && path != "index.html" {
			m[path] = true
		}
		return err
	})
	return m
}()

// Handler serves the page at / and the assets at /ui/. It answers only
// GET and HEAD; unknown asset paths are 404.
func Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		headers(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, Assets(), "index.html")
	})
	mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/ui/")
		if !known[name] {
			http.NotFound(w, r)
			return
		}
		headers(w)
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, Assets(), name)
	})
	return mux
}

func headers(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
}
