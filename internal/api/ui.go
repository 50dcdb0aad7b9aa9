package api

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/query"
	"github.com/sleuth-forensics/sleuth/internal/ui"
)

// mountUI serves the investigation UI (internal/ui) at / and /ui/. The
// page and its assets are open like the API description; everything they
// show comes from the API routes, which keep their keys and scopes.
func (s *Server) mountUI() {
	h := ui.Handler()
	s.mux.Handle("GET /{$}", h)
	s.mux.Handle("GET /ui/", h)
}

// getSearch is GET /v1/search?q=: labelled addresses whose label,
// category or source contains q.
func (s *Server) getSearch(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	limit := 50
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return badInputf("query:limit", "want 1 to 1000, got %q", v)
		}
		limit = n
	}
	var res *query.SearchResult
	err := s.read(func(db *index.DB) (err error) {
		res, err = query.Search(r.Context(), db, q.Get("q"), limit)
		return err
	})
	if errors.Is(err, query.ErrBadSearch) {
		return badInputf("query:q", "%v", err)
	}
	if err != nil {
		return err
	}
	return writeJSON(w, res)
}
