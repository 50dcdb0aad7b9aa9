package query

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/sleuth-forensics/sleuth/internal/btc"
	"github.com/sleuth-forensics/sleuth/internal/index"
	"github.com/sleuth-forensics/sleuth/internal/label"
)

// SearchHit is a labelled address whose label matches a search.
type SearchHit struct {
	Label    string `json:"label"`
	Category string `json:"category"`
	Source   string `json:"source"`
	Address  string `json:"address"`
	Entity   uint64 `json:"entity"`
}

// SearchResult is what Search found.
type SearchResult struct {
	Query string      `json:"query"`
	Items []SearchHit `json:"items"`
	// More says the limit cut the hits short.
	More bool `json:"more"`
}

// ErrBadSearch is a search text Search refuses (empty, too long, not UTF-8).
var ErrBadSearch = errors.New("bad search text")

// MaxSearch bounds the length of a search text.
const MaxSearch = 200

// Search returns up to limit labelled addresses whose label, category or
// source contains q (case-insensitive), in address-key order. It reads
// every labelled address (label.EachLabelled): its cost grows with the
// labelled addresses, not the chain.
func Search(ctx context.Context, db *index.DB, q string, limit int) (*SearchResult, error) {
	q = strings.TrimSpace(q)
	switch {
	case q == "":
		return nil, fmt.Errorf("%w: empty", ErrBadSearch)
	case len(q) > MaxSearch:
		return nil, fmt.Errorf("%w: %d bytes, at most %d", ErrBadSearch, len(q), MaxSearch)
	case !utf8.ValidString(q):
		return nil, fmt.Errorf("%w: not UTF-8", ErrBadSearch)
	}
	if limit <= 0 {
		limit = 50
	}
	needle := strings.ToLower(q)
	res := &SearchResult{Query: q, Items: []SearchHit{}}
	stop := errors.New("enough")
	err := label.EachLabelled(ctx, db, func(addr btc.AddrID, entity uint64, views []label.View) error {
		for i := range views {
			v := &views[i]
			if !contains(v.Label, needle) && !contains(v.Category, needle) && !contains(v.List, needle) && !contains(v.Source, needle) {
				continue
			}
			if len(res.Items) == limit {
				res.More = true
				return stop
			}
			s, _, err := db.AddrString(addr)
			if err != nil {
				return err
			}
			res.Items = append(res.Items, SearchHit{Label: v.Label, Category: v.Category, Source: v.Source, Address: s, Entity: entity})
			break
		}
		return nil
	})
	if err != nil && !errors.Is(err, stop) {
		return nil, err
	}
	return res, nil
}

func contains(s, lowerNeedle string) bool {
	return len(s) >= len(lowerNeedle) && strings.Contains(strings.ToLower(s), lowerNeedle)
}
