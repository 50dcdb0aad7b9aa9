package api

import (
	"bufio"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/sleuth-forensics/sleuth/internal/address"
	"github.com/sleuth-forensics/sleuth/internal/alert"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/watch"
)

// The /v1/watchlists routes: the HTTP face of `sleuth watch`, with the
// same validations. Every change runs inside pipeline.Write, so it never
// races the ingest writer (or the alert stage, which runs inside it), and
// then calls Options.WatchlistsChanged so that the stage recompiles its
// watch.Set before the next connected block.

func (s *Server) handleWatchlists() {
	s.handle("GET", "/v1/watchlists", s.listWatchlists)
	s.handle("POST", "/v1/watchlists", s.createWatchlist)
	s.handle("GET", "/v1/watchlists/{id}", s.getWatchlist)
	s.handle("DELETE", "/v1/watchlists/{id}", s.deleteWatchlist)
	s.handle("GET", "/v1/watchlists/{id}/addresses", s.getWatchlistAddresses)
	s.handle("POST", "/v1/watchlists/{id}/items", s.addWatchlistItems)
	s.handle("DELETE", "/v1/watchlists/{id}/items", s.removeWatchlistItems)
}

// WatchRule is a rule as the API reads and writes it: watch.ParseRule's
// syntax, a direction (in, out, both; default both) and an alert level
// (low, medium, high, critical; default medium).
type WatchRule struct {
	Rule      string `json:"rule"`
	Direction string `json:"direction,omitempty"`
	Level     string `json:"level,omitempty"`
}

// Watchlist is a watchlist as the API shows it.
type Watchlist struct {
	ID       uint32      `json:"id"`
	Name     string      `json:"name"`
	Rules    []WatchRule `json:"rules"`
	Entities []uint64    `json:"entities"`
	// Addresses is how many addresses the list watches (not in the list
	// of all watchlists, which would have to count them all).
	Addresses *int `json:"address_count,omitempty"`
	// Changed is how many addresses a change added or removed.
	Changed *int `json:"addresses_changed,omitempty"`
}

// WatchItems is the body of POST /v1/watchlists (with Name) and of the
// items routes.
type WatchItems struct {
	Name      string      `json:"name,omitempty"`
	Addresses []string    `json:"addresses"`
	Entities  []uint64    `json:"entities"`
	Rules     []WatchRule `json:"rules"`
}

// InvalidItem names one rejected item of a request body in a 422.
type InvalidItem struct {
	Index int    `json:"index"`
	Value string `json:"value"`
	Error string `json:"error"`
}

// errInvalidItems is a 422 listing every rejected item of field.
type errInvalidItems struct {
	field string
	items []InvalidItem
}

func (e *errInvalidItems) Error() string {
	return fmt.Sprintf("%s: %d invalid (the first, at index %d: %s)", e.field, len(e.items), e.items[0].Index, e.items[0].Error)
}

// errConflict is a 409.
type errConflict struct{ err error }

func (e *errConflict) Error() string { return e.err.Error() }

func viewWatchlist(l *watch.List) Watchlist {
	v := Watchlist{ID: l.ID, Name: l.Name, Rules: []WatchRule{}, Entities: l.Entities}
	if v.Entities == nil {
		v.Entities = []uint64{}
	}
	for _, r := range l.EffectiveRules() {
		v.Rules = append(v.Rules, WatchRule{Rule: r.String(), Direction: r.Direction.String(), Level: r.Level.String()})
	}
	return v
}

// parsed is a WatchItems body checked and decoded.
type parsed struct {
	keys     []address.Key
	entities []uint64
	rules    []watch.Rule
}

// parseItems checks a body's items as `sleuth watch add` does: every
// address decodes for the store's network (all bad ones are named in one
// 422), every rule parses.
func (s *Server) parseItems(db *index.DB, in *WatchItems) (parsed, error) {
	var p parsed
	if len(in.Addresses) > s.opts.MaxBatch {
		return p, s.tooMany(len(in.Addresses))
	}
	for i, r := range in.Rules {
		d, err := watch.ParseDirection(r.Direction)
		if err != nil {
			return p, badInput(fmt.Sprintf("body.rules[%d].direction", i), err)
		}
		lv := alert.Medium
		if r.Level != "" {
			if lv, err = alert.ParseLevel(r.Level); err != nil {
				return p, badInput(fmt.Sprintf("body.rules[%d].level", i), err)
			}
		}
		rule, err := watch.ParseRule(r.Rule, d, lv)
		if err != nil {
			return p, badInput(fmt.Sprintf("body.rules[%d].rule", i), err)
		}
		p.rules = append(p.rules, rule)
	}
	p.entities = in.Entities
	var bad []InvalidItem
	p.keys = make([]address.Key, 0, len(in.Addresses))
	for i, a := range in.Addresses {
		k, err := address.Decode(a, db.Network())
		if err != nil {
			if len(bad) < 100 {
				bad = append(bad, InvalidItem{Index: i, Value: truncate(a, 100), Error: err.Error()})
			}
			continue
		}
		p.keys = append(p.keys, k)
	}
	if bad != nil {
		return p, &errInvalidItems{field: "body.addresses", items: bad}
	}
	return p, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

// idParam parses the {id} path parameter: a positive integer of bits
// bits naming a what.
func idParam(r *http.Request, what string, bits int) (uint64, error) {
	v := r.PathValue("id")
	id, err := strconv.ParseUint(v, 10, bits)
	if err != nil || id == 0 {
		return 0, badInputf("path:id", "want %s id (a positive integer), got %q", what, truncate(v, 100))
	}
	return id, nil
}

// watchlistID parses the {id} path parameter.
func watchlistID(r *http.Request) (uint32, error) {
	id, err := idParam(r, "a watchlist", 32)
	return uint32(id), err
}

// watchlist returns list id of st.
func watchlist(ctx context.Context, st watch.Store, id uint32) (watch.List, error) {
	ls, err := st.Lists(ctx)
	if err != nil {
		return watch.List{}, err
	}
	for _, l := range ls {
		if l.ID == id {
			return l, nil
		}
	}
	return watch.List{}, fmt.Errorf("watchlist %d: %w", id, watch.ErrNotFound)
}

// watchStore is the watchlist store: the shared one (Options.Watchlists)
// or the one in db.
func (s *Server) watchStore(db *index.DB) watch.Store {
	if s.opts.Watchlists != nil {
		return s.opts.Watchlists
	}
	return watch.NewDB(db)
}

// changeWatchlists runs fn on the watch store and then reports the change
// (Options.WatchlistsChanged). The embedded store changes inside the
// pipeline's writer guard; a shared one beside a read view, so that a
// slow or unreachable PostgreSQL never holds up ingest (its failures
// answer 503 with Retry-After).
func (s *Server) changeWatchlists(fn func(db *index.DB, st watch.Store) error) error {
	var err error
	if s.opts.Watchlists != nil {
		err = s.read(func(db *index.DB) error { return fn(db, s.opts.Watchlists) })
	} else {
		err = s.pl.Write(func(db *index.DB) error { return fn(db, watch.NewDB(db)) })
	}
	if err == nil && s.opts.WatchlistsChanged != nil {
		s.opts.WatchlistsChanged()
	}
	return err
}

func (s *Server) listWatchlists(w http.ResponseWriter, r *http.Request) error {
	out := Page[Watchlist]{Items: []Watchlist{}}
	err := s.read(func(db *index.DB) error {
		ls, err := s.watchStore(db).Lists(r.Context())
		for i := range ls {
			out.Items = append(out.Items, viewWatchlist(&ls[i]))
		}
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

func (s *Server) createWatchlist(w http.ResponseWriter, r *http.Request) error {
	var in WatchItems
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	if in.Name == "" || len(in.Name) > 200 || strings.Contains(in.Name, "/") {
		return badInputf("body.name", "want 1 to 200 bytes without '/' (alerts name their list as watch:NAME/…), got %q", truncate(in.Name, 100))
	}
	var out Watchlist
	err := s.changeWatchlists(func(db *index.DB, st watch.Store) error {
		p, err := s.parseItems(db, &in)
		if err != nil {
			return err
		}
		l := watch.List{Name: in.Name, Rules: p.rules, Entities: p.entities}
		if err := l.Validate(); err != nil {
			return badInput("body", err)
		}
		if _, err := st.ByName(r.Context(), l.Name); err == nil {
			return &errConflict{fmt.Errorf("watchlist %q already exists", l.Name)}
		} else if !errors.Is(err, watch.ErrNotFound) {
			return err
		}
		if _, err := st.Create(r.Context(), &l); err != nil {
			return err
		}
		n, err := st.AddAddresses(r.Context(), l.ID, p.keys)
		if err != nil {
			return err
		}
		out = viewWatchlist(&l)
		out.Addresses, out.Changed = &n, &n
		return nil
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/watchlists/"+strconv.FormatUint(uint64(out.ID), 10))
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusCreated)
	return writeJSON(w, out)
}

func (s *Server) getWatchlist(w http.ResponseWriter, r *http.Request) error {
	id, err := watchlistID(r)
	if err != nil {
		return err
	}
	var out Watchlist
	err = s.read(func(db *index.DB) error {
		st := s.watchStore(db)
		l, err := watchlist(r.Context(), st, id)
		if err != nil {
			return err
		}
		n, err := st.CountAddresses(r.Context(), id)
		out = viewWatchlist(&l)
		out.Addresses = &n
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

func (s *Server) deleteWatchlist(w http.ResponseWriter, r *http.Request) error {
	id, err := watchlistID(r)
	if err != nil {
		return err
	}
	if err := s.changeWatchlists(func(_ *index.DB, st watch.Store) error { return st.Remove(r.Context(), id) }); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Watched addresses page by their key: the cursor is the hex of the last
// key of the page.
const defaultWatchLimit = 100

func (s *Server) getWatchlistAddresses(w http.ResponseWriter, r *http.Request) error {
	id, err := watchlistID(r)
	if err != nil {
		return err
	}
	limit, err := limitParam(r, defaultWatchLimit)
	if err != nil {
		return err
	}
	var after []byte
	if c := r.URL.Query().Get("cursor"); c != "" {
		if after, err = hex.DecodeString(c); err != nil || len(after) == 0 || len(after) > 64 {
			return badInputf("query:cursor", "not a cursor this server gave out: %q", truncate(c, 100))
		}
	}
	out := Page[string]{Items: []string{}}
	err = s.read(func(db *index.DB) error {
		st := s.watchStore(db)
		if _, err := watchlist(r.Context(), st, id); err != nil {
			return err
		}
		keys, more, err := st.AddressPage(r.Context(), id, after, limit)
		if err != nil {
			return err
		}
		for _, k := range keys {
			a, ok := address.Encode(k, db.Network())
			if !ok {
				a = k.String()
			}
			out.Items = append(out.Items, a)
		}
		if more {
			out.NextCursor = hex.EncodeToString(keys[len(keys)-1].Bytes())
		}
		return nil
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

func (s *Server) addWatchlistItems(w http.ResponseWriter, r *http.Request) error {
	return s.editWatchlist(w, r, true)
}

func (s *Server) removeWatchlistItems(w http.ResponseWriter, r *http.Request) error {
	return s.editWatchlist(w, r, false)
}

// editWatchlist adds a body's items to a list (rules and entities it
// already has are not doubled) or removes them.
func (s *Server) editWatchlist(w http.ResponseWriter, r *http.Request, add bool) error {
	id, err := watchlistID(r)
	if err != nil {
		return err
	}
	var in WatchItems
	if err := decodeObject(r, &in); err != nil {
		return err
	}
	if in.Name != "" {
		return badInputf("body.name", "a watchlist keeps its name: items only")
	}
	var out Watchlist
	err = s.changeWatchlists(func(db *index.DB, st watch.Store) error {
		p, err := s.parseItems(db, &in)
		if err != nil {
			return err
		}
		// Rules and entities change under the store's lock (watch.Edit),
		// so two servers editing one list both land.
		l, err := watch.Edit(r.Context(), st, id, func(l *watch.List) (bool, error) {
			rules, entities := slices.Clone(l.Rules), slices.Clone(l.Entities)
			for _, x := range p.rules {
				if i := slices.Index(rules, x); add && i < 0 {
					rules = append(rules, x)
				} else if !add && i >= 0 {
					rules = slices.Delete(rules, i, i+1)
				}
			}
			for _, x := range p.entities {
				if i := slices.Index(entities, x); add && i < 0 {
					entities = append(entities, x)
				} else if !add && i >= 0 {
					entities = slices.Delete(entities, i, i+1)
				}
			}
			if len(rules) == len(l.Rules) && len(entities) == len(l.Entities) {
				return false, nil
			}
			l.Rules, l.Entities = rules, entities
			if err := l.Validate(); err != nil {
				return false, badInput("body", err)
			}
			return true, nil
		})
		if err != nil {
			return err
		}
		var n int
		if add {
			n, err = st.AddAddresses(r.Context(), id, p.keys)
		} else {
			n, err = st.RemoveAddresses(r.Context(), id, p.keys)
		}
		if err != nil {
			return err
		}
		count, err := st.CountAddresses(r.Context(), id)
		out = viewWatchlist(&l)
		out.Addresses, out.Changed = &count, &n
		return err
	})
	if err != nil {
		return err
	}
	return writeJSON(w, out)
}

// decodeObject is decodeBody for a JSON object body.
func decodeObject(r *http.Request, v any) error {
	br := bufio.NewReader(r.Body)
	if _, err := br.Peek(1); errors.Is(err, io.EOF) {
		return badInputf("body", "empty body: want a JSON object")
	}
	r.Body = io.NopCloser(br)
	return decodeBody(r, v)
}
